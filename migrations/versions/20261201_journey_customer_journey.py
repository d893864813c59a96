"""customer journey: 6-week review and withdrawal fields, absences, unit history, fuzzy search

Revision ID: journey_0001
Revises: 0006
Create Date: 2026-12-01 08:00:00+00:00

Connections gain the 6-week review (outcome, reason, when) and the unit's return after a
withdrawal; customers gain communication needs; hospital stays / holidays and the history of
which unit served which connection get tables of their own.

Search: pg_trgm trigram indexes on the name and on the identifiers (case reference, postcode
without spaces, phone digits). The extension is created only where the server ships it (Debian's
PostgreSQL does; the embedded pgserver wheel does not): there search falls back to plain
substring matching (arc/registry/search.py asks which). The index expressions are copied here
by hand and must stay equal to NAME_SQL / IDS_SQL in arc/registry/search.py.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "journey_0001"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NAME_SQL = "lower(given_name || ' ' || family_name || ' ' || coalesce(preferred_name, ''))"
IDS_SQL = (
    "lower(coalesce(case_ref, '') || ' ' || replace(postcode, ' ', '') || ' ' || "
    "regexp_replace(coalesce(phone_primary, ''), '[^0-9]', '', 'g') || ' ' || "
    "regexp_replace(coalesce(phone_secondary, ''), '[^0-9]', '', 'g'))"
)


def _has_trgm() -> bool:
    bind = op.get_bind()
    return bool(
        bind.execute(sa.text("SELECT count(*) FROM pg_available_extensions WHERE name = 'pg_trgm'")).scalar()
    )


def upgrade() -> None:
    op.create_table(
        "customer_absences",
        sa.Column("customer_id", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=True),
        sa.Column("note", sa.String(length=200), nullable=True),
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("kind IN ('hospital', 'holiday')", name=op.f("ck_customer_absences_kind_known")),
        sa.CheckConstraint(
            "ends_on IS NULL OR ends_on >= starts_on", name=op.f("ck_customer_absences_ends_after_start")
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_customer_absences_customer_id_customers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_customer_absences")),
    )
    op.create_index(op.f("ix_customer_absences_customer_id"), "customer_absences", ["customer_id"])
    op.create_table(
        "unit_assignments",
        sa.Column("unit_id", sa.BigInteger(), nullable=False),
        sa.Column("connection_id", sa.BigInteger(), nullable=False),
        sa.Column("assigned_on", sa.Date(), nullable=False),
        sa.Column("ended_on", sa.Date(), nullable=True),
        sa.Column("end_reason", sa.String(length=32), nullable=True),
        sa.Column("returned_on", sa.Date(), nullable=True),
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint(
            "ended_on IS NULL OR ended_on >= assigned_on", name=op.f("ck_unit_assignments_ends_after_start")
        ),
        sa.ForeignKeyConstraint(
            ["connection_id"],
            ["connections.id"],
            name=op.f("fk_unit_assignments_connection_id_connections"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["unit_id"], ["units.id"], name=op.f("fk_unit_assignments_unit_id_units"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_unit_assignments")),
    )
    op.create_index(op.f("ix_unit_assignments_connection_id"), "unit_assignments", ["connection_id"])
    op.create_index("ix_unit_assignments_unit_assigned", "unit_assignments", ["unit_id", "assigned_on"])
    # the units already serving a connection start their history on the install date
    op.execute(
        "INSERT INTO unit_assignments (unit_id, connection_id, assigned_on, ended_on, end_reason) "
        "SELECT unit_id, id, install_date, withdrawn_on, CASE WHEN withdrawn_on IS NULL THEN NULL "
        "ELSE 'withdrawn' END FROM connections WHERE unit_id IS NOT NULL"
    )
    op.add_column("connections", sa.Column("review_outcome", sa.String(length=16), nullable=True))
    op.add_column("connections", sa.Column("review_reason", sa.String(length=200), nullable=True))
    op.add_column("connections", sa.Column("review_recorded_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("connections", sa.Column("unit_returned_on", sa.Date(), nullable=True))
    op.create_check_constraint(
        "review_outcome_known",
        "connections",
        "review_outcome IS NULL OR review_outcome IN ('retained', 'not_retained')",
    )
    op.create_check_constraint(
        "review_has_time", "connections", "(review_outcome IS NULL) = (review_recorded_at IS NULL)"
    )
    op.add_column("customers", sa.Column("communication_needs", sa.String(length=200), nullable=True))
    if _has_trgm():
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        op.execute(f"CREATE INDEX trgm_customers_name ON customers USING gin (({NAME_SQL}) gin_trgm_ops)")
        op.execute(f"CREATE INDEX trgm_customers_ids ON customers USING gin (({IDS_SQL}) gin_trgm_ops)")


def downgrade() -> None:
    op.execute("DROP INDEX IF EXISTS trgm_customers_ids")
    op.execute("DROP INDEX IF EXISTS trgm_customers_name")
    op.drop_column("customers", "communication_needs")
    op.drop_constraint("review_has_time", "connections", type_="check")
    op.drop_constraint("review_outcome_known", "connections", type_="check")
    op.drop_column("connections", "unit_returned_on")
    op.drop_column("connections", "review_recorded_at")
    op.drop_column("connections", "review_reason")
    op.drop_column("connections", "review_outcome")
    op.drop_index("ix_unit_assignments_unit_assigned", table_name="unit_assignments")
    op.drop_index(op.f("ix_unit_assignments_connection_id"), table_name="unit_assignments")
    op.drop_table("unit_assignments")
    op.drop_index(op.f("ix_customer_absences_customer_id"), table_name="customer_absences")
    op.drop_table("customer_absences")

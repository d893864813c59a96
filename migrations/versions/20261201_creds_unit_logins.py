"""unit_logins: when a unit's broker + SIP login was given and taken (never the secret)

The admin page lists which units have a login and since when. A table of its own, so giving or
taking a login never locks the ``units`` row the ingest updates. Units given one before this
revision (``lifeline units provision``) are dated by their SIP HA1 row.

Revision ID: creds_0001
Revises: overload_0001
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "creds_0001"
down_revision: str | Sequence[str] | None = "overload_0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "unit_logins",
        sa.Column("unit_id", sa.BigInteger(), nullable=False),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["unit_id"], ["units.id"], name=op.f("fk_unit_logins_unit_id_units"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_unit_logins")),
        sa.UniqueConstraint("unit_id", name=op.f("uq_unit_logins_unit_id")),
    )
    op.execute(
        "INSERT INTO unit_logins (unit_id, issued_at) SELECT unit_id, updated_at FROM unit_sip_credentials"
    )


def downgrade() -> None:
    op.drop_table("unit_logins")

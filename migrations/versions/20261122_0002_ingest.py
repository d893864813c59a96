"""unit ingest: inbox, rejected inbox, unit supervision columns

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 19:10:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "ingest_inbox",
        sa.Column("cid", sa.String(length=32), nullable=False),
        sa.Column("ref", sa.String(length=16), nullable=False),
        sa.Column("mty", sa.String(length=2), nullable=False),
        sa.Column("content_key", sa.String(length=64), server_default="", nullable=False),
        sa.Column("generation", sa.SmallInteger(), server_default="0", nullable=False),
        sa.Column("fmt", sa.String(length=4), nullable=False),
        sa.Column("topic", sa.String(length=200), nullable=False),
        sa.Column("message", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("handled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("action", sa.String(length=40), nullable=True),
        sa.Column("alarm_id", sa.BigInteger(), nullable=True),
        sa.Column("snu", sa.SmallInteger(), nullable=True),
        sa.Column("final_answer_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.ForeignKeyConstraint(
            ["alarm_id"], ["alarms.id"], name=op.f("fk_ingest_inbox_alarm_id_alarms"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ingest_inbox")),
        sa.UniqueConstraint(
            "cid",
            "ref",
            "mty",
            "content_key",
            "generation",
            name=op.f("uq_ingest_inbox_cid_ref_mty_content_key_generation"),
        ),
    )
    op.create_index(
        "ix_ingest_inbox_alarm_open_sessions",
        "ingest_inbox",
        ["alarm_id"],
        unique=False,
        postgresql_where="final_answer_at IS NULL",
    )
    op.create_table(
        "ingest_rejected",
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("topic", sa.String(length=400), nullable=False),
        sa.Column("cid", sa.String(length=32), nullable=True),
        sa.Column("ref", sa.String(length=16), nullable=True),
        sa.Column("fmt", sa.String(length=4), nullable=False),
        sa.Column("snu", sa.SmallInteger(), nullable=False),
        sa.Column("reason", sa.String(length=32), nullable=False),
        sa.Column("detail", sa.String(length=200), nullable=False),
        sa.Column("payload", sa.LargeBinary(), nullable=False),
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ingest_rejected")),
    )
    op.create_index("ix_ingest_rejected_received_at", "ingest_rejected", ["received_at"], unique=False)
    op.add_column("units", sa.Column("last_heartbeat_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("units", sa.Column("last_test_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("units", sa.Column("accepts_hbi", sa.Boolean(), server_default="false", nullable=False))


def downgrade() -> None:
    op.drop_column("units", "accepts_hbi")
    op.drop_column("units", "last_test_at")
    op.drop_column("units", "last_heartbeat_at")
    op.drop_index("ix_ingest_rejected_received_at", table_name="ingest_rejected")
    op.drop_table("ingest_rejected")
    op.drop_index(
        "ix_ingest_inbox_alarm_open_sessions",
        table_name="ingest_inbox",
        postgresql_where="final_answer_at IS NULL",
    )
    op.drop_table("ingest_inbox")

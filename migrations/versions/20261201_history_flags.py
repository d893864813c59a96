"""Read side: flags, flag reviews, the evaluation cursor and the flag thresholds (issue 10).

Revision ID: history_0001
Revises: house_0001
Create Date: 2026-12-01 08:00:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "history_0001"
down_revision: str | Sequence[str] | None = "house_0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "history_flags",
        sa.Column("customer_id", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("severity", sa.String(length=8), nullable=False),
        sa.Column("status", sa.String(length=16), server_default="open", nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("window_start", TZ, nullable=False),
        sa.Column("window_end", TZ, nullable=False),
        sa.Column("alarm_ids", postgresql.JSONB(astext_type=sa.Text()), server_default="[]", nullable=False),
        sa.Column("numbers", postgresql.JSONB(astext_type=sa.Text()), server_default="{}", nullable=False),
        sa.Column("raised_at", TZ, nullable=False),
        sa.Column("updated_at", TZ, nullable=False),
        sa.Column("cleared_at", TZ, nullable=True),
        sa.Column("resolved_at", TZ, nullable=True),
        sa.Column("resolved_by_id", sa.BigInteger(), nullable=True),
        sa.Column("pattern_ended_at", TZ, nullable=True),
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.CheckConstraint(
            "severity IN ('high', 'medium', 'low', 'info')", name=op.f("ck_history_flags_severity_known")
        ),
        sa.CheckConstraint(
            "status IN ('open', 'cleared', 'resolved')", name=op.f("ck_history_flags_status_known")
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_history_flags_customer_id_customers"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["resolved_by_id"], ["users.id"], name=op.f("fk_history_flags_resolved_by_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_history_flags")),
    )
    op.create_index(op.f("ix_history_flags_customer_id"), "history_flags", ["customer_id"])
    op.create_index("ix_history_flags_status_raised", "history_flags", ["status", "raised_at"])
    op.create_index(
        "uq_history_flags_open_kind",
        "history_flags",
        ["customer_id", "kind"],
        unique=True,
        postgresql_where="status = 'open'",
    )
    op.create_table(
        "history_flag_reviews",
        sa.Column("flag_id", sa.BigInteger(), nullable=False),
        sa.Column("reviewer_id", sa.BigInteger(), nullable=False),
        sa.Column("at", TZ, server_default=sa.text("now()"), nullable=False),
        sa.Column("status", sa.String(length=24), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.CheckConstraint(
            "action IS NULL OR action IN ('falls_referral', 'reablement', 'equipment_change', "
            "'review_visit', 'other')",
            name=op.f("ck_history_flag_reviews_action_known"),
        ),
        sa.CheckConstraint(
            "status IN ('seen', 'action_taken', 'no_action_needed')",
            name=op.f("ck_history_flag_reviews_status_known"),
        ),
        sa.ForeignKeyConstraint(
            ["flag_id"],
            ["history_flags.id"],
            name=op.f("fk_history_flag_reviews_flag_id_history_flags"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["reviewer_id"], ["users.id"], name=op.f("fk_history_flag_reviews_reviewer_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_history_flag_reviews")),
    )
    op.create_index(op.f("ix_history_flag_reviews_flag_id"), "history_flag_reviews", ["flag_id"])
    op.create_table(
        "history_cursor",
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("last_event_id", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("swept_at", TZ, nullable=True),
        sa.Column("full_pass_due", sa.Boolean(), server_default="true", nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_history_cursor")),
    )
    op.create_table(
        "flag_thresholds",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("values", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("updated_at", TZ, nullable=False),
        sa.Column("updated_by_id", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(
            ["updated_by_id"], ["users.id"], name=op.f("fk_flag_thresholds_updated_by_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_flag_thresholds")),
    )


def downgrade() -> None:
    op.drop_table("flag_thresholds")
    op.drop_table("history_cursor")
    op.drop_index(op.f("ix_history_flag_reviews_flag_id"), table_name="history_flag_reviews")
    op.drop_table("history_flag_reviews")
    op.drop_index(
        "uq_history_flags_open_kind", table_name="history_flags", postgresql_where="status = 'open'"
    )
    op.drop_index("ix_history_flags_status_raised", table_name="history_flags")
    op.drop_index(op.f("ix_history_flags_customer_id"), table_name="history_flags")
    op.drop_table("history_flags")

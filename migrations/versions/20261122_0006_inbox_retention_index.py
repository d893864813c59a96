"""Inbox retention: an index on handled_at of the inbox rows no alarm needs.

The retention job (arc/ingest/retention.py) deletes old handled rows that belong to no
alarm, oldest first, 5,000 at a time; this partial index finds them without scanning
the rows alarms keep. Built CONCURRENTLY so a large live inbox keeps taking messages.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-22 21:00:00+00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.get_context().autocommit_block():
        op.create_index(
            "ix_ingest_inbox_unlinked_handled_at",
            "ingest_inbox",
            ["handled_at"],
            unique=False,
            postgresql_where="alarm_id IS NULL",
            postgresql_concurrently=True,
            if_not_exists=True,
        )


def downgrade() -> None:
    with op.get_context().autocommit_block():
        op.drop_index(
            "ix_ingest_inbox_unlinked_handled_at",
            table_name="ingest_inbox",
            postgresql_where="alarm_id IS NULL",
            postgresql_concurrently=True,
            if_exists=True,
        )

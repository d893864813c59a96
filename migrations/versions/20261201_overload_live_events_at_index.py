"""live_events.at index: the retention job deletes by it

The live-event retention job (arc/alarms/retention.py, hourly) deletes events older than
LIFELINE_LIVE_EVENTS_RETENTION_DAYS, 5,000 at a time, by ``at``; without an index each run read
the whole table (the dashboards' replay buffer: every alarm change of the retention period) to
find the hour's few old rows. Built CONCURRENTLY: the alarm write path inserts into this table.

Revision ID: overload_0001
Revises: house_0002
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "overload_0001"
down_revision: str | Sequence[str] | None = "house_0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.get_context().autocommit_block():
        op.create_index(
            "ix_live_events_at", "live_events", ["at"], postgresql_concurrently=True, if_not_exists=True
        )


def downgrade() -> None:
    with op.get_context().autocommit_block():
        op.drop_index("ix_live_events_at", table_name="live_events", postgresql_concurrently=True, if_exists=True)

"""durable jobs: procrastinate's schema; delivery attempts numbered per job, 'skipped' outcome

Revision ID: house_0001
Revises: sip_0001
Create Date: 2026-12-01

procrastinate's own schema file (shipped in the package, pinned <4 in pyproject) is applied as
it is; a procrastinate upgrade that changes its schema ships SQL migrations, applied by a new
Alembic revision here.
"""

from __future__ import annotations

from collections.abc import Sequence
from importlib.resources import files

import sqlalchemy as sa
from alembic import op
from sqlalchemy.util import await_only

revision: str = "house_0001"
down_revision: str | Sequence[str] | None = "sip_0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    schema = (files("procrastinate.sql") / "schema.sql").read_text()
    # a script of many statements: asyncpg runs it unprepared on the migration's own connection
    await_only(op.get_bind().connection.driver_connection.execute(schema))
    op.add_column("delivery_attempts", sa.Column("job_id", sa.BigInteger(), nullable=True))
    op.add_column(
        "delivery_attempts", sa.Column("attempt", sa.Integer(), server_default="1", nullable=False)
    )
    op.drop_constraint("outcome_known", "delivery_attempts", type_="check")
    op.create_check_constraint(
        "outcome_known",
        "delivery_attempts",
        "outcome IN ('pending', 'sent', 'failed', 'skipped')",
    )


def downgrade() -> None:
    op.drop_constraint("outcome_known", "delivery_attempts", type_="check")
    op.create_check_constraint(
        "outcome_known", "delivery_attempts", "outcome IN ('pending', 'sent', 'failed')"
    )
    op.drop_column("delivery_attempts", "attempt")
    op.drop_column("delivery_attempts", "job_id")
    bind = op.get_bind()
    for table in ("procrastinate_events", "procrastinate_periodic_defers", "procrastinate_jobs", "procrastinate_workers"):
        bind.exec_driver_sql(f"DROP TABLE IF EXISTS {table} CASCADE")
    functions = bind.exec_driver_sql(
        "SELECT p.oid::regprocedure::text FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
        "WHERE n.nspname = current_schema() AND p.proname LIKE 'procrastinate%'"
    ).scalars()
    for signature in list(functions):
        bind.exec_driver_sql(f"DROP FUNCTION IF EXISTS {signature} CASCADE")
    for type_ in ("procrastinate_job_to_defer_v1", "procrastinate_job_event_type", "procrastinate_job_status"):
        bind.exec_driver_sql(f"DROP TYPE IF EXISTS {type_} CASCADE")

"""Durable jobs: side effects that must happen even if the process dies right after COMMIT.

A responder's notification (and billing's Stripe calls and letters) is a job row written in
the same transaction as the change that causes it: a rolled-back change enqueues nothing, a
committed one cannot lose its job. The queue is procrastinate on the same PostgreSQL
(``procrastinate_*`` tables, made by an Alembic migration): workers take jobs with
``SELECT … FOR UPDATE SKIP LOCKED`` and hear new ones by LISTEN/NOTIFY, so every service
process can run a worker; a job is retried with backoff per its task's ``RetryStrategy``, and
after its last attempt it stays ``failed`` — the dead-letter list an admin sees and can retry.

Each domain declares its tasks as ``TaskSpec`` values (no procrastinate import needed); the
composition layer (``arc/jobs.py``) lists them all and builds the one ``procrastinate.App``.
A task function is ``async def fn(app, **args)``: it gets the FastAPI app (its sessionmaker,
clock, settings) and the job's JSON arguments (ids only, never personal data).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import procrastinate
from procrastinate import RetryStrategy
from procrastinate.psycopg_connector import PsycopgConnector
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

log = logging.getLogger(__name__)

TaskFn = Callable[..., Awaitable[Any]]
DEFAULT_QUEUE = "side_effects"

_DEFER = text(
    "SELECT unnest(procrastinate_defer_jobs_v1(ARRAY[ROW(:queue, :task, :priority, CAST(:lock AS text), "
    "CAST(:queueing_lock AS text), CAST(:args AS jsonb), CAST(:scheduled_at AS timestamptz)"
    ")::procrastinate_job_to_defer_v1])) AS id"
)


@dataclass(frozen=True)
class TaskSpec:
    """A durable task: its stable name (stored on job rows), function and retry policy."""

    name: str
    fn: TaskFn
    max_attempts: int = 5
    wait_base_s: float = 2.0  # attempt n waits base ** n seconds: 2, 4, 8, 16 ...
    queue: str = DEFAULT_QUEUE
    priority: int = 0

    def retry(self) -> RetryStrategy:
        return RetryStrategy(max_attempts=self.max_attempts - 1, exponential_wait=self.wait_base_s)


async def enqueue(
    session: AsyncSession,
    spec: TaskSpec,
    *,
    scheduled_at: datetime | None = None,
    lock: str | None = None,
    **args: Any,
) -> int:
    """Write the job in the caller's transaction; a worker runs it once that commits."""
    job_id = await session.scalar(
        _DEFER,
        {
            "queue": spec.queue,
            "task": spec.name,
            "priority": spec.priority,
            "lock": lock,
            "queueing_lock": None,
            "args": json.dumps(args),
            "scheduled_at": scheduled_at,
        },
    )
    return int(job_id)


def libpq_url(database_url: str) -> str:
    """The service's SQLAlchemy URL as a libpq conninfo (psycopg): same database, same socket."""
    for prefix in ("postgresql+asyncpg://", "postgres://"):
        if database_url.startswith(prefix):
            return "postgresql://" + database_url[len(prefix) :]
    return database_url


def build_job_app(database_url: str, specs: Iterable[TaskSpec], *, pool_size: int = 4) -> procrastinate.App:
    """One procrastinate App with every task; ``fn(app, **args)`` gets the FastAPI app from the
    worker's context."""
    connector = PsycopgConnector(conninfo=libpq_url(database_url), min_size=1, max_size=pool_size)
    jobs = procrastinate.App(connector=connector)
    for spec in specs:

        async def run(context, __fn=spec.fn, **args):
            return await __fn(context.additional_context["app"], **args)

        jobs.task(name=spec.name, queue=spec.queue, retry=spec.retry(), pass_context=True)(run)
    return jobs


async def run_worker(jobs: procrastinate.App, app: Any, *, wait: bool = True, concurrency: int = 2) -> None:
    """Run jobs until cancelled (``wait=False``: until none is due, e.g. in tests)."""
    await jobs.run_worker_async(
        wait=wait,
        concurrency=concurrency,
        install_signal_handlers=False,
        listen_notify=wait,
        fetch_job_polling_interval=2.0,
        shutdown_graceful_timeout=10.0,
        additional_context={"app": app},
    )


_DEAD = text(
    "SELECT j.id, j.task_name, j.queue_name, j.attempts, j.args, "
    "(SELECT max(e.at) FROM procrastinate_events e WHERE e.job_id = j.id) AS failed_at "
    "FROM procrastinate_jobs j WHERE j.status = 'failed' ORDER BY j.id DESC LIMIT :limit"
)


async def dead_letters(session: AsyncSession, limit: int = 200) -> list[dict]:
    """Jobs that used up their attempts (the dead-letter list), newest first."""
    rows = (await session.execute(_DEAD, {"limit": limit})).mappings().all()
    return [dict(row) for row in rows]


async def retry_dead_letter(session: AsyncSession, job_id: int) -> bool:
    """Give a failed job one more attempt now (an admin's decision); False if it is not failed."""
    status = await session.scalar(
        text("SELECT status::text FROM procrastinate_jobs WHERE id = :id FOR UPDATE"), {"id": job_id}
    )
    if status != "failed":
        return False
    await session.execute(
        text("SELECT procrastinate_retry_job_v2(:id, now(), NULL, NULL, NULL)"), {"id": job_id}
    )
    return True

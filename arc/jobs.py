"""Every job, in one place (composition layer).

- ``JOBS``: scheduled jobs, run by the scheduler leader on their interval.
- ``TASKS``: durable tasks (procrastinate), enqueued in the transaction that causes them and run
  by a worker in every service process (``job_worker``), with retries; the dead-letter list is
  ``GET /api/admin/jobs/dead`` (admins), ``POST /api/admin/jobs/{id}/retry`` gives one more try.

Nothing registers a job by being imported: a new job is one line here.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, FastAPI, Request
from pydantic import BaseModel

from arc.alarms.retention import live_events_retention_job
from arc.audit.service import record
from arc.auth.deps import require_roles
from arc.auth.models import User
from arc.dispatch.dial import DIAL
from arc.dispatch.escalation import escalation_job
from arc.dispatch.tasks import DELIVER
from arc.history.jobs import evaluate_flags
from arc.ingest.retention import retention_job
from arc.kit.db import Session
from arc.kit.errors import NotFound
from arc.kit.jobs import TaskSpec, build_job_app, dead_letters, retry_dead_letter, run_worker
from arc.kit.scheduler import Job, run_scheduler
from arc.supervision.sweep import sweep_job
from billing.jobs import daily_job as billing_daily_job
from billing.jobs import stripe_job as billing_stripe_job
from billing.tasks import SEND_DOCUMENTS as BILLING_SEND_DOCUMENTS

JOBS: dict[str, Job] = {
    job.name: job
    for job in (
        Job("escalations", 5, escalation_job),
        Job("no_comms_sweep", lambda settings: settings.no_comms_sweep_seconds, sweep_job),
        Job("inbox_retention", 3_600, retention_job),
        Job("live_events_retention", 3_600, live_events_retention_job),
        Job("billing_daily", 3_600, billing_daily_job),
        Job("billing_stripe", 60, billing_stripe_job),
        Job("history_flags", lambda settings: settings.flag_evaluation_seconds, evaluate_flags),
    )
}


@asynccontextmanager
async def scheduler_component(app: FastAPI) -> AsyncIterator[None]:
    """App component: take part in the leader election; the leader runs ``JOBS``."""
    async with run_scheduler(app, JOBS.values()):
        yield


TASKS: tuple[TaskSpec, ...] = (DELIVER, DIAL, BILLING_SEND_DOCUMENTS)


@asynccontextmanager
async def job_queue(app: FastAPI) -> AsyncIterator[None]:
    """Part of every app's lifespan: the procrastinate App (enqueueing needs only the session;
    this is for workers and admin retries)."""
    jobs = build_job_app(app.state.settings.database_url, TASKS)
    async with jobs.open_async():
        app.state.jobs = jobs
        try:
            yield
        finally:
            app.state.jobs = None


@asynccontextmanager
async def job_worker(app: FastAPI) -> AsyncIterator[None]:
    """App component (``lifeline serve``/``demo``): run due jobs until shutdown."""
    worker = asyncio.create_task(run_worker(app.state.jobs, app), name="job-worker")
    try:
        yield
    finally:
        worker.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await worker


async def run_jobs_now(app: FastAPI) -> None:
    """Run every job that is due, then return (tests; a one-off ``lifeline jobs run``)."""
    await run_worker(app.state.jobs, app, wait=False)


# --- the dead-letter list (admins) --------------------------------------------

router = APIRouter(prefix="/admin/jobs", tags=["jobs"])
Admin = Annotated[User, Depends(require_roles("admin"))]


class DeadJob(BaseModel):
    id: int
    task_name: str
    queue_name: str
    attempts: int
    args: dict
    failed_at: datetime | None


class DeadJobs(BaseModel):
    items: list[DeadJob]


class Retried(BaseModel):
    id: int
    retried: bool


@router.get("/dead", response_model=DeadJobs, summary="Jobs that used up their attempts")
async def list_dead_jobs(session: Session, _: Admin) -> DeadJobs:
    return DeadJobs(items=[DeadJob(**row) for row in await dead_letters(session)])


@router.post("/{job_id}/retry", response_model=Retried, summary="Give a failed job one more attempt")
async def retry_dead_job(request: Request, session: Session, user: Admin, job_id: int) -> Retried:
    if not await retry_dead_letter(session, job_id):
        raise NotFound(f"no failed job {job_id}")
    await record(session, actor=user, action="update", object_type="job", object_id=job_id, request=request)
    return Retried(id=job_id, retried=True)

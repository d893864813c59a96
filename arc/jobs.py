"""Every scheduled job, in one list (composition layer). The scheduler leader runs them.

Nothing registers a job by being imported: a new job is one line here.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from arc.dispatch.escalation import escalation_job
from arc.ingest.retention import retention_job
from arc.kit.scheduler import Job, run_scheduler
from arc.supervision.sweep import sweep_job
from billing.jobs import daily_job as billing_daily_job
from billing.jobs import stripe_job as billing_stripe_job

JOBS: dict[str, Job] = {
    job.name: job
    for job in (
        Job("escalations", 5, escalation_job),
        Job("no_comms_sweep", lambda settings: settings.no_comms_sweep_seconds, sweep_job),
        Job("inbox_retention", 3_600, retention_job),
        Job("billing_daily", 3_600, billing_daily_job),
        Job("billing_stripe", 60, billing_stripe_job),
    )
}


@asynccontextmanager
async def scheduler_component(app: FastAPI) -> AsyncIterator[None]:
    """App component: take part in the leader election; the leader runs ``JOBS``."""
    async with run_scheduler(app, JOBS.values()):
        yield

"""The read side's scheduled job, a plain async function of the app (``arc/jobs.py`` lists it; the
scheduler leader runs it). Nothing here runs in the ingest's transaction."""

from __future__ import annotations

from datetime import timedelta

from fastapi import FastAPI

from arc.history.db import read_scope
from arc.history.flags import run_evaluation
from arc.kit.db import session_scope
from arc.kit.settings import Settings


async def evaluate_flags(app: FastAPI) -> dict:
    """Read new alarm events and re-evaluate the people they concern (and sweep on its interval)."""
    settings: Settings = app.state.settings
    async with (
        read_scope(app.state.read_sessionmaker) as read,
        session_scope(app.state.sessionmaker) as write,
    ):
        return await run_evaluation(
            read, write, app.state.clock.now(), sweep_every=timedelta(seconds=settings.flag_sweep_seconds)
        )

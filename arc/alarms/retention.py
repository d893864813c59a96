"""Live-event retention: ``live_events`` is the dashboards' replay buffer (a reconnecting page
asks for what it missed), not a record — the alarm, its log and the audit are. Its payloads carry
the person's name and postcode, so rows older than ``LIFELINE_LIVE_EVENTS_RETENTION_DAYS`` (7)
are deleted, ``CHUNK`` at a time, oldest first, skipping rows another transaction holds.
Run by the scheduler leader (listed in ``arc/jobs.py``)."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from arc.kit.retention import delete_in_chunks
from arc.kit.settings import Settings

log = logging.getLogger(__name__)

CHUNK = 5_000

_DELETE = text(
    """
    DELETE FROM live_events WHERE id IN (
        SELECT id FROM live_events WHERE at < :cutoff
        ORDER BY id
        LIMIT :chunk
        FOR UPDATE SKIP LOCKED
    )
    """
)


async def prune_live_events(
    maker: async_sessionmaker[AsyncSession], now: datetime, settings: Settings, *, chunk: int = CHUNK
) -> int:
    """Delete live events older than the retention period; returns how many went."""
    deleted = await delete_in_chunks(
        maker, _DELETE, now - timedelta(days=settings.live_events_retention_days), chunk
    )
    if deleted:
        log.info("live-event retention: %d event(s) deleted", deleted)
    return deleted


async def live_events_retention_job(app: FastAPI) -> None:
    await prune_live_events(app.state.sessionmaker, app.state.clock.now(), app.state.settings)

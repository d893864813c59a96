"""Inbox retention: the inbox stores every message (a heartbeat an hour from every unit), so old
rows that nobody needs are deleted on a schedule.

- ``ingest_inbox``: handled rows older than ``LIFELINE_INBOX_RETENTION_DAYS`` (90) that belong to
  no alarm -- neither linked to one nor sharing a session (cid + ref) with a row that is. Rows of
  alarms stay: the call history and "why did this attach to that alarm?" need them.
- ``ingest_rejected``: rows older than ``LIFELINE_REJECTED_RETENTION_DAYS`` (30).

Deletes go oldest first, ``CHUNK`` rows per statement, each in its own short transaction, and skip
rows another transaction holds, so the job never holds long locks or stalls the ingest. Runs on the
scheduler leader every hour (``arc/jobs.py``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from arc.kit.retention import delete_in_chunks
from arc.kit.settings import Settings

log = logging.getLogger(__name__)

CHUNK = 5_000

_DELETE_INBOX = text(
    """
    DELETE FROM ingest_inbox WHERE id IN (
        SELECT i.id FROM ingest_inbox AS i
        WHERE i.alarm_id IS NULL AND i.handled_at IS NOT NULL AND i.handled_at < :cutoff
          AND NOT EXISTS (
              SELECT 1 FROM ingest_inbox AS s
              WHERE s.cid = i.cid AND s.ref = i.ref AND s.alarm_id IS NOT NULL
          )
        ORDER BY i.handled_at
        LIMIT :chunk
        FOR UPDATE SKIP LOCKED
    )
    """
)
_DELETE_REJECTED = text(
    """
    DELETE FROM ingest_rejected WHERE id IN (
        SELECT id FROM ingest_rejected WHERE received_at < :cutoff
        ORDER BY received_at
        LIMIT :chunk
        FOR UPDATE SKIP LOCKED
    )
    """
)


@dataclass(frozen=True)
class RetentionReport:
    inbox_deleted: int
    rejected_deleted: int


async def purge_inbox(
    maker: async_sessionmaker[AsyncSession], now: datetime, settings: Settings, *, chunk: int = CHUNK
) -> RetentionReport:
    """Delete what retention allows, in chunks of ``chunk`` rows; returns how many rows went."""
    inbox = await delete_in_chunks(maker, _DELETE_INBOX, now - timedelta(days=settings.inbox_retention_days), chunk)
    rejected = await delete_in_chunks(
        maker, _DELETE_REJECTED, now - timedelta(days=settings.rejected_retention_days), chunk
    )
    if inbox or rejected:
        log.info("inbox retention: %d inbox and %d rejected message(s) deleted", inbox, rejected)
    return RetentionReport(inbox, rejected)


async def retention_job(app: FastAPI) -> None:
    await purge_inbox(app.state.sessionmaker, app.state.clock.now(), app.state.settings)

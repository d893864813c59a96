"""Emit live events inside the caller's transaction.

The row and the ``pg_notify`` are both transactional: listeners hear about an
event only once the work that made it has committed, and never on rollback.
The notification carries just the event id; listeners read the row.
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from arc.live.models import LiveEvent

CHANNEL = "lifeline_events"


async def emit(session: AsyncSession, kind: str, payload: dict, *, alarm_id: int | None = None) -> LiveEvent:
    """Record ``kind`` (e.g. ``alarm.opened``) for dashboards; delivered on commit."""
    event = LiveEvent(kind=kind, alarm_id=alarm_id, payload=payload)
    session.add(event)
    await session.flush()
    await session.execute(select(func.pg_notify(CHANNEL, str(event.id))))
    return event


async def events_after(session: AsyncSession, last_id: int, limit: int = 500) -> list[LiveEvent]:
    rows = await session.scalars(
        select(LiveEvent).where(LiveEvent.id > last_id).order_by(LiveEvent.id).limit(limit)
    )
    return list(rows)

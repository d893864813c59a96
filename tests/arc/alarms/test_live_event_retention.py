"""Live events are a replay buffer, not a record: older than the retention period they go."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select, update

from arc.alarms.events import LiveEvent, emit
from arc.alarms.retention import prune_live_events
from arc.kit.db import make_sessionmaker


async def test_live_events_past_retention_are_deleted_in_chunks_and_recent_ones_kept(
    db, session, settings, clock
):
    for n in range(7):
        await emit(session, "alarm.updated", {"customer": {"name": f"Person {n}"}}, alarm_id=n)
    await session.commit()
    old = clock.now() - timedelta(days=settings.live_events_retention_days, seconds=1)
    recent = clock.now() - timedelta(days=settings.live_events_retention_days - 1)
    await session.execute(update(LiveEvent).where(LiveEvent.alarm_id < 5).values(at=old))
    await session.execute(update(LiveEvent).where(LiveEvent.alarm_id >= 5).values(at=recent))
    await session.commit()

    assert await prune_live_events(make_sessionmaker(db), clock.now(), settings, chunk=2) == 5
    left = await session.scalars(select(LiveEvent.alarm_id).order_by(LiveEvent.id))
    assert list(left) == [5, 6]
    assert await prune_live_events(make_sessionmaker(db), clock.now(), settings) == 0
    assert await session.scalar(select(func.count()).select_from(LiveEvent)) == 2

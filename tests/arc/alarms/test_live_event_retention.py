"""Live events are a replay buffer, not a record: older than the retention period they go."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select, text, update

from arc.alarms import retention
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


async def test_retention_finds_old_events_by_index_not_by_reading_the_whole_buffer(db, session, settings, clock):
    """The hourly job's usual case: a big replay buffer with nothing (or an hour's worth) to delete.
    It must find the old rows through the index on ``at``, not by scanning every recent event."""
    await session.execute(
        text(
            "INSERT INTO live_events (at, kind, payload) SELECT now() - (n || ' seconds')::interval,"
            " 'alarm.updated', '{}'::jsonb FROM generate_series(1, 20000) AS n"
        )
    )
    await session.commit()
    await session.execute(text("ANALYZE live_events"))
    cutoff = clock.now() - timedelta(days=settings.live_events_retention_days)
    explain = text(f"EXPLAIN {retention._DELETE.text}")
    plan = "\n".join(await session.scalars(explain, {"cutoff": cutoff, "chunk": retention.CHUNK}))
    assert "ix_live_events_at" in plan, plan

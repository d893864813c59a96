"""Arranging call histories for the read-side tests: alarms with their ``received`` event, as the
ingest leaves them."""

from __future__ import annotations

from datetime import timedelta

from arc.alarms.models import AlarmEvent
from tests.factories import create_alarm


async def history(session, customer, unit, now, ages: list[timedelta], **kw) -> list:
    """One alarm per age (now - age) for ``customer`` on ``unit``, each with its event."""
    out = []
    for age in ages:
        alarm = await create_alarm(session, customer=customer, unit=unit, raised_at=now - age, **kw)
        session.add(AlarmEvent(alarm_id=alarm.id, at=alarm.raised_at, type="received", actor="unit", data={}))
        out.append(alarm)
    await session.flush()
    return out


def days(*n: float) -> list[timedelta]:
    return [timedelta(days=d) for d in n]

"""Dispatch's eraser: response tasks keep who was asked and when (times, states, the 999 service)
but lose their notes; delivery attempts lose their detail (a message or number in an answer)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from arc.alarms.erasure import alarms_of
from arc.dispatch.models import DeliveryAttempt, ResponseTask


async def erase(session: AsyncSession, customer_ids: Sequence[int], now: datetime) -> int:
    if not customer_ids:
        return 0
    tasks = (
        select(ResponseTask.id).where(ResponseTask.alarm_id.in_(alarms_of(customer_ids))).scalar_subquery()
    )
    changed = await session.execute(update(ResponseTask).where(ResponseTask.id.in_(tasks)).values(note=None))
    attempts = await session.execute(
        update(DeliveryAttempt).where(DeliveryAttempt.task_id.in_(tasks)).values(detail=None)
    )
    await session.flush()
    return changed.rowcount + attempts.rowcount

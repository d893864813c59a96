"""The call history's eraser: flags keep their kind, window, counts and alarm ids (service
statistics) but their reviews lose the TEC team's notes about the person."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from arc.history.models import Flag, FlagReview


async def erase(session: AsyncSession, customer_ids: Sequence[int], now: datetime) -> int:
    if not customer_ids:
        return 0
    flags = select(Flag.id).where(Flag.customer_id.in_(list(customer_ids))).scalar_subquery()
    changed = await session.execute(update(FlagReview).where(FlagReview.flag_id.in_(flags)).values(note=None))
    await session.flush()
    return changed.rowcount

"""The ingest's eraser: inbox rows of the customer's alarms keep the message's codes (ref, cid,
dty, mty, stc...: what the unit sent, for the protocol record) but lose its free text (location,
caller numbers, unknown tags). Rejected rows keep only days (``rejected_retention_days``) and
rows no alarm needs are pruned by ``arc/ingest/retention.py``, both long before a customer's
retention ends."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from arc.alarms.erasure import alarms_of
from arc.ingest.models import InboxMessage
from arc.kit.erasure import keep_only

MESSAGE_KEYS = frozenset({"ref", "cid", "dty", "mty", "stc", "pri", "ver", "tim", "fmt", "did"})


async def erase(session: AsyncSession, customer_ids: Sequence[int], now: datetime) -> int:
    if not customer_ids:
        return 0
    rows = list(
        await session.scalars(select(InboxMessage).where(InboxMessage.alarm_id.in_(alarms_of(customer_ids))))
    )
    for row in rows:
        row.message = keep_only(row.message, MESSAGE_KEYS)
    await session.flush()
    return len(rows)

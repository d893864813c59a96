"""The live-event outbox: one row per change a dashboard must see, written in the caller's transaction.

The row and the ``pg_notify`` are both transactional: listeners (``arc/live``) hear about an
event only once the work that made it has committed, and never on rollback. The notification
carries just the event id; listeners read the row. Alarm and task changes are the only events.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, String, Text, bindparam, cast, func, insert, select
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from arc.kit.model import Base, IdMixin

CHANNEL = "lifeline_events"

class LiveEvent(IdMixin, Base):
    """Ordered by ``id``; a reconnecting dashboard asks for everything after its last id."""

    __tablename__ = "live_events"

    # indexed: the retention job (arc/alarms/retention.py) deletes by it
    at: Mapped[datetime] = mapped_column(server_default=func.now(), index=True)
    kind: Mapped[str] = mapped_column(String(40))
    alarm_id: Mapped[int | None] = mapped_column(BigInteger, index=True)
    payload: Mapped[dict] = mapped_column(JSONB, default=dict, server_default="{}")


# one round trip: store the event and notify its id, in the caller's transaction
_STORED = (
    insert(LiveEvent)
    .values(kind=bindparam("kind"), alarm_id=bindparam("alarm_id"), payload=bindparam("payload"))
    .returning(LiveEvent.id)
    .cte("stored")
)
_EMIT = select(_STORED.c.id, func.pg_notify(CHANNEL, cast(_STORED.c.id, Text)))


async def emit(session: AsyncSession, kind: str, payload: dict, *, alarm_id: int | None = None) -> int:
    """Record ``kind`` (e.g. ``alarm.opened``) for dashboards; delivered on commit. Returns its id."""
    result = await session.execute(
        _EMIT, {"kind": kind, "alarm_id": alarm_id, "payload": payload}
    )
    return result.scalar_one()


async def events_after(session: AsyncSession, last_id: int, limit: int = 500) -> list[LiveEvent]:
    rows = await session.scalars(
        select(LiveEvent).where(LiveEvent.id > last_id).order_by(LiveEvent.id).limit(limit)
    )
    return list(rows)

"""The alarms' eraser: alarms keep their times, codes and counts (KPIs, histories) but lose free
text and position; each alarm's log keeps what happened and when, not what was said; the live
events of those alarms (a dashboard's replay buffer, payloads with the name and postcode) go."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from arc.alarms.events import LiveEvent
from arc.alarms.models import Alarm, AlarmEvent
from arc.kit.erasure import keep_only

# what an alarm event may keep: codes, ids and states (a note's text, a call's number go)
EVENT_KEYS = frozenset(
    {
        "ref",
        "dty",
        "stc",
        "mty",
        "did",
        "device_type",
        "status_text",
        "kind",
        "category",
        "priority",
        "status",
    }
    | {"from", "to", "outcome_code", "task_id", "responder_id", "ers_user_id", "service", "party", "result"}
    | {"snu", "count", "activation_count", "error", "user_id", "to_user_id", "reset"}
)


TITLE_PLACE = " — "  # arc/alarms/intake.py joins the device's place to the title with this


def alarms_of(customer_ids: Sequence[int]):
    return select(Alarm.id).where(Alarm.customer_id.in_(list(customer_ids))).scalar_subquery()


async def erase(session: AsyncSession, customer_ids: Sequence[int], now: datetime) -> int:
    if not customer_ids:
        return 0
    alarms = alarms_of(customer_ids)
    changed = await session.execute(
        update(Alarm)
        .where(Alarm.customer_id.in_(list(customer_ids)))
        .values(
            # "Pendant / personal trigger — hall, 17 Lark Rise": the title keeps what, not where
            title=func.split_part(Alarm.title, TITLE_PLACE, 1),
            outcome_note=None,
            caller_ids=[],
            location_text=None,
            geo_lat=None,
            geo_lon=None,
            geo_at=None,
        )
        .execution_options(synchronize_session=False)
    )
    events = list(await session.scalars(select(AlarmEvent).where(AlarmEvent.alarm_id.in_(alarms))))
    for event in events:
        event.data = keep_only(event.data, EVENT_KEYS)
    live = await session.execute(delete(LiveEvent).where(LiveEvent.alarm_id.in_(alarms)))
    await session.flush()
    return changed.rowcount + len(events) + live.rowcount

"""A customer's response plan and who is next in it.

The plan, in order: the nominated responders by position who are available now
(availability windows are Europe/London local times), then the Enhanced
Response Service (the ERS responder with the fewest open jobs), then the
emergency services (999: fire for smoke / heat / CO, otherwise ambulance).
Each step is tried once per alarm.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from arc.alarms.models import Alarm
from arc.auth.models import User
from arc.dispatch.models import ResponseTask
from arc.dispatch.states import OPEN
from arc.registry.models import Responder

FIRE_DEVICES = ("0023", "0025", "0026")


def _minutes(hhmm: str) -> int:
    hours, minutes = hhmm.split(":")
    return int(hours) * 60 + int(minutes)


def available_now(windows: list[dict] | None, now: datetime, zone: ZoneInfo) -> bool:
    """True if ``now`` falls in one of the windows (none = any time).

    A window ``{"days": [0..6] (Monday = 0), "start": "HH:MM", "end": "HH:MM"}`` whose end is
    not after its start runs past midnight into the next day (22:00-06:00 on Friday covers
    Friday night and Saturday morning).
    """
    if not windows:
        return True
    local = now.astimezone(zone)
    minute = local.hour * 60 + local.minute
    today = local.weekday()
    yesterday = (today - 1) % 7
    for window in windows:
        try:
            days = set(window.get("days") or ())
            start, end = _minutes(window["start"]), _minutes(window["end"])
        except (KeyError, ValueError, AttributeError, TypeError):
            continue  # a malformed window never makes someone unavailable by accident elsewhere
        if start < end:
            if today in days and start <= minute < end:
                return True
        elif (today in days and minute >= start) or (yesterday in days and minute < end):
            return True
    return False


@dataclass(frozen=True)
class Step:
    kind: str  # responder | ers | emergency
    responder_id: int | None = None
    ers_user_id: int | None = None
    service: str | None = None


async def pick_ers_user(session: AsyncSession) -> int | None:
    """The active ERS responder with the fewest open jobs (ties: the longest-serving account)."""
    open_jobs = (
        select(func.count(ResponseTask.id))
        .where(ResponseTask.ers_user_id == User.id, ResponseTask.status.in_(OPEN))
        .scalar_subquery()
    )
    return await session.scalar(
        select(User.id).where(User.role == "ers", User.is_active).order_by(open_jobs, User.id).limit(1)
    )


def emergency_service_for(alarm: Alarm) -> str:
    return "fire" if alarm.dty in FIRE_DEVICES else "ambulance"


async def next_step(session: AsyncSession, alarm: Alarm, now: datetime, zone: ZoneInfo) -> Step | None:
    """The first step of the plan not yet tried for this alarm; None when the plan is exhausted."""
    tried = list(
        await session.execute(
            select(ResponseTask.kind, ResponseTask.responder_id).where(ResponseTask.alarm_id == alarm.id)
        )
    )
    tried_responders = {rid for kind, rid in tried if kind == "responder"}
    tried_kinds = {kind for kind, _ in tried}
    if alarm.customer_id is not None:
        responders = await session.scalars(
            select(Responder).where(Responder.customer_id == alarm.customer_id).order_by(Responder.position)
        )
        for responder in responders:
            if responder.id not in tried_responders and available_now(responder.availability, now, zone):
                return Step("responder", responder_id=responder.id)
    if "ers" not in tried_kinds:
        ers_user = await pick_ers_user(session)
        if ers_user is not None:
            return Step("ers", ers_user_id=ers_user)
    if "emergency" not in tried_kinds:
        return Step("emergency", service=emergency_service_for(alarm))
    return None

"""What operators do to an alarm: accept, notes, close — and the queue they work from.

    queued -> accepted (exactly one operator) -> in_progress -> dispatched -> on_scene -> closed

The rules live here (who may act, what must be true first); every write goes through
``arc/alarms/write.py``, the one write path. Accepting is one conditional
``UPDATE ... WHERE status = 'queued' RETURNING``: of two operators pressing accept together
exactly one gets the row, the other is told who has it.

Lock order, everywhere: the alarm row first, then its tasks.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from arc.alarms import outcomes, write
from arc.alarms.models import Alarm, AlarmEvent
from arc.alarms.views import alarm_summary
from arc.alarms.write import advance, summary
from arc.alarms.write import get as get_alarm
from arc.auth.models import User
from arc.kit.errors import Conflict, ErrorCode, Forbidden, Unprocessable
from arc.registry.models import Customer

__all__ = ["advance", "get_alarm", "summary"]

log = logging.getLogger(__name__)

SUPERVISING_ROLES = ("supervisor", "admin")


def supervises(user: User) -> bool:
    """Supervisors and admins may act on an alarm another operator holds."""
    return user.has_role(*SUPERVISING_ROLES)


def event_view(event: AlarmEvent) -> dict:
    return {"at": event.at.isoformat(), "type": event.type, "actor": event.actor, "data": event.data}


async def record_event(
    session: AsyncSession,
    alarm_id: int,
    type_: str,
    now: datetime,
    *,
    user: User | None = None,
    data: dict | None = None,
) -> AlarmEvent:
    """Append to the alarm's log (for dispatch's task events); see ``write.record``."""
    return await write.record(session, alarm_id, type_, now, user=user, data=data)


async def emit_alarm(session: AsyncSession, alarm: Alarm, kind: str = "updated") -> dict:
    return await write.publish(session, alarm, kind)


async def _taken(session: AsyncSession, alarm: Alarm) -> Conflict:
    holder = await session.get(User, alarm.accepted_by_id) if alarm.accepted_by_id else None
    name = holder.full_name if holder else "another operator"
    return Conflict(
        f"accepted by {name}",
        code=ErrorCode.TAKEN,
        accepted_by={"id": holder.id, "name": holder.full_name} if holder else None,
    )


def _closed(alarm: Alarm) -> Conflict:
    return Conflict(f"alarm {alarm.id} is closed", code=ErrorCode.CLOSED)


async def accept(
    session: AsyncSession, alarm_id: int, user: User, now: datetime, *, publisher: Any = None
) -> Alarm:
    """Take the alarm. Exactly one of several concurrent callers wins; the rest get 409 ``taken``.
    The unit's waiting sessions are answered ``snu 0`` after COMMIT (the accepted hook)."""
    won = await write.take(session, alarm_id, user, now, publisher=publisher)
    if won is None:
        alarm = await get_alarm(session, alarm_id)
        if alarm.status == "closed":
            raise _closed(alarm)
        if alarm.accepted_by_id == user.id:
            return alarm  # pressing accept twice is harmless
        raise await _taken(session, alarm)
    log.info("alarm %s accepted by user %s", won.id, user.id)
    return won


async def held_alarm(session: AsyncSession, alarm_id: int, user: User) -> Alarm:
    """Lock the alarm for a change only its holder (or a supervisor) may make."""
    alarm = await get_alarm(session, alarm_id, lock=True)
    if alarm.status == "closed":
        raise _closed(alarm)
    if alarm.status == "queued":
        raise Conflict("accept the alarm first", code=ErrorCode.NOT_ACCEPTED)
    if alarm.accepted_by_id != user.id and not supervises(user):
        raise await _taken(session, alarm)
    return alarm


async def add_note(session: AsyncSession, alarm_id: int, user: User, text: str, now: datetime) -> AlarmEvent:
    """Notes are allowed on any alarm, closed ones too (late information is still information)."""
    alarm = await get_alarm(session, alarm_id, lock=True)
    event = await write.record(session, alarm.id, "note", now, user=user, data={"text": text})
    if alarm.accepted_by_id == user.id and alarm.status == "accepted":
        await advance(session, alarm, "in_progress", now, user=user)
        await write.publish(session, alarm)
    return event


async def close(
    session: AsyncSession, alarm_id: int, user: User, outcome_code: str, note: str | None, now: datetime
) -> Alarm:
    """Close with an outcome (``technical_fault`` for a fault). Requests nobody took up are cancelled."""
    alarm = await held_alarm(session, alarm_id, user)
    await outcomes.require_active(session, outcome_code)
    await write.close(session, alarm, now, outcome_code, user=user, note=note)
    log.info("alarm %s closed by user %s with %s", alarm.id, user.id, outcome_code)
    return alarm


async def queue(session: AsyncSession) -> list[dict]:
    """Every open alarm, most urgent first, then oldest first."""
    rows = await session.execute(
        select(Alarm, Customer, User)
        .outerjoin(Customer, Customer.id == Alarm.customer_id)
        .outerjoin(User, User.id == Alarm.accepted_by_id)
        .where(Alarm.status != "closed")
        .order_by(Alarm.priority, Alarm.raised_at, Alarm.id)
        .execution_options(populate_existing=True)
    )
    return [alarm_summary(alarm, customer, holder) for alarm, customer, holder in rows]


HANDLER_ROLES = ("operator", "supervisor")


async def reassign(
    session: AsyncSession,
    alarm_id: int,
    by: User,
    to_user_id: int | None,
    now: datetime,
    *,
    reason: str | None = None,
) -> Alarm:
    """A supervisor gives a held alarm to another operator, or releases it to the queue."""
    if not supervises(by):
        raise Forbidden("only a supervisor may re-assign or release an alarm", code=ErrorCode.FORBIDDEN)
    alarm = await get_alarm(session, alarm_id, lock=True)
    if alarm.status == "closed":
        raise _closed(alarm)
    if alarm.status == "queued":
        raise Conflict("nobody holds this alarm: it is already in the queue", code=ErrorCode.NOT_ACCEPTED)
    to = None
    if to_user_id is not None:
        to = await session.get(User, to_user_id)
        if to is None or not to.is_active or not to.has_role(*HANDLER_ROLES):
            raise Unprocessable("choose an active operator or supervisor", field="to_user_id")
        if to.id == alarm.accepted_by_id:
            raise Conflict(f"{to.full_name} already holds this alarm", code=ErrorCode.ALREADY_HELD)
    await write.reassign(session, alarm, to, now, by=by, reason=reason)
    log.info("alarm %s %s by user %s", alarm.id, "released" if to is None else "reassigned", by.id)
    return alarm


CALL_RESULTS = ("answered", "no_answer", "busy", "voicemail", "wrong_number")


async def record_call(
    session: AsyncSession, alarm_id: int, user: User, now: datetime, *, party: str, result: str, **about
) -> AlarmEvent:
    """The operator called someone about the alarm: who (the person, a responder, the caller id)
    and what happened. The voice path is the council's telephony; this is its record."""
    alarm = await get_alarm(session, alarm_id, lock=True)
    data = {"party": party, "result": result, **{k: v for k, v in about.items() if v is not None}}
    return await write.note_update(session, alarm, "call", now, user=user, data=data)


async def handlers(session: AsyncSession) -> list[dict]:
    """Every active operator and supervisor, with the open alarms each holds (oldest first)."""
    users = list(
        await session.scalars(
            select(User).where(User.is_active, User.role.in_(HANDLER_ROLES)).order_by(User.full_name, User.id)
        )
    )
    held = await session.execute(
        select(Alarm.id, Alarm.accepted_by_id, Alarm.accepted_at, Alarm.title, Alarm.status, Alarm.priority)
        .where(Alarm.status != "closed", Alarm.accepted_by_id.is_not(None))
        .order_by(Alarm.accepted_at, Alarm.id)
    )
    by_user: dict[int, list[dict]] = {}
    for row in held:
        by_user.setdefault(row.accepted_by_id, []).append(
            {
                "id": row.id,
                "title": row.title,
                "status": row.status,
                "priority": row.priority,
                "accepted_at": row.accepted_at.isoformat() if row.accepted_at else None,
            }
        )
    return [
        {"id": u.id, "name": u.full_name, "role": u.role, "holding": by_user.get(u.id, [])} for u in users
    ]

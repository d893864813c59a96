"""The alarm lifecycle: accept, in progress, notes, close. Every transition appends an event.

    queued -> accepted (exactly one operator) -> in_progress -> dispatched -> on_scene -> closed

Services flush, never commit; live events (``alarm.updated`` / ``alarm.closed``
with the alarm summary) are emitted inside the same transaction, so dashboards
hear about a change only once it has committed. Accepting is one conditional
``UPDATE ... WHERE status = 'queued' RETURNING``: of two operators pressing
accept together exactly one gets the row, the other is told who has it.

Lock order, everywhere: the alarm row first, then its tasks.
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from arc.alarms import outcomes
from arc.alarms.models import Alarm, AlarmEvent
from arc.alarms.views import alarm_summary
from arc.auth.models import User
from arc.dispatch.models import ResponseTask
from arc.dispatch.views import one_task_view
from arc.kit.errors import Conflict, NotFound
from arc.live.events import emit
from arc.registry.models import Customer

log = logging.getLogger(__name__)

SUPERVISING_ROLES = ("supervisor", "admin")


def supervises(user: User) -> bool:
    """Supervisors and admins may act on an alarm another operator holds."""
    return user.has_role(*SUPERVISING_ROLES)


def actor_name(user: User | None) -> str:
    return user.full_name[:64] if user is not None else "system"


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
    """Append to the alarm's log: what happened, who did it, when, and why (``data``)."""
    event = AlarmEvent(
        alarm_id=alarm_id,
        at=now,
        type=type_,
        actor_user_id=user.id if user is not None else None,
        actor=actor_name(user),
        data=data or {},
    )
    session.add(event)
    await session.flush()
    return event


async def summary(session: AsyncSession, alarm: Alarm) -> dict:
    customer = await session.get(Customer, alarm.customer_id) if alarm.customer_id else None
    holder = await session.get(User, alarm.accepted_by_id) if alarm.accepted_by_id else None
    return alarm_summary(alarm, customer, holder)


async def emit_alarm(session: AsyncSession, alarm: Alarm, kind: str = "alarm.updated") -> dict:
    payload = await summary(session, alarm)
    await emit(session, kind, payload, alarm_id=alarm.id)
    return payload


async def emit_task(session: AsyncSession, task: ResponseTask) -> dict:
    payload = await one_task_view(session, task)
    await emit(session, "task.updated", payload, alarm_id=task.alarm_id)
    return payload


async def get_alarm(session: AsyncSession, alarm_id: int, *, lock: bool = False) -> Alarm:
    """The alarm as committed now (never a stale copy from this session's identity map)."""
    stmt = select(Alarm).where(Alarm.id == alarm_id).execution_options(populate_existing=True)
    if lock:
        stmt = stmt.with_for_update()
    alarm = await session.scalar(stmt)
    if alarm is None:
        raise NotFound(f"alarm {alarm_id} not found")
    return alarm


async def _taken(session: AsyncSession, alarm: Alarm) -> Conflict:
    holder = await session.get(User, alarm.accepted_by_id) if alarm.accepted_by_id else None
    name = holder.full_name if holder else "another operator"
    return Conflict(
        f"accepted by {name}",
        code="taken",
        accepted_by={"id": holder.id, "name": holder.full_name} if holder else None,
    )


def _closed(alarm: Alarm) -> Conflict:
    return Conflict(f"alarm {alarm.id} is closed", code="closed")


async def accept(session: AsyncSession, alarm_id: int, user: User, now: datetime, *, publisher=None) -> Alarm:
    """Take the alarm. Exactly one of several concurrent callers wins; the rest get 409 ``taken``."""
    won = await session.scalar(
        update(Alarm)
        .where(Alarm.id == alarm_id, Alarm.status == "queued")
        .values(status="accepted", accepted_by_id=user.id, accepted_at=now)
        .returning(Alarm)
        .execution_options(populate_existing=True, synchronize_session=False)
    )
    if won is None:
        alarm = await get_alarm(session, alarm_id)
        if alarm.status == "closed":
            raise _closed(alarm)
        if alarm.accepted_by_id == user.id:
            return alarm  # pressing accept twice is harmless
        raise await _taken(session, alarm)
    waited = (now - won.raised_at).total_seconds()
    await record_event(session, won.id, "accepted", now, user=user, data={"answer_s": round(waited, 1)})
    await emit_alarm(session, won)
    await _answer_unit(session, publisher, won.id)
    log.info("alarm %s accepted by user %s after %.1f s", won.id, user.id, waited)
    return won


async def _answer_unit(session: AsyncSession, publisher, alarm_id: int) -> None:
    """Tell the unit its alarm is handled (snu 0), through the ingest's session replies."""
    try:
        from arc.ingest.replies import answer_alarm_sessions
    except ModuleNotFoundError as exc:  # no ingest in this build: the unit's next re-poll is answered
        if exc.name not in ("arc.ingest", "arc.ingest.replies"):
            raise
        return
    await answer_alarm_sessions(session, publisher, alarm_id, snu=0)


async def held_alarm(session: AsyncSession, alarm_id: int, user: User) -> Alarm:
    """Lock the alarm for a change only its holder (or a supervisor) may make."""
    alarm = await get_alarm(session, alarm_id, lock=True)
    if alarm.status == "closed":
        raise _closed(alarm)
    if alarm.status == "queued":
        raise Conflict("accept the alarm first", code="not_accepted")
    if alarm.accepted_by_id != user.id and not supervises(user):
        raise await _taken(session, alarm)
    return alarm


async def advance(
    session: AsyncSession,
    alarm: Alarm,
    status: str,
    now: datetime,
    *,
    user: User | None,
    data: dict | None = None,
) -> bool:
    """Move a locked, open alarm forward; False (and nothing written) if it is already there or past it."""
    order = ("accepted", "in_progress", "dispatched", "on_scene")
    if alarm.status not in order or order.index(status) <= order.index(alarm.status):
        return False
    previous = alarm.status
    alarm.status = status
    await session.flush()
    await record_event(session, alarm.id, status, now, user=user, data={"from": previous, **(data or {})})
    return True


async def add_note(session: AsyncSession, alarm_id: int, user: User, text: str, now: datetime) -> AlarmEvent:
    """Notes are allowed on any alarm, closed ones too (late information is still information)."""
    alarm = await get_alarm(session, alarm_id, lock=True)
    event = await record_event(session, alarm.id, "note", now, user=user, data={"text": text})
    if alarm.accepted_by_id == user.id and alarm.status == "accepted":
        await advance(session, alarm, "in_progress", now, user=user)
        await emit_alarm(session, alarm)
    return event


async def close(
    session: AsyncSession, alarm_id: int, user: User, outcome_code: str, note: str | None, now: datetime
) -> Alarm:
    """Close with an outcome (``technical_fault`` for a fault). Requests nobody took up are cancelled."""
    alarm = await held_alarm(session, alarm_id, user)
    await outcomes.require_active(session, outcome_code)
    pending = list(
        await session.scalars(
            select(ResponseTask)
            .where(ResponseTask.alarm_id == alarm.id, ResponseTask.status == "requested")
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    )
    for task in pending:
        task.status = "cancelled"
        task.ended_at = now
    previous = alarm.status
    alarm.status = "closed"
    alarm.closed_at = now
    alarm.closed_by_id = user.id
    alarm.outcome_code = outcome_code
    alarm.outcome_note = note
    await session.flush()
    await record_event(
        session,
        alarm.id,
        "closed",
        now,
        user=user,
        data={
            "from": previous,
            "outcome_code": outcome_code,
            "note": note,
            "cancelled_tasks": [t.id for t in pending],
        },
    )
    for task in pending:
        await emit_task(session, task)
    await emit_alarm(session, alarm, "alarm.closed")
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

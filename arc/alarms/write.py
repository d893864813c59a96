"""The one way to write an alarm: open, attach, update, accept, advance, close.

Every change goes through here, so none forgets the alarm's log (``AlarmEvent``), its live
event (``alarm.opened`` / ``alarm.updated`` / ``alarm.closed``, payload the alarm summary,
heard by dashboards after COMMIT) or the hooks of the layers above (``arc/alarms/hooks.py``:
accepting answers the unit, closing cancels open responder requests). Units and supervision
reach it through ``intake``, operators through ``service``, the ingest's last resort through
``intake.open_bare``. Nothing here commits.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, func, insert, select, update
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncSession

from arc.alarms import hooks
from arc.alarms.events import CHANNEL, emit
from arc.alarms.models import Alarm, AlarmEvent
from arc.alarms.views import alarm_summary
from arc.auth.models import User
from arc.kit.db import column_values, driver, loaded
from arc.kit.errors import NotFound
from arc.registry.models import Customer

HANDLING_ORDER = ("accepted", "in_progress", "dispatched", "on_scene")


def actor_name(user: User | None, actor: str | None = None) -> str:
    if user is not None:
        return user.full_name[:64]
    return actor or "system"


_RECORD = (
    insert(AlarmEvent)
    .values(
        alarm_id=bindparam("alarm_id"),
        at=bindparam("at"),
        type=bindparam("type"),
        actor_user_id=bindparam("actor_user_id"),
        actor=bindparam("actor"),
        data=bindparam("data"),
    )
    .returning(AlarmEvent.id)
)


async def record(
    session: AsyncSession,
    alarm_id: int,
    type_: str,
    now: datetime,
    *,
    user: User | None = None,
    actor: str | None = None,
    data: dict | None = None,
) -> AlarmEvent:
    """Append to the alarm's log: what happened, who did it (a user, ``unit`` or ``system``),
    when, and why (``data``). One prepared INSERT (the log is append-only: the row returned is
    a copy for the caller, not tracked by the session)."""
    values = {
        "alarm_id": alarm_id,
        "at": now,
        "type": type_,
        "actor_user_id": user.id if user is not None else None,
        "actor": actor_name(user, actor),
        "data": data or {},
    }
    event_id = (await session.execute(_RECORD, values)).scalar_one()
    return AlarmEvent(id=event_id, **values)


async def summary(session: AsyncSession, alarm: Alarm) -> dict:
    customer = await session.get(Customer, alarm.customer_id) if alarm.customer_id else None
    holder = await session.get(User, alarm.accepted_by_id) if alarm.accepted_by_id else None
    return alarm_summary(alarm, customer, holder)


async def publish(session: AsyncSession, alarm: Alarm, kind: str = "updated") -> dict:
    """Emit ``alarm.<kind>`` with the alarm summary (delivered to dashboards on COMMIT)."""
    await session.flush()
    payload = await summary(session, alarm)
    await emit(session, f"alarm.{kind}", payload, alarm_id=alarm.id)
    return payload


async def get(session: AsyncSession, alarm_id: int, *, lock: bool = False) -> Alarm:
    """The alarm as committed now (never a stale copy from this session's identity map)."""
    stmt = select(Alarm).where(Alarm.id == alarm_id).execution_options(populate_existing=True)
    if lock:
        stmt = stmt.with_for_update()
    alarm = await session.scalar(stmt)
    if alarm is None:
        raise NotFound(f"alarm {alarm_id} not found")
    return alarm


_ALARM_COLUMNS = tuple(c.key for c in Alarm.__table__.columns if not c.primary_key)
_JSON_COLUMNS = frozenset(c.key for c in Alarm.__table__.columns if isinstance(c.type, JSONB))
_n = len(_ALARM_COLUMNS)
# A new alarm, its first log row and its live event (with pg_notify) in one statement on the bare
# connection: the summary is made before the id exists and takes it here.
# (built once from the model's column names; every value is a parameter)
_OPEN = f"""
    WITH alarm AS (
        INSERT INTO alarms ({", ".join(_ALARM_COLUMNS)})
        VALUES ({", ".join(f"${i}" for i in range(1, _n + 1))}) RETURNING id
    ), logged AS (
        INSERT INTO alarm_events (alarm_id, at, type, actor, data)
        SELECT id, ${_n + 1}::timestamptz, ${_n + 2}::varchar, ${_n + 3}::varchar, ${_n + 4}::jsonb FROM alarm
    ), stored AS (
        INSERT INTO live_events (kind, alarm_id, payload)
        SELECT 'alarm.opened', id, jsonb_set(${_n + 5}::jsonb, '{{id}}', to_jsonb(id)) FROM alarm
        RETURNING id
    )
    SELECT alarm.id, pg_notify('{CHANNEL}', CAST(stored.id AS text)) FROM alarm, stored
"""  # noqa: S608


def _json(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


async def open_alarm(
    session: AsyncSession,
    alarm: Alarm,
    now: datetime,
    *,
    event: str = "received",
    actor: str = "unit",
    data: dict[str, Any] | None = None,
    customer: Any = None,
) -> Alarm:
    """A new alarm in the queue: stored, logged (``event``, by ``actor``, with ``data``) and
    announced (``alarm.opened``, delivered on COMMIT). ``customer``: the one ``alarm.customer_id``
    names when the caller has already read it (``intake.CustomerBrief``), else it is read here."""
    values = column_values(alarm, Alarm.__table__, now)
    if customer is None and alarm.customer_id is not None:
        customer = await session.get(Customer, alarm.customer_id)
    payload = alarm_summary(alarm, customer, None)
    params = [_json(values[c]) if c in _JSON_COLUMNS else values[c] for c in _ALARM_COLUMNS]
    raw = await driver(session)
    alarm.id = await raw.fetchval(
        _OPEN, *params, now, event, actor_name(None, actor), _json(data or {}), _json(payload)
    )
    loaded(session, alarm)
    return alarm


async def add_activation(
    session: AsyncSession,
    alarm: Alarm,
    now: datetime,
    *,
    data: dict[str, Any],
    rank: int | None = None,
    category: str | None = None,
    title: str | None = None,
    leader: dict[str, Any] | None = None,
    event: str = "activation",
    actor: str = "unit",
) -> Alarm:
    """Another activation joins an open alarm: counted, logged with the device and what it
    reported, and the alarm takes the rank, category and title of its most urgent activation —
    and its trigger (``leader``: dty, stc, did, dco, location_text), so the card's trigger and
    call script follow the smoke detector that joined a pendant alarm."""
    alarm.activation_count += 1
    alarm.last_activation_at = now
    if rank is not None and rank < alarm.priority:
        alarm.priority = rank
        if category is not None:
            alarm.category = category
        for field, value in (leader or {}).items():
            setattr(alarm, field, value)
    if title is not None:
        alarm.title = title[:200]
    await record(session, alarm.id, event, now, actor=actor, data=data)
    await publish(session, alarm, "updated")
    return alarm


async def note_update(
    session: AsyncSession,
    alarm: Alarm,
    type_: str,
    now: datetime,
    *,
    user: User | None = None,
    actor: str | None = None,
    data: dict | None = None,
    announce: bool = True,
) -> AlarmEvent:
    """Something happened to the alarm (information, reset at the unit, a note, a restore):
    logged, and announced while the alarm is open."""
    event = await record(session, alarm.id, type_, now, user=user, actor=actor, data=data)
    if announce and alarm.status != "closed":
        await publish(session, alarm, "updated")
    return event


async def take(
    session: AsyncSession, alarm_id: int, user: User, now: datetime, *, publisher: Any = None
) -> Alarm | None:
    """Accepting is one conditional UPDATE: of several callers exactly one gets the row (else None)."""
    won = await session.scalar(
        update(Alarm)
        .where(Alarm.id == alarm_id, Alarm.status == "queued")
        # a released alarm taken again keeps its first answer time (the KPIs count that one)
        .values(status="accepted", accepted_by_id=user.id, accepted_at=func.coalesce(Alarm.accepted_at, now))
        .returning(Alarm)
        .execution_options(populate_existing=True, synchronize_session=False)
    )
    if won is None:
        return None
    waited = (now - won.raised_at).total_seconds()
    await record(session, won.id, "accepted", now, user=user, data={"answer_s": round(waited, 1)})
    await publish(session, won)
    await hooks.accepted(session, won, publisher)
    return won


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
    if alarm.status not in HANDLING_ORDER or HANDLING_ORDER.index(status) <= HANDLING_ORDER.index(
        alarm.status
    ):
        return False
    previous = alarm.status
    alarm.status = status
    await session.flush()
    await record(session, alarm.id, status, now, user=user, data={"from": previous, **(data or {})})
    return True


async def close(
    session: AsyncSession,
    alarm: Alarm,
    now: datetime,
    outcome_code: str,
    *,
    user: User | None = None,
    note: str | None = None,
    actor: str = "system",
) -> Alarm:
    """Close a locked, open alarm with an outcome; the closing hooks run first (requests nobody
    took up are cancelled) and what they did is kept on the closing event."""
    done = await hooks.closing(session, alarm, now)
    previous = alarm.status
    alarm.status = "closed"
    alarm.closed_at = now
    alarm.closed_by_id = user.id if user is not None else None
    alarm.outcome_code = outcome_code
    alarm.outcome_note = note
    await session.flush()
    data: dict[str, Any] = {"from": previous, "outcome_code": outcome_code, **done}
    if note is not None:
        data["note"] = note
    await record(session, alarm.id, "closed", now, user=user, actor=actor, data=data)
    await publish(session, alarm, "closed")
    return alarm


async def reassign(
    session: AsyncSession,
    alarm: Alarm,
    to: User | None,
    now: datetime,
    *,
    by: User,
    reason: str | None = None,
) -> Alarm:
    """A supervisor moves a locked, open, held alarm to another operator (``to``), or releases it
    back to the queue (``to`` None: waiting again for anyone, its tasks and log kept)."""
    previous = alarm.accepted_by_id
    if to is None:
        alarm.status = "queued"
        alarm.accepted_by_id = None
        type_ = "released"
    else:
        alarm.accepted_by_id = to.id
        type_ = "reassigned"
    await session.flush()
    data: dict[str, Any] = {"from_user_id": previous, "to_user_id": to.id if to else None}
    if to is not None:
        data["to"] = to.full_name[:64]
    if reason:
        data["reason"] = reason
    await record(session, alarm.id, type_, now, user=by, data=data)
    await publish(session, alarm)
    return alarm

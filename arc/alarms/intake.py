"""Alarms raised by units and by supervision: open a new one or attach to the unit's open one.

Every change appends an ``AlarmEvent`` (actor ``unit`` or ``system``) and emits a
live event (``alarm.opened`` / ``alarm.updated`` / ``alarm.closed``) whose payload
is the alarm summary. Callers flush and commit; nothing here commits.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from arc.alarms.models import Alarm, AlarmEvent
from arc.alarms.priority import classify
from arc.alarms.views import alarm_summary
from arc.auth.models import User
from arc.live.events import emit
from arc.registry.models import Connection, Customer
from arc.registry.units import Peripheral
from devices.protocol import GeoFix, Mrq, device_type_name, status_name
from devices.protocol.codes import Snu, StatusCategory, status_category

# Alarms a new activation from the same unit attaches to (technical alarms never swallow a person's call).
ATTACHABLE_KINDS = ("activation", "unknown_unit")
TECHNICAL_TITLES = {
    "no_comms": "No communication from unit",
    "mains_failure": "Mains power failure",
    "battery_low": "Battery low",
    "link_failure": "Link failure",
    "tamper": "Tamper",
    "temperature": "Temperature extreme",
    "radio_test_missing": "Radio test missing",
}
FIX_CLOCK_SLACK = timedelta(minutes=5)  # a GPS fix time further ahead of the ARC's clock is not believed
_LOCK_CLASS = 0x1A1A  # advisory lock class: one alarm decision per unit at a time


@dataclass(frozen=True)
class Source:
    """Who an alarm is about: the cid, and the registered unit / customer when known."""

    cid: str
    unit_id: int | None
    customer_id: int | None

    @property
    def unknown(self) -> bool:
        return self.unit_id is None


async def source_for(session: AsyncSession, cid: str, unit_id: int | None) -> Source:
    customer_id = None
    if unit_id is not None:
        customer_id = await session.scalar(
            select(Connection.customer_id)
            .where(Connection.unit_id == unit_id, Connection.status != "withdrawn")
            .limit(1)
        )
    return Source(cid=cid, unit_id=unit_id, customer_id=customer_id)


async def lock_unit(session: AsyncSession, cid: str) -> None:
    """Serialise open-or-attach decisions for one unit across processes (held until COMMIT)."""
    await session.execute(select(func.pg_advisory_xact_lock(_LOCK_CLASS, func.hashtext(cid))))


def hold_or_ok(alarm: Alarm | None) -> int:
    """The answer an alarm session has now: HOLD while it waits for an operator, else OK."""
    return Snu.HOLD if alarm is not None and alarm.status == "queued" else Snu.OK


def _bounded(value: str | None, length: int) -> str | None:
    """A unit's free text cut to its column (the full message stays on the inbox row and in the log)."""
    return value[:length] if value is not None else None


def _title(mrq: Mrq, location: str | None, unknown: bool) -> str:
    device = device_type_name(mrq.dty)
    parts = [device[:1].upper() + device[1:]]
    if location:
        parts.append(location)
    elif mrq.stc and status_category(mrq.stc) != StatusCategory.ALARM:
        parts.append(status_name(mrq.stc))
    title = " — ".join(parts)
    return f"Unknown unit {mrq.cid}: {title}" if unknown else title


def _details(mrq: Mrq) -> dict[str, Any]:
    """What the unit said, for the event log (codes and device text; no personal data is sent by units)."""
    data: dict[str, Any] = {"ref": mrq.ref, "mty": mrq.mty, "dty": mrq.dty}
    for name in ("stc", "did", "dco", "dte", "stt", "lco", "lva", "lte", "cha"):
        value = getattr(mrq, name)
        if value is not None:
            data[name] = value
    if mrq.stc:
        data["status_text"] = status_name(mrq.stc)
    data["device_type"] = device_type_name(mrq.dty)
    if mrq.crd:
        data["crd"] = list(mrq.crd)
    if mrq.lge:
        data["lge"] = mrq.lge.to_dict()
    if mrq.tim:
        data["tim"] = mrq.tim.isoformat()
    return data


def _apply_geo(alarm: Alarm, fix: GeoFix | None, now: datetime) -> None:
    """Move the alarm to a GPS fix, unless it is older than the one shown (updates can arrive out of
    order). A fix time ahead of the ARC's clock is a unit clock error: the fix counts as taken now."""
    if fix is None:
        return
    at = fix.tim if fix.tim is not None and fix.tim <= now + FIX_CLOCK_SLACK else now
    if alarm.geo_at is not None and at < alarm.geo_at:
        return
    alarm.geo_lat, alarm.geo_lon, alarm.geo_at = fix.lat, fix.lon, at


def _apply_caller(alarm: Alarm, mrq: Mrq) -> None:
    if mrq.callback_requested:
        alarm.callback_requested = True
    if mrq.crd:
        alarm.caller_ids = list(dict.fromkeys([*(alarm.caller_ids or []), *mrq.crd]))


async def add_event(
    session: AsyncSession,
    alarm: Alarm,
    type_: str,
    now: datetime,
    *,
    actor: str = "unit",
    data: dict | None = None,
) -> AlarmEvent:
    event = AlarmEvent(alarm_id=alarm.id, at=now, type=type_, actor=actor, data=data or {})
    session.add(event)
    return event


async def publish(session: AsyncSession, alarm: Alarm, kind: str) -> None:
    """Emit ``alarm.<kind>`` with the alarm summary; heard by dashboards after COMMIT."""
    await session.flush()
    customer = await session.get(Customer, alarm.customer_id) if alarm.customer_id else None
    accepted_by = await session.get(User, alarm.accepted_by_id) if alarm.accepted_by_id else None
    await emit(session, f"alarm.{kind}", alarm_summary(alarm, customer, accepted_by), alarm_id=alarm.id)


async def open_unit_alarm(session: AsyncSession, cid: str, kinds: tuple[str, ...], stc: str | None = None):
    query = select(Alarm).where(Alarm.cid == cid, Alarm.status != "closed", Alarm.kind.in_(kinds))
    if stc is not None:
        query = query.where(Alarm.stc == stc)
    return await session.scalar(
        query.order_by(Alarm.raised_at.desc(), Alarm.id.desc()).limit(1).with_for_update()
    )


async def _location(session: AsyncSession, source: Source, mrq: Mrq, now: datetime) -> str | None:
    if mrq.lte:
        return mrq.lte[:200]
    if source.unit_id is None or not mrq.did:
        return None
    peripheral = await session.scalar(
        select(Peripheral).where(Peripheral.unit_id == source.unit_id, Peripheral.did == mrq.did)
    )
    if peripheral is None:
        return None
    peripheral.last_seen_at = now
    return peripheral.location_text


async def open_or_attach(
    session: AsyncSession,
    source: Source,
    mrq: Mrq,
    now: datetime,
    overrides: dict[str, int],
    *,
    session_alarm: Alarm | None = None,
) -> tuple[Alarm, str]:
    """An activation: attach to the unit's open alarm, else open a new one. Returns (alarm, action).

    ``session_alarm`` is an alarm already tied to this ref (an ``IN``/``RE`` that came first);
    the activation then joins it without counting as a repeat.
    """
    await lock_unit(session, source.cid)
    if session_alarm is not None and session_alarm.status != "closed":
        await add_event(session, session_alarm, "received", now, data=_details(mrq))
        _apply_geo(session_alarm, mrq.lge, now)
        _apply_caller(session_alarm, mrq)
        await publish(session, session_alarm, "updated")
        return session_alarm, "alarm_joined_session"
    kind = "unknown_unit" if source.unknown else "activation"
    rank = classify(mrq.dty, mrq.stc, kind=kind, overrides=overrides)
    existing = await open_unit_alarm(session, source.cid, ATTACHABLE_KINDS)
    if existing is not None:
        existing.activation_count += 1
        existing.last_activation_at = now
        if rank.rank < existing.priority:
            existing.priority = rank.rank
        _apply_geo(existing, mrq.lge, now)
        _apply_caller(existing, mrq)
        await add_event(session, existing, "repeat", now, data=_details(mrq))
        await publish(session, existing, "updated")
        return existing, "alarm_attached"
    location = await _location(session, source, mrq, now)
    alarm = _queued(
        source,
        rank,
        kind,
        now,
        ref=mrq.ref,
        dty=mrq.dty,
        stc=mrq.stc,
        did=mrq.did,
        dco=_bounded(mrq.dco, 64),
        title=_title(mrq, location, source.unknown),
        location_text=location,
    )
    _apply_geo(alarm, mrq.lge, now)
    _apply_caller(alarm, mrq)
    await _open(session, alarm, now, "received", data=_details(mrq))
    return alarm, "alarm_opened"


def _queued(source, rank, kind: str, now: datetime, *, did: str | None, title: str, **fields) -> Alarm:
    """A new alarm waiting for an operator, for ``source`` at ``rank``."""
    return Alarm(
        cid=source.cid,
        unit_id=source.unit_id,
        customer_id=source.customer_id,
        unknown_unit=source.unknown,
        category=rank.category,
        kind=kind,
        priority=rank.rank,
        status="queued",
        did=_bounded(did, 64),
        title=title[:200],
        raised_at=now,
        last_activation_at=now,
        activation_count=1,
        caller_ids=[],
        **fields,
    )


async def _open(session: AsyncSession, alarm: Alarm, now: datetime, event: str, **event_kw) -> None:
    session.add(alarm)
    await session.flush()
    await add_event(session, alarm, event, now, **event_kw)
    await publish(session, alarm, "opened")


async def close_automatically(session: AsyncSession, alarm: Alarm, now: datetime, outcome: str) -> None:
    alarm.status = "closed"
    alarm.closed_at = now
    alarm.outcome_code = outcome
    await add_event(session, alarm, "closed", now, actor="system", data={"outcome": outcome})
    await publish(session, alarm, "closed")


async def record_reset(session: AsyncSession, alarm: Alarm, mrq: Mrq, now: datetime, *, close: bool) -> None:
    """`RE`: the event was reset at the unit. Recorded and visible; the alarm stays for an operator
    unless ``close`` (LIFELINE_CLOSE_ON_RESET) and nobody has accepted it yet."""
    alarm.reset_at_unit_at = now
    await add_event(session, alarm, "reset_at_unit", now, data=_details(mrq))
    if alarm.status == "closed":
        return
    if close and alarm.status == "queued":
        await close_automatically(session, alarm, now, "reset_at_unit")
    else:
        await publish(session, alarm, "updated")


async def record_info(session: AsyncSession, alarm: Alarm, mrq: Mrq, now: datetime) -> None:
    """`IN`: more information about the event (e.g. a new GPS fix)."""
    _apply_geo(alarm, mrq.lge, now)
    _apply_caller(alarm, mrq)
    await add_event(session, alarm, "info", now, data=_details(mrq))
    if alarm.status != "closed":
        await publish(session, alarm, "updated")


async def raise_technical(
    session: AsyncSession,
    source: Source,
    kind: str,
    now: datetime,
    overrides: dict[str, int],
    *,
    mrq: Mrq | None = None,
    actor: str = "unit",
) -> tuple[Alarm, str]:
    """A technical fault (no-comms, mains, battery, link, tamper...): one open alarm per unit,
    kind and status code; a repeat attaches to it."""
    await lock_unit(session, source.cid)
    stc = mrq.stc if mrq else None
    details = _details(mrq) if mrq else {}
    existing = await open_unit_alarm(session, source.cid, (kind,), stc)
    if existing is not None:
        existing.activation_count += 1
        existing.last_activation_at = now
        await add_event(session, existing, "repeat", now, actor=actor, data=details)
        await publish(session, existing, "updated")
        return existing, "technical_attached"
    rank = classify(mrq.dty if mrq else None, stc, kind=kind, overrides=overrides)
    title = TECHNICAL_TITLES.get(kind, kind.replace("_", " ").capitalize())
    if mrq is not None and mrq.stc:
        title = f"{title} — {status_name(mrq.stc)}" if kind in ("link_failure", "temperature") else title
        if kind == "battery_low" and mrq.did:
            title = f"{title} — {device_type_name(mrq.dty)}"
    if source.unknown:
        title = f"Unknown unit {source.cid}: {title}"
    alarm = _queued(
        source,
        rank,
        kind,
        now,
        ref=mrq.ref if mrq else None,
        dty=mrq.dty if mrq else None,
        stc=stc,
        did=mrq.did if mrq else None,
        title=title,
    )
    await _open(session, alarm, now, "received" if mrq else "raised", actor=actor, data=details)
    return alarm, "technical_opened"


async def clear_technical(
    session: AsyncSession,
    cid: str,
    kind: str,
    now: datetime,
    *,
    stc: str | None = None,
    data: dict | None = None,
) -> Alarm | None:
    """The fault is over (unit heard again, mains / link restored). A queued alarm closes by itself;
    one an operator holds gets a ``restored`` event and stays theirs."""
    alarm = await open_unit_alarm(session, cid, (kind,), stc)
    if alarm is None:
        return None
    await add_event(session, alarm, "restored", now, actor="system", data=data or {})
    if alarm.status == "queued":
        await close_automatically(session, alarm, now, "restored")
    else:
        await publish(session, alarm, "updated")
    return alarm

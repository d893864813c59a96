"""Alarms raised by units and by supervision: open a new one or attach to the unit's open one.

The decisions live here (which alarm an activation joins, its rank and title); every write
goes through ``arc/alarms/write.py``. When a second device (or a second status) joins an open
alarm, its log says which device and what it reported, and the alarm takes the category, rank
and title of its most urgent activation ("Smoke detector + pendant"). Technical faults (mains,
link, battery, no-comms...) are raised and cleared in ``arc/alarms/technical.py`` on top of this.
Nothing here commits.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from arc.alarms import write
from arc.alarms.models import Alarm
from arc.alarms.priority import PERSONAL, Classification, classify
from arc.kit.db import driver, from_row, innermost_transaction
from arc.registry.units import Unit
from devices.protocol import GeoFix, Mrq, device_type_name, status_name
from devices.protocol.codes import Snu, StatusCategory, status_category

log = logging.getLogger(__name__)

# Alarms a new activation from the same unit attaches to (technical alarms never swallow a person's call).
ATTACHABLE_KINDS = ("activation", "unknown_unit")
FIX_CLOCK_SLACK = timedelta(minutes=5)  # a GPS fix time further ahead of the ARC's clock is not believed
_LOCK_CLASS = 0x1A1A  # advisory lock class: one alarm decision per unit at a time


@dataclass(frozen=True)
class CustomerBrief:
    """The customer an alarm is about, as the queue shows them (``views.alarm_summary``)."""

    id: int
    given_name: str
    family_name: str
    postcode: str


@dataclass(frozen=True)
class Source:
    """Who an alarm is about: the cid, and the registered unit / customer when known."""

    cid: str
    unit_id: int | None
    customer_id: int | None
    customer: CustomerBrief | None = None

    @property
    def unknown(self) -> bool:
        return self.unit_id is None


# The hot path of every alarm, on the session's bare connection (arc.kit.db.driver).
_CUSTOMER_OF_UNIT = """
    SELECT c.id, c.given_name, c.family_name, c.postcode
    FROM connections AS k JOIN customers AS c ON c.id = k.customer_id
    WHERE k.unit_id = $1 AND k.status <> 'withdrawn' LIMIT 1
"""


async def source_for(session: AsyncSession, cid: str, unit_id: int | None) -> Source:
    if unit_id is None:
        return Source(cid=cid, unit_id=None, customer_id=None)
    row = await (await driver(session)).fetchrow(_CUSTOMER_OF_UNIT, unit_id)
    customer = CustomerBrief(**row) if row is not None else None
    return Source(cid=cid, unit_id=unit_id, customer_id=customer.id if customer else None, customer=customer)


_LOCK_UNIT = f"SELECT pg_advisory_xact_lock({_LOCK_CLASS}, hashtext($1))"


async def lock_unit(session: AsyncSession, cid: str) -> None:
    """Serialise open-or-attach decisions for one unit across processes (held until COMMIT).

    Taken once per transaction: the ingest locks a batch's units up front, in one order, and the
    decisions below it ask again; a lock already held costs no round trip."""
    # the innermost transaction: a lock taken inside a savepoint that is rolled back is released
    held = session.info.setdefault("unit_locks", {})
    if held.get(cid) is innermost_transaction(session):
        return
    await (await driver(session)).execute(_LOCK_UNIT, cid)
    held[cid] = innermost_transaction(session)  # begun by driver() if this was the first statement


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


def details_of(mrq: Mrq) -> dict[str, Any]:
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


_OPEN_ALARM = """
    SELECT * FROM alarms WHERE cid = $1 AND status <> 'closed' AND kind = ANY($2::varchar[]) {and_stc}
    ORDER BY raised_at DESC, id DESC LIMIT 1 FOR UPDATE
"""
_OPEN_ALARM_ANY, _OPEN_ALARM_STC = _OPEN_ALARM.format(and_stc=""), _OPEN_ALARM.format(and_stc="AND stc = $3")


async def open_unit_alarm(session: AsyncSession, cid: str, kinds: tuple[str, ...], stc: str | None = None):
    """The unit's latest open alarm of one of ``kinds`` (and status code ``stc``), locked."""
    raw = await driver(session)
    if stc is None:
        row = await raw.fetchrow(_OPEN_ALARM_ANY, cid, list(kinds))
    else:
        row = await raw.fetchrow(_OPEN_ALARM_STC, cid, list(kinds), stc)
    return from_row(session, Alarm, row) if row is not None else None


_PERIPHERAL_SEEN = """
    UPDATE peripherals SET last_seen_at = $3, updated_at = now() WHERE unit_id = $1 AND did = $2
    RETURNING location_text
"""


async def _location(session: AsyncSession, source: Source, mrq: Mrq, now: datetime) -> str | None:
    """Where the device that raised it is (the unit's text, else the registered peripheral's); the
    peripheral is marked seen."""
    if mrq.lte:
        return mrq.lte[:200]
    if source.unit_id is None or not mrq.did:
        return None
    row = await (await driver(session)).fetchrow(_PERIPHERAL_SEEN, source.unit_id, mrq.did, now)
    return row["location_text"] if row is not None else None


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
        _apply_geo(session_alarm, mrq.lge, now)
        _apply_caller(session_alarm, mrq)
        await write.note_update(session, session_alarm, "received", now, actor="unit", data=details_of(mrq))
        return session_alarm, "alarm_joined_session"
    kind = "unknown_unit" if source.unknown else "activation"
    rank = classify(mrq.dty, mrq.stc, kind=kind, overrides=overrides)
    existing = await open_unit_alarm(session, source.cid, ATTACHABLE_KINDS)
    location = await _location(session, source, mrq, now)
    if existing is not None:
        _apply_geo(existing, mrq.lge, now)
        _apply_caller(existing, mrq)
        details = details_of(mrq)
        if location:
            details["location_text"] = location
        await write.add_activation(
            session,
            existing,
            now,
            data=details,
            rank=rank.rank,
            category=rank.category,
            title=_joined_title(existing, mrq, rank, location),
            leader={
                "dty": mrq.dty,
                "stc": mrq.stc,
                "did": _bounded(mrq.did, 64),
                "dco": _bounded(mrq.dco, 64),
                "location_text": location,
            },
        )
        return existing, "alarm_attached"
    alarm = queued_alarm(
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
    await write.open_alarm(session, alarm, now, data=details_of(mrq), customer=source.customer)
    return alarm, "alarm_opened"


def _device_label(mrq: Mrq, location: str | None) -> str:
    device = device_type_name(mrq.dty)
    return f"{device} — {location}" if location else device


def _joined_title(alarm: Alarm, mrq: Mrq, rank: Classification, location: str | None) -> str | None:
    """The title once another device joins: the most urgent activation first
    ("Smoke detector — kitchen + pendant"); None when that device is already in it."""
    device = device_type_name(mrq.dty)
    if device.lower() in alarm.title.lower():
        return None
    label = _device_label(mrq, location)
    prefix = f"Unknown unit {alarm.cid}: " if alarm.unknown_unit else ""
    current = alarm.title.removeprefix(prefix)
    if rank.rank < alarm.priority:
        joined = f"{label[:1].upper()}{label[1:]} + {current[:1].lower()}{current[1:]}"
    else:
        joined = f"{current} + {label}"
    return f"{prefix}{joined}"


def queued_alarm(source, rank, kind: str, now: datetime, *, did: str | None, title: str, **fields) -> Alarm:
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


async def close_automatically(session: AsyncSession, alarm: Alarm, now: datetime, outcome: str) -> None:
    await write.close(session, alarm, now, outcome, actor="system")


async def record_reset(session: AsyncSession, alarm: Alarm, mrq: Mrq, now: datetime, *, close: bool) -> None:
    """`RE`: the event was reset at the unit. Recorded and visible; the alarm stays for an operator
    unless ``close`` (LIFELINE_CLOSE_ON_RESET) and nobody has accepted it yet."""
    alarm.reset_at_unit_at = now
    closing = close and alarm.status == "queued"
    await write.note_update(
        session, alarm, "reset_at_unit", now, actor="unit", data=details_of(mrq), announce=not closing
    )
    if closing:
        await close_automatically(session, alarm, now, "reset_at_unit")


async def record_info(session: AsyncSession, alarm: Alarm, mrq: Mrq, now: datetime) -> None:
    """`IN`: more information about the event (e.g. a new GPS fix)."""
    _apply_geo(alarm, mrq.lge, now)
    _apply_caller(alarm, mrq)
    await write.note_update(session, alarm, "info", now, actor="unit", data=details_of(mrq))


BARE_TITLE = "Message from unit {cid} could not be processed — check the unit"


async def open_bare(
    session: AsyncSession, mrq: Mrq, now: datetime, overrides: dict[str, int], error_name: str
) -> Alarm:
    """The last resort for a message that keeps breaking triage: an alarm an operator will see,
    at least as urgent as a person's call, still tied to the registered unit and customer when
    they can be read (so the card shows the person, plan and key safe)."""
    source = Source(cid=mrq.cid, unit_id=None, customer_id=None)
    try:
        async with session.begin_nested():
            unit_id = await session.scalar(select(Unit.id).where(Unit.cid == mrq.cid))
            source = await source_for(session, mrq.cid, unit_id)
    except Exception as exc:  # the registry cannot be read: the alarm still goes to an operator
        log.error("bare alarm for cid %s: registry lookup failed (%s)", mrq.cid, type(exc).__name__)
    rank = classify(mrq.dty, mrq.stc, kind="activation", overrides=overrides)
    alarm = queued_alarm(
        source,
        Classification(rank.category, min(rank.rank, PERSONAL)),
        "activation",
        now,
        ref=mrq.ref,
        dty=mrq.dty,
        stc=mrq.stc,
        did=mrq.did,
        title=BARE_TITLE.format(cid=mrq.cid),
    )
    alarm.unknown_unit = False  # a unit we could not look up is not known to be unknown
    alarm.caller_ids = list(mrq.crd)
    await write.open_alarm(
        session, alarm, now, data={"ref": mrq.ref, "error": error_name}, customer=source.customer
    )
    return alarm

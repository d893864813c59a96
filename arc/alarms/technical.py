"""Technical alarms: a fault at a unit (no communication, mains, battery, link, tamper,
temperature, a missing radio test) raised, repeated and cleared — one open alarm per unit, kind
and status code. Decisions here; every write through ``arc/alarms/write.py`` (via ``intake``'s
shared helpers). Nothing here commits.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from arc.alarms import write
from arc.alarms.intake import (
    Source,
    close_automatically,
    details_of,
    lock_unit,
    open_unit_alarm,
    queued_alarm,
)
from arc.alarms.models import Alarm
from arc.alarms.priority import classify
from devices.protocol import Mrq, device_type_name, status_name

TECHNICAL_TITLES = {
    "no_comms": "No communication from unit",
    "mains_failure": "Mains power failure",
    "battery_low": "Battery low",
    "link_failure": "Link failure",
    "tamper": "Tamper",
    "temperature": "Temperature extreme",
    "radio_test_missing": "Radio test missing",
}


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
    details = details_of(mrq) if mrq else {}
    existing = await open_unit_alarm(session, source.cid, (kind,), stc)
    if existing is not None:
        await write.add_activation(session, existing, now, data=details, event="repeat", actor=actor)
        return existing, "technical_attached"
    rank = classify(mrq.dty if mrq else None, stc, kind=kind, overrides=overrides)
    title = TECHNICAL_TITLES.get(kind, kind.replace("_", " ").capitalize())
    if mrq is not None and mrq.stc:
        title = f"{title} — {status_name(mrq.stc)}" if kind in ("link_failure", "temperature") else title
        if kind == "battery_low" and mrq.did:
            title = f"{title} — {device_type_name(mrq.dty)}"
    if source.unknown:
        title = f"Unknown unit {source.cid}: {title}"
    alarm = queued_alarm(
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
    await write.open_alarm(
        session,
        alarm,
        now,
        event="received" if mrq else "raised",
        actor=actor,
        data=details,
        customer=source.customer,
    )
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
    queued = alarm.status == "queued"
    await write.note_update(session, alarm, "restored", now, actor="system", data=data, announce=not queued)
    if queued:
        await close_automatically(session, alarm, now, "restored")
    return alarm

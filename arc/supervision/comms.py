"""Comms state per unit: last heard, heartbeats, tests, hbo/hbi, link / mains / battery / tamper.

Every message from a unit is a sign of life (heartbeats, alarms, statuses and
retransmissions alike). ``mark_heard`` records a whole batch in one UPDATE and
clears the no-comms alarm of any unit that was silent.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import NamedTuple

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from arc.alarms import intake, technical
from arc.kit.db import driver
from arc.kit.settings import Settings
from arc.registry.units import Peripheral, Unit
from devices.protocol import Mrq

# status code -> (alarm kind, unit attribute it sets, value)
FAILURES: dict[str, tuple[str, str | None, object]] = {
    "0016": ("battery_low", "battery_low", True),
    "0023": ("link_failure", "ip_link", "failed"),
    "0024": ("link_failure", "mobile_link", "failed"),
    "0026": ("link_failure", None, None),
    "0027": ("link_failure", None, None),
    "0085": ("mains_failure", "mains", "failed"),
    "0100": ("temperature", None, None),
    "0101": ("temperature", None, None),
    "0123": ("radio_test_missing", None, None),
    "0125": ("tamper", "tamper", True),
}
# restore code -> (failure code it clears, unit attribute, value)
RESTORES: dict[str, tuple[str, str, str]] = {
    "0112": ("0023", "ip_link", "ok"),
    "0113": ("0024", "mobile_link", "ok"),
    "0086": ("0085", "mains", "ok"),
}


class UnitRow(NamedTuple):
    """What the ingest needs to know about a unit, loaded once per batch (a tuple: one is made for
    every unit heard, half the cost of a frozen dataclass)."""

    id: int
    cid: str
    heartbeat_interval_minutes: int | None
    comms_state: str


@dataclass
class Heard:
    """Signs of life in one batch, by cid."""

    cids: set[str] = field(default_factory=set)
    heartbeats: set[str] = field(default_factory=set)
    tests: set[str] = field(default_factory=set)
    accepts_hbi: set[str] = field(default_factory=set)


def interval_minutes(unit: UnitRow | None, settings: Settings) -> int:
    """The heartbeat interval the ARC wants from this unit (its own setting, else the default)."""
    if unit is not None and unit.heartbeat_interval_minutes:
        return unit.heartbeat_interval_minutes
    return settings.heartbeat_interval_minutes


def hbi_for(mrq: Mrq, unit: UnitRow | None, settings: Settings) -> int | None:
    """`hbi` goes only to a unit that sent `hbo: "001"`."""
    return interval_minutes(unit, settings) if mrq.accepts_hbi else None


# One UPDATE for the whole batch; the units travel as one JSON array of [cid, heartbeat, test, hbo]
# (one text to send: asyncpg checks every element of an array parameter against abstract base
# classes); rows are locked in id order so concurrent batches never deadlock on units. Times never
# move back: a batch that started earlier but commits later (a slow database) must not make a unit
# look silent.
_HEARD_SQL = """
    WITH heard AS (
        SELECT h->>0 AS cid, (h->>1)::boolean AS heartbeat, (h->>2)::boolean AS test, (h->>3)::boolean AS hbo
        FROM jsonb_array_elements($1::jsonb) AS h
    ), old AS (
        SELECT units.id, units.comms_state, heard.heartbeat, heard.test, heard.hbo
        FROM units JOIN heard ON heard.cid = units.cid ORDER BY units.id FOR UPDATE OF units
    )
    UPDATE units AS u SET
        last_heard_at = GREATEST(u.last_heard_at, $2),
        comms_state = 'ok',
        last_heartbeat_at = CASE WHEN old.heartbeat THEN GREATEST(u.last_heartbeat_at, $2)
                                 ELSE u.last_heartbeat_at END,
        last_test_at = CASE WHEN old.test THEN GREATEST(u.last_test_at, $2) ELSE u.last_test_at END,
        accepts_hbi = u.accepts_hbi OR old.hbo
    FROM old WHERE u.id = old.id
    RETURNING u.id, u.cid, u.heartbeat_interval_minutes, old.comms_state
"""


_ENCODE = json.JSONEncoder(separators=(",", ":")).encode


async def mark_heard(session: AsyncSession, heard: Heard, now: datetime) -> dict[str, UnitRow]:
    """Record a batch's signs of life in one UPDATE and clear the no-comms alarm of any unit that
    was silent. Returns the registered units among them (unknown cids are simply absent)."""
    if not heard.cids:
        return {}
    beats, tests, hbo = heard.heartbeats, heard.tests, heard.accepts_hbi
    units_heard = [[cid, cid in beats, cid in tests, cid in hbo] for cid in sorted(heard.cids)]
    rows = await (await driver(session)).fetch(_HEARD_SQL, _ENCODE(units_heard), now)
    units = {row[1]: UnitRow(row[0], row[1], row[2], "ok") for row in rows}
    for cid in sorted(row[1] for row in rows if row[3] == "no_comms"):
        await technical.clear_technical(session, cid, "no_comms", now, data={"reason": "unit heard again"})
    return units


async def on_technical_status(
    session: AsyncSession, source: intake.Source, mrq: Mrq, now: datetime, settings: Settings
) -> tuple[str, int | None]:
    """A technical status (`stc` 0016, 0023/0112, 0085/0086, 0125...): update the unit's state and
    raise or clear the matching technical alarm. Returns (action, alarm id)."""
    stc = mrq.stc or ""
    unit = await session.get(Unit, source.unit_id) if source.unit_id is not None else None
    if stc in RESTORES:
        failure, attribute, value = RESTORES[stc]
        if unit is not None:
            setattr(unit, attribute, value)
        kind = FAILURES[failure][0]
        alarm = await technical.clear_technical(
            session, source.cid, kind, now, stc=failure, data={"ref": mrq.ref, "stc": stc}
        )
        return "restored", alarm.id if alarm else None
    kind, attribute, value = FAILURES.get(stc, ("technical", None, None))
    if unit is not None and attribute is not None:
        target: object = unit
        if attribute == "battery_low" and mrq.did:
            peripheral = await session.scalar(
                select(Peripheral).where(Peripheral.unit_id == unit.id, Peripheral.did == mrq.did)
            )
            target = peripheral or unit
        setattr(target, attribute, value)
    alarm, action = await technical.raise_technical(
        session, source, kind, now, settings.priority_overrides, mrq=mrq
    )
    return action, alarm.id

"""Demo history: months of believable calls for the demo's people, so the TEC pages show flags
and charts a minute after ``lifeline demo`` starts. Fictional, seeded (the same every time),
idempotent (a person who already has demo history is left alone).

Who is who (the demo registry's order, arc/seed.py): a frequent caller, one whose falls are
rising, one developing a cluster now, one who is improving, and two quiet people (one of them
with an ageing unit: battery and no-comms faults).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from arc.alarms.models import Alarm, AlarmEvent
from arc.dispatch.models import ResponseTask
from arc.registry.models import Connection
from arc.registry.units import Unit

WEEKS = 39
REF_PREFIX = "H"  # demo history refs: H<customer>-<n>


@dataclass(frozen=True)
class Pattern:
    """Calls a week (pendant, falls) before and after the change ``change_weeks`` ago."""

    pendant: tuple[float, float]
    falls: tuple[float, float] = (0.0, 0.0)
    change_weeks: int = 9
    burst_hours: int = 0  # a burst of presses in the last N hours
    false_share: float = 0.1
    technical: int = 0  # battery / no-comms faults in the last month


PATTERNS = [
    Pattern(pendant=(1.0, 3.2)),  # a frequent caller
    Pattern(pendant=(0.3, 0.3), falls=(0.08, 1.1)),  # falls rising
    Pattern(pendant=(0.4, 0.4), burst_hours=30),  # a cluster developing now
    Pattern(pendant=(3.5, 0.15), change_weeks=11),  # improving
    Pattern(pendant=(0.2, 0.2), false_share=0.4),  # quiet
    Pattern(pendant=(0.3, 0.3), technical=4),  # quiet, ageing unit
]
PHONE_OUTCOMES = ["assistance_by_phone", "assistance_by_phone", "family_attended", "ers_attended"]
FALL_OUTCOMES = ["ers_attended", "ers_attended", "ambulance_called", "family_attended"]


def _times(rng: random.Random, per_week: float, start: datetime, end: datetime) -> list[datetime]:
    """A Poisson process at ``per_week`` between ``start`` and ``end`` (daytime-heavy)."""
    out, t = [], start
    if per_week <= 0:
        return out
    while True:
        t += timedelta(weeks=rng.expovariate(per_week))
        if t >= end:
            return out
        hour_shift = timedelta(hours=rng.choice([0, 0, 0, -6, 6]))
        out.append(min(max(t + hour_shift, start), end))


def _calls(rng: random.Random, p: Pattern, now: datetime) -> list[tuple[datetime, str, str]]:
    """(raised at, device type, kind) for one person."""
    begin, change = now - timedelta(weeks=WEEKS), now - timedelta(weeks=p.change_weeks)
    calls = []
    for dty, (before, after) in (("0003", p.pendant), ("0005", p.falls)):
        calls += [(t, dty, "activation") for t in _times(rng, before, begin, change)]
        calls += [(t, dty, "activation") for t in _times(rng, after, change, now - timedelta(hours=2))]
    if p.burst_hours:
        calls += [(now - timedelta(hours=h), "0003", "activation") for h in (1.5, 4, 7, 11, 19, 26)]
    for n in range(p.technical):
        calls.append((now - timedelta(days=3 + 6 * n), "0001", "battery_low" if n % 2 else "no_comms"))
    return sorted(calls)


def _alarm(rng, p: Pattern, connection, cid: str, n: int, at: datetime, dty: str, kind: str) -> Alarm:
    technical = kind != "activation"
    if technical:
        outcome = "restored"
    elif dty == "0005":
        outcome = rng.choice(FALL_OUTCOMES)
    else:
        outcome = "false_alarm" if rng.random() < p.false_share else rng.choice(PHONE_OUTCOMES)
    answered = at + timedelta(seconds=rng.choice([15, 25, 35, 45, 55, 70, 120]))
    return Alarm(
        cid=cid,
        unit_id=connection.unit_id,
        customer_id=connection.customer_id,
        category="technical" if technical else "personal",
        kind=kind,
        priority=40 if technical else (10 if dty == "0005" else 20),
        status="closed",
        ref=f"{REF_PREFIX}{connection.customer_id}-{n}",
        dty=None if technical else dty,
        stc=None if technical else ("0009" if dty == "0005" else "0010"),
        did="F1" if dty == "0005" else ("P1" if not technical else None),
        title={"0005": "Fall detector", "0003": "Pendant / personal trigger"}.get(
            dty, kind.replace("_", " ")
        ),
        raised_at=at,
        last_activation_at=at,
        activation_count=1,
        caller_ids=[],
        accepted_at=None if technical else answered,
        closed_at=answered + timedelta(minutes=rng.choice([4, 8, 15, 40])),
        outcome_code=outcome,
    )


async def seed_history(session: AsyncSession, cids: list[str], now: datetime) -> int:
    """Give the people on units ``cids`` (in the demo's order) their history; returns alarms added.
    Their connections are dated back to the start of it, so the history lies within the service."""
    added = 0
    for index, cid in enumerate(cids[: len(PATTERNS)]):
        connection = await session.scalar(
            select(Connection)
            .join(Unit, Unit.id == Connection.unit_id)
            .where(Unit.cid == cid, Connection.status != "withdrawn")
            .limit(1)
        )
        if connection is None:
            continue
        seeded = await session.scalar(
            select(Alarm.id).where(
                Alarm.customer_id == connection.customer_id, Alarm.ref.like(f"{REF_PREFIX}%")
            )
        )
        if seeded is not None:
            continue
        begin = (now - timedelta(weeks=WEEKS)).date()
        if connection.install_date > begin:
            connection.install_date = connection.activated_on = begin
        rng = random.Random(1000 + index)
        pattern = PATTERNS[index]
        for n, (at, dty, kind) in enumerate(_calls(rng, pattern, now)):
            alarm = _alarm(rng, pattern, connection, cid, n, at, dty, kind)
            session.add(alarm)
            await session.flush()
            session.add(AlarmEvent(alarm_id=alarm.id, at=at, type="received", actor="unit", data={}))
            if alarm.outcome_code == "ers_attended":
                session.add(
                    ResponseTask(
                        alarm_id=alarm.id,
                        kind="ers",
                        status="done",
                        requested_at=alarm.accepted_at,
                        accepted_at=alarm.accepted_at,
                        arrived_at=alarm.accepted_at + timedelta(minutes=22),
                        done_at=alarm.closed_at,
                    )
                )
            added += 1
    await session.flush()
    return added

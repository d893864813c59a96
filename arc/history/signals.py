"""What an alarm row means for the read side: a person's call, genuine or not, a fall, a technical
fault — and the queries that load a person's signals. One classification, used by the flags,
the call history, the charts and the reports."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import and_, case, func, not_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from arc.alarms.models import Alarm
from arc.history.rules import TECHNICAL_LABELS, Signal
from arc.registry.models import Connection

CALL_KINDS = ("activation", "unknown_unit")
CALL_CATEGORIES = ("personal", "environmental", "activity")
# closed as one of these, a call was not a genuine need
ACCIDENTAL_OUTCOMES = ("false_alarm", "cancelled_at_unit", "reset_at_unit")
NOT_GENUINE_OUTCOMES = (*ACCIDENTAL_OUTCOMES, "test_call", "technical_fault")
FALL_DEVICE = "0005"


def is_call():
    return and_(Alarm.kind.in_(CALL_KINDS), Alarm.category.in_(CALL_CATEGORIES))


def is_genuine():
    return and_(
        is_call(), or_(Alarm.outcome_code.is_(None), not_(Alarm.outcome_code.in_(NOT_GENUINE_OUTCOMES)))
    )


def is_false_alarm():
    return and_(is_call(), Alarm.outcome_code.in_(ACCIDENTAL_OUTCOMES))


def is_fall():
    return and_(is_call(), or_(Alarm.dty == FALL_DEVICE, Alarm.outcome_code.ilike("%fall%")))


def signal_type():
    """'genuine', 'false', 'technical' or 'other' (tests and the rest) as one SQL expression."""
    return case(
        (is_genuine(), "genuine"),
        (is_false_alarm(), "false"),
        (Alarm.kind.in_(tuple(TECHNICAL_LABELS)), "technical"),
        else_="other",
    )


def to_signal(alarm_id: int, at: datetime, kind: str, category: str, dty: str | None, outcome: str | None):
    call = kind in CALL_KINDS and category in CALL_CATEGORIES
    accidental = call and outcome in ACCIDENTAL_OUTCOMES
    return Signal(
        alarm_id=alarm_id,
        at=at,
        call=call,
        genuine=call and outcome not in NOT_GENUINE_OUTCOMES,
        false_alarm=accidental,
        fall=call and (dty == FALL_DEVICE or (outcome is not None and "fall" in outcome)),
        technical=kind if kind in TECHNICAL_LABELS else None,
    )


async def load_signals(
    session: AsyncSession, customer_id: int, start: datetime, end: datetime
) -> list[Signal]:
    rows = await session.execute(
        select(Alarm.id, Alarm.raised_at, Alarm.kind, Alarm.category, Alarm.dty, Alarm.outcome_code)
        .where(Alarm.customer_id == customer_id, Alarm.raised_at > start, Alarm.raised_at <= end)
        .order_by(Alarm.raised_at, Alarm.id)
    )
    return [to_signal(*row) for row in rows]


async def history_start(session: AsyncSession, customer_id: int, fallback: datetime) -> datetime:
    """When the person's record starts: their first connection's install date, else their first
    alarm, else ``fallback`` (a short history is not read as a quiet one)."""
    installed = await session.scalar(
        select(func.min(Connection.install_date)).where(Connection.customer_id == customer_id)
    )
    first_alarm = await session.scalar(
        select(func.min(Alarm.raised_at)).where(Alarm.customer_id == customer_id)
    )
    candidates = [d for d in (first_alarm,) if d is not None]
    if installed is not None:
        candidates.append(datetime.combine(installed, datetime.min.time(), tzinfo=fallback.tzinfo))
    return min(candidates) if candidates else fallback

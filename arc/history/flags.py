"""The one write path for flags: evaluation as activations arrive, the sweep as time passes,
thresholds, and the TEC review.

Evaluation never runs inside the ingest's transaction: a scheduled job (``arc/history/jobs.py``)
reads the alarm event log after a cursor, every few seconds, and re-evaluates the people whose
alarms changed; a slower sweep re-checks people with open flags so a burst that is over clears.
Signals are read through the read-only session (``read``), flags written through ``write``.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, or_, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from arc.alarms.models import Alarm, AlarmEvent
from arc.auth.models import User
from arc.history.models import Flag, FlagCursor, FlagReview, FlagThresholdsRow
from arc.history.rules import KIND_LABELS, SEVERITY_RANK, Finding, evaluate
from arc.history.signals import history_start, load_signals
from arc.history.thresholds import Thresholds
from arc.kit.errors import NotFound, Unprocessable

CURSOR = "flags"
EVENT_BATCH = 5000


async def load_thresholds(session: AsyncSession) -> Thresholds:
    row = await session.get(FlagThresholdsRow, 1)
    return Thresholds.model_validate(row.values) if row else Thresholds()


async def save_thresholds(session: AsyncSession, values: Thresholds, user: User, now: datetime) -> Thresholds:
    """Store new thresholds; the next evaluation re-checks everyone with recent activity."""
    stmt = insert(FlagThresholdsRow).values(
        id=1, values=values.model_dump(), updated_at=now, updated_by_id=user.id
    )
    await session.execute(
        stmt.on_conflict_do_update(
            index_elements=["id"],
            set_={"values": stmt.excluded["values"], "updated_at": now, "updated_by_id": user.id},
        )
    )
    cursor = await _cursor(session)
    cursor.full_pass_due = True
    await session.flush()
    return values


def lookback(t: Thresholds) -> timedelta:
    """How far back one evaluation reads: the watched weeks plus the baseline before them."""
    longest = max(t.frequent_days, t.false_alarm_days, t.equipment_days, t.falls_days)
    return timedelta(days=max(t.trend_weeks * 7, longest, max(t.cluster_hours) / 24 + 1) + t.baseline_days)


def _apply(flag: Flag, finding: Finding, now: datetime) -> None:
    flag.severity = finding.severity
    flag.reason = finding.reason
    flag.window_start, flag.window_end = finding.window_start, finding.window_end
    flag.alarm_ids = finding.alarm_ids
    flag.numbers = finding.numbers
    flag.updated_at = now


async def evaluate_customer(
    read: AsyncSession, write: AsyncSession, customer_id: int, now: datetime, t: Thresholds
) -> dict[str, str]:
    """Raise, update or clear this person's flags as of ``now``; returns {kind: what happened}."""
    signals = await load_signals(read, customer_id, now - lookback(t), now)
    since = await history_start(read, customer_id, now)
    findings = {f.kind: f for f in evaluate(signals, now, since, t)}
    live = list(
        await write.scalars(
            select(Flag)
            .where(
                Flag.customer_id == customer_id,
                or_(Flag.status == "open", (Flag.status == "resolved") & Flag.pattern_ended_at.is_(None)),
            )
            .order_by(Flag.id)
            .with_for_update()
        )
    )
    open_ = {f.kind: f for f in live if f.status == "open"}
    held = {f.kind: f for f in live if f.status == "resolved"}  # reviewed; pattern not yet ended
    changes: dict[str, str] = {}
    for kind, finding in findings.items():
        if kind in open_:
            _apply(open_[kind], finding, now)
            changes[kind] = "updated"
        elif kind not in held:
            flag = Flag(customer_id=customer_id, kind=kind, status="open", raised_at=now)
            _apply(flag, finding, now)
            write.add(flag)
            changes[kind] = "raised"
    for kind, flag in open_.items():
        if kind not in findings:
            flag.status, flag.cleared_at, flag.pattern_ended_at, flag.updated_at = "cleared", now, now, now
            changes[kind] = "cleared"
    for kind, flag in held.items():
        if kind not in findings:
            flag.pattern_ended_at = now  # the next time this pattern appears it is raised afresh
            changes[kind] = "pattern_ended"
    await write.flush()
    return changes


async def _cursor(session: AsyncSession) -> FlagCursor:
    await session.execute(
        insert(FlagCursor).values(name=CURSOR).on_conflict_do_nothing(index_elements=["name"])
    )
    return await session.scalar(select(FlagCursor).where(FlagCursor.name == CURSOR).with_for_update())


async def run_evaluation(
    read: AsyncSession, write: AsyncSession, now: datetime, *, sweep_every: timedelta = timedelta(minutes=10)
) -> dict:
    """One pass: people whose alarms changed since the cursor; on the sweep interval (or after a
    threshold change) also everyone with a live flag (or, for a full pass, any recent alarm)."""
    cursor = await _cursor(write)  # FOR UPDATE: one evaluator at a time, across processes
    t = await load_thresholds(write)
    rows = (
        await read.execute(
            select(AlarmEvent.id, Alarm.customer_id)
            .join(Alarm, Alarm.id == AlarmEvent.alarm_id)
            .where(AlarmEvent.id > cursor.last_event_id)
            .order_by(AlarmEvent.id)
            .limit(EVENT_BATCH)
        )
    ).all()
    customers = {c for _, c in rows if c is not None}
    if rows:
        cursor.last_event_id = rows[-1][0]
    swept = False
    if cursor.full_pass_due:  # everyone with recent alarms is evaluated: the cursor may skip ahead
        newest = await read.scalar(select(func.max(AlarmEvent.id)))
        cursor.last_event_id = max(cursor.last_event_id, newest or 0)
        customers |= set(
            await read.scalars(
                select(Alarm.customer_id)
                .where(Alarm.customer_id.is_not(None), Alarm.raised_at > now - lookback(t))
                .distinct()
            )
        )
        customers |= set(
            await write.scalars(select(Flag.customer_id).where(Flag.status == "open").distinct())
        )
        cursor.full_pass_due, swept = False, True
    elif cursor.swept_at is None or now - cursor.swept_at >= sweep_every:
        customers |= set(
            await write.scalars(
                select(Flag.customer_id)
                .where(
                    or_(Flag.status == "open", (Flag.status == "resolved") & Flag.pattern_ended_at.is_(None))
                )
                .distinct()
            )
        )
        swept = True
    if swept:
        cursor.swept_at = now
    changed = {}
    for customer_id in sorted(customers):
        changes = await evaluate_customer(read, write, customer_id, now, t)
        if changes:
            changed[customer_id] = changes
    await write.flush()
    return {"events": len(rows), "customers": len(customers), "swept": swept, "changed": changed}


def summary(flag: Flag) -> str:
    """A few words for the operator's card: "frequent caller: 9 in 30 days"."""
    n = flag.numbers or {}
    label = KIND_LABELS.get(flag.kind, flag.kind)
    if flag.kind == "cluster":
        return f"{label}: {n.get('count')} in {n.get('hours')} h"
    if flag.kind in ("trend_rising", "trend_falling"):
        usual = float(n.get("lambda0_per_week") or 0)
        return f"{label}: {n.get('recent_count')} in {n.get('recent_weeks')} weeks (usual {usual:.1f} a week)"
    if flag.kind == "equipment":
        return f"{label}: {n.get('count')} faults in {n.get('days')} days"
    return f"{label}: {n.get('count')} in {n.get('days')} days"


def flag_view(flag: Flag) -> dict:
    return {
        "id": flag.id,
        "customer_id": flag.customer_id,
        "kind": flag.kind,
        "label": KIND_LABELS.get(flag.kind, flag.kind),
        "severity": flag.severity,
        "status": flag.status,
        "reason": flag.reason,
        "summary": summary(flag),
        "window_start": flag.window_start.isoformat(),
        "window_end": flag.window_end.isoformat(),
        "alarm_ids": list(flag.alarm_ids or []),
        "numbers": flag.numbers or {},
        "raised_at": flag.raised_at.isoformat(),
        "updated_at": flag.updated_at.isoformat(),
        "cleared_at": flag.cleared_at.isoformat() if flag.cleared_at else None,
        "resolved_at": flag.resolved_at.isoformat() if flag.resolved_at else None,
    }


def by_severity(flags: list[Flag]) -> list[Flag]:
    return sorted(flags, key=lambda f: (SEVERITY_RANK.get(f.severity, 9), -f.raised_at.timestamp(), f.id))


async def flags_for_customer(session: AsyncSession, customer_id: int) -> list[dict]:
    """The open flags of one person, most severe first (the operator's alarm card shows these)."""
    flags = await session.scalars(select(Flag).where(Flag.customer_id == customer_id, Flag.status == "open"))
    return [flag_view(f) for f in by_severity(list(flags))]


async def review_flag(
    session: AsyncSession,
    flag_id: int,
    user: User,
    now: datetime,
    *,
    status: str,
    action: str | None,
    note: str | None,
) -> tuple[Flag, FlagReview]:
    """Record a review. ``seen`` leaves the flag open; ``action_taken`` (with its action) and
    ``no_action_needed`` resolve it — it stays in the history and is raised again only when the
    pattern has ended and comes back."""
    flag = await session.scalar(select(Flag).where(Flag.id == flag_id).with_for_update())
    if flag is None:
        raise NotFound(f"flag {flag_id} not found")
    if status == "action_taken" and not action:
        raise Unprocessable("say which action was taken", field="action")
    if status != "action_taken" and action:
        raise Unprocessable("an action goes with status action_taken", field="action")
    if status != "seen" and flag.status != "open":
        raise Unprocessable(f"flag {flag_id} is already {flag.status}", field="status")
    review = FlagReview(flag_id=flag.id, reviewer_id=user.id, at=now, status=status, action=action, note=note)
    session.add(review)
    if status != "seen":
        flag.status, flag.resolved_at, flag.resolved_by_id, flag.updated_at = "resolved", now, user.id, now
    await session.flush()
    return flag, review

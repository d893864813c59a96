"""The pictures: a person's activations per week by outcome, with falls and flags marked; the
service overview (activations per day, false-alarm rate, answer times against the TSA 60 s /
180 s targets, flagged customers over time). Counted in PostgreSQL, drawn by ``svg.py``."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Date, cast, func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from arc.alarms.models import Alarm
from arc.history.models import Flag
from arc.history.queries import TARGETS, period_bounds
from arc.history.rules import KIND_LABELS
from arc.history.signals import is_fall, is_false_alarm, is_genuine
from arc.history.svg import PALETTE, Chart, document

ATTENDED_OUTCOMES = (
    "family_attended",
    "ers_attended",
    "ambulance_called",
    "fire_service_called",
    "police_called",
)
TECHNICAL_KINDS = ("no_comms", "battery_low", "link_failure", "mains_failure")


def monday(day: date) -> date:
    return day - timedelta(days=day.weekday())


async def weekly(
    session: AsyncSession, customer_id: int, first_week: date, weeks: int, zone: ZoneInfo
) -> dict:
    start, end = period_bounds(first_week, first_week + timedelta(weeks=weeks) - timedelta(days=1), zone)
    week = cast(func.date_trunc("week", func.timezone(zone.key, Alarm.raised_at)), Date).label("week")
    attended = is_genuine() & Alarm.outcome_code.in_(ATTENDED_OUTCOMES)
    rows = await session.execute(
        select(
            week,
            func.count().filter(attended).label("attended"),
            func.count().filter(is_genuine() & ~attended).label("phone"),
            func.count().filter(is_false_alarm()).label("false"),
            func.count().filter(Alarm.kind.in_(TECHNICAL_KINDS)).label("technical"),
            func.count().filter(is_fall()).label("falls"),
        )
        .where(Alarm.customer_id == customer_id, Alarm.raised_at >= start, Alarm.raised_at < end)
        .group_by(week)
    )
    by_week = {r.week: r for r in rows}
    out = []
    for i in range(weeks):
        day = first_week + timedelta(weeks=i)
        r = by_week.get(day)
        out.append(
            {
                "week": day.isoformat(),
                "attended": r.attended if r else 0,
                "phone": r.phone if r else 0,
                "false": r.false if r else 0,
                "technical": r.technical if r else 0,
                "falls": r.falls if r else 0,
            }
        )
    flags = list(
        await session.scalars(
            select(Flag)
            .where(Flag.customer_id == customer_id, Flag.window_end >= start, Flag.window_start < end)
            .order_by(Flag.raised_at)
        )
    )
    return {"weeks": out, "flags": flags, "start": start}


def customer_svg(data: dict, name: str, zone: ZoneInfo) -> str:
    weeks = data["weeks"]
    labels = [date.fromisoformat(w["week"]).strftime("%d %b") for w in weeks]
    top = max([w["attended"] + w["phone"] + w["false"] + w["technical"] for w in weeks] + [1])
    chart = Chart("Activations per week, by outcome", labels, top, y_label="per week")
    first = datetime.combine(date.fromisoformat(weeks[0]["week"]), time(0), tzinfo=zone)
    for n, flag in enumerate(data["flags"]):
        a = (flag.window_start - first) / timedelta(weeks=1)
        b = (flag.window_end - first) / timedelta(weeks=1)
        label = f"{KIND_LABELS.get(flag.kind, flag.kind)} ({flag.status})"
        chart.span(a, max(b, a + 0.25), label)
        chart.parts[0] = chart.parts[0].replace(
            f'y="{chart.top + 11}"', f'y="{chart.top + 11 + 11 * (n % 3)}"'
        )
    chart.stacked_bars(
        [
            [
                (PALETTE["attended"], w["attended"]),
                (PALETTE["phone"], w["phone"]),
                (PALETTE["false"], w["false"]),
                (PALETTE["technical"], w["technical"]),
            ]
            for w in weeks
        ],
        [
            f"week of {w['week']}: {w['attended']} attended, {w['phone']} by phone or open, "
            f"{w['false']} false/accidental, {w['technical']} technical, {w['falls']} falls"
            for w in weeks
        ],
    )
    chart.markers([w["falls"] for w in weeks], PALETTE["fall"], "falls")
    chart.legend[:0] = [
        (PALETTE["attended"], "responder attended"),
        (PALETTE["phone"], "by phone / open"),
        (PALETTE["false"], "false or accidental"),
        (PALETTE["technical"], "technical"),
    ]
    if data["flags"]:
        chart.legend.append((PALETTE["flag"], "flag window"))
    total = sum(w["attended"] + w["phone"] + w["false"] for w in weeks)
    return document(
        [chart],
        f"Call history of {name}",
        f"{total} calls in {len(weeks)} weeks from {weeks[0]['week']}; {len(data['flags'])} flags in the period",
    )


_OVERVIEW_SQL = """
WITH days AS (
    SELECT d::date AS day FROM generate_series(CAST(:first AS date), CAST(:last AS date), interval '1 day') d
), calls AS (
    SELECT (a.raised_at AT TIME ZONE :tz)::date AS day,
           extract(epoch FROM a.accepted_at - a.raised_at) AS answer_s,
           a.outcome_code
    FROM alarms a
    WHERE a.raised_at >= :start AND a.raised_at < :end
      AND a.kind IN ('activation', 'unknown_unit') AND a.category IN ('personal', 'environmental', 'activity')
)
SELECT days.day,
       count(c.day) AS calls,
       count(c.day) FILTER (WHERE c.outcome_code IN ('false_alarm', 'cancelled_at_unit', 'reset_at_unit')) AS false,
       count(c.day) FILTER (WHERE c.answer_s <= 60) AS within_60,
       count(c.day) FILTER (WHERE c.answer_s <= 180) AS within_180,
       (SELECT count(DISTINCT f.customer_id) FROM history_flags f
         WHERE f.raised_at < ((days.day + 1)::timestamp AT TIME ZONE :tz)
           AND coalesce(f.cleared_at, f.resolved_at, 'infinity') >= ((days.day + 1)::timestamp AT TIME ZONE :tz)
       ) AS flagged
FROM days LEFT JOIN calls c ON c.day = days.day
GROUP BY days.day ORDER BY days.day
"""


def _pct(part: int, whole: int) -> float | None:
    return round(100.0 * part / whole, 1) if whole else None


async def overview(session: AsyncSession, first: date, last: date, zone: ZoneInfo) -> dict:
    start, end = period_bounds(first, last, zone)
    rows = await session.execute(
        text(_OVERVIEW_SQL), {"first": first, "last": last, "tz": zone.key, "start": start, "end": end}
    )
    days = [
        {
            "day": r.day.isoformat(),
            "calls": r.calls,
            "false_alarm_pct": _pct(r.false, r.calls),
            "answered_60s_pct": _pct(r.within_60, r.calls),
            "answered_180s_pct": _pct(r.within_180, r.calls),
            "flagged_customers": r.flagged,
        }
        for r in rows
    ]
    return {"from": first.isoformat(), "to": last.isoformat(), "days": days, "targets": dict(TARGETS)}


def overview_svg(data: dict) -> str:
    days = data["days"]
    labels = [date.fromisoformat(d["day"]).strftime("%d %b") for d in days]
    calls = Chart("Activations per day", labels, max([d["calls"] for d in days] + [1]), y_label="calls")
    calls.stacked_bars(
        [[(PALETTE["attended"], d["calls"])] for d in days], [f"{d['day']}: {d['calls']}" for d in days]
    )
    false = Chart("False-alarm rate", labels, 100, y_label="% of calls")
    false.line([d["false_alarm_pct"] for d in days], PALETTE["false"], label="false or accidental %")
    answer = Chart("Answered within target", labels, 100, y_label="% of calls")
    answer.line([d["answered_60s_pct"] for d in days], PALETTE["attended"], label="within 60 s")
    answer.line([d["answered_180s_pct"] for d in days], PALETTE["line"], label="within 180 s")
    answer.reference(data["targets"]["60s"], PALETTE["target"], f"TSA 60 s target {data['targets']['60s']} %")
    flagged = Chart(
        "Flagged customers", labels, max([d["flagged_customers"] for d in days] + [1]), y_label="people"
    )
    flagged.line([d["flagged_customers"] for d in days], PALETTE["fall"], label="with an open flag")
    total = sum(d["calls"] for d in days)
    return document(
        [calls, false, answer, flagged],
        "Service overview",
        f"{total} calls from {data['from']} to {data['to']}",
    )

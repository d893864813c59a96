"""Call-handling KPIs, computed in PostgreSQL.

Which alarms count: those raised in the period (Europe/London calendar dates,
``from`` and ``to`` inclusive) whose category is personal, environmental or
activity, i.e. calls that need a person; technical faults and test calls are
work items, not calls, and are left out.

- time to answer: ``raised_at`` -> ``accepted_at``;
- ``answered_60s_pct`` / ``answered_180s_pct``: alarms answered within 60 s / 180 s
  (inclusive) as a percentage of all counted alarms — an alarm never answered counts
  against the target (TSA targets 97.5 % and 99 %); two decimals;
- ``median_answer_s`` / ``p90_answer_s``: continuous percentiles (linear
  interpolation, ``percentile_cont``) over answered alarms, one decimal;
- ``median_arrival_s``: ``raised_at`` -> the first responder task marked arrived,
  over alarms where someone arrived, one decimal.

Groups: ``day`` (the London date), ``shift`` (``YYYY-MM-DD day`` 08:00-20:00,
``YYYY-MM-DD night`` 20:00-08:00 named after the evening it starts), ``operator``
(the accepting operator's name; ``not answered`` for alarms nobody took).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

TARGETS = {"60s": 97.5, "180s": 99.0}
COUNTED_CATEGORIES = ("personal", "environmental", "activity")

_KEYS = {
    "day": "to_char(local_at, 'YYYY-MM-DD')",
    "shift": (
        "CASE WHEN extract(hour FROM local_at) >= 8 AND extract(hour FROM local_at) < 20 "
        "THEN to_char(local_at, 'YYYY-MM-DD') || ' day' "
        "WHEN extract(hour FROM local_at) >= 20 THEN to_char(local_at, 'YYYY-MM-DD') || ' night' "
        "ELSE to_char(local_at - interval '1 day', 'YYYY-MM-DD') || ' night' END"
    ),
    "operator": "coalesce(operator_name, 'not answered')",
}

# The group key expression is chosen from _KEYS (never from user input); values are bound.
_SQL = """
WITH counted AS (
    SELECT a.id,
           a.raised_at AT TIME ZONE :tz AS local_at,
           extract(epoch FROM a.accepted_at - a.raised_at) AS answer_s,
           extract(epoch FROM (SELECT min(t.arrived_at) FROM response_tasks t WHERE t.alarm_id = a.id)
                              - a.raised_at) AS arrival_s,
           u.full_name AS operator_name
    FROM alarms a LEFT JOIN users u ON u.id = a.accepted_by_id
    WHERE a.raised_at >= :start AND a.raised_at < :end AND a.category = ANY(:categories)
)
SELECT {key} AS key,
       GROUPING({key}) AS is_total,
       count(*) AS alarms,
       count(answer_s) AS answered,
       count(*) FILTER (WHERE answer_s <= 60) AS within_60,
       count(*) FILTER (WHERE answer_s <= 180) AS within_180,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY answer_s) AS median_answer_s,
       percentile_cont(0.9) WITHIN GROUP (ORDER BY answer_s) AS p90_answer_s,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY arrival_s) AS median_arrival_s
FROM counted
GROUP BY GROUPING SETS (({key}), ())
ORDER BY is_total, key
"""


def _pct(part: int, whole: int) -> float | None:
    return round(100.0 * part / whole, 2) if whole else None


def _secs(value) -> float | None:
    return round(float(value), 1) if value is not None else None


def _figures(row) -> dict:
    return {
        "alarms": row.alarms,
        "answered": row.answered,
        "answered_60s_pct": _pct(row.within_60, row.alarms),
        "answered_180s_pct": _pct(row.within_180, row.alarms),
        "median_answer_s": _secs(row.median_answer_s),
        "p90_answer_s": _secs(row.p90_answer_s),
        "median_arrival_s": _secs(row.median_arrival_s),
    }


EMPTY = {
    "alarms": 0,
    "answered": 0,
    "answered_60s_pct": None,
    "answered_180s_pct": None,
    "median_answer_s": None,
    "p90_answer_s": None,
    "median_arrival_s": None,
}


def period_bounds(first: date, last: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """UTC instants of London midnight at the start of ``first`` and after ``last``."""
    start = datetime.combine(first, time(0), tzinfo=zone).astimezone(UTC)
    end = datetime.combine(last + timedelta(days=1), time(0), tzinfo=zone).astimezone(UTC)
    return start, end


async def kpis(session: AsyncSession, first: date, last: date, group: str, zone: ZoneInfo) -> dict:
    start, end = period_bounds(first, last, zone)
    rows = await session.execute(
        text(_SQL.format(key=_KEYS[group])),
        {"tz": zone.key, "start": start, "end": end, "categories": list(COUNTED_CATEGORIES)},
    )
    out: list[dict] = []
    totals = dict(EMPTY)
    for row in rows:
        if row.is_total:
            totals = _figures(row)
        else:
            out.append({"key": row.key, **_figures(row)})
    return {"rows": out, "totals": totals, "targets": dict(TARGETS)}

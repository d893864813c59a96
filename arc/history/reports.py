"""Reports for managers and returns: the monthly service report (JSON and PDF) and the yearly
count of people supported (CSV for the council's statutory data team).

Definitions, written down once:
- calls: alarms of a person (activations; technical faults and tests left out), raised in the
  month (Europe/London dates), by device type and by outcome;
- answer-time KPIs: as ``GET /api/kpis`` for the month (``queries.py``);
- ERS attendances: ERS tasks marked arrived in the month;
- 999 calls avoided: calls where a responder or ERS arrived and no 999 service was asked for;
- people supported (financial year 1 April - 31 March): anyone with a connection live on any day
  of the year; new = first connection installed in the year; ended = every connection withdrawn,
  the last in the year; age band from the date of birth at the year's end.
"""

from __future__ import annotations

import csv
import io
from datetime import date

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from arc.history.queries import kpis, period_bounds
from devices.protocol.codes import device_type_name

AGE_BANDS = [("under 65", 0, 64), ("65-74", 65, 74), ("75-84", 75, 84), ("85 and over", 85, 200)]

_CALLS_SQL = """
SELECT a.dty, coalesce(o.label, a.outcome_code, 'open') AS outcome, count(*) AS n
FROM alarms a LEFT JOIN outcome_codes o ON o.code = a.outcome_code
WHERE a.raised_at >= :start AND a.raised_at < :end
  AND a.kind IN ('activation', 'unknown_unit') AND a.category IN ('personal', 'environmental', 'activity')
GROUP BY a.dty, coalesce(o.label, a.outcome_code, 'open')
"""

_RESPONSE_SQL = """
SELECT
  (SELECT count(*) FROM response_tasks t
    WHERE t.kind = 'ers' AND t.arrived_at >= :start AND t.arrived_at < :end) AS ers_attendances,
  (SELECT count(*) FROM alarms a
    WHERE a.raised_at >= :start AND a.raised_at < :end
      AND EXISTS (SELECT 1 FROM response_tasks t WHERE t.alarm_id = a.id AND t.arrived_at IS NOT NULL
                  AND t.kind IN ('ers', 'responder'))
      AND NOT EXISTS (SELECT 1 FROM response_tasks t WHERE t.alarm_id = a.id AND t.kind = 'emergency')
  ) AS avoided_999,
  (SELECT count(*) FROM response_tasks t
    WHERE t.kind = 'emergency' AND t.requested_at >= :start AND t.requested_at < :end) AS calls_999
"""


def month_bounds(year: int, month: int) -> tuple[date, date]:
    first = date(year, month, 1)
    following = date(year + (month == 12), month % 12 + 1, 1)
    return first, date.fromordinal(following.toordinal() - 1)


async def monthly_report(session: AsyncSession, year: int, month: int, zone) -> dict:
    first, last = month_bounds(year, month)
    start, end = period_bounds(first, last, zone)
    by_device: dict[str, int] = {}
    by_outcome: dict[str, int] = {}
    total = 0
    for r in await session.execute(text(_CALLS_SQL), {"start": start, "end": end}):
        device = device_type_name(r.dty) if r.dty else "unknown device"
        by_device[device] = by_device.get(device, 0) + r.n
        by_outcome[r.outcome] = by_outcome.get(r.outcome, 0) + r.n
        total += r.n
    response = (await session.execute(text(_RESPONSE_SQL), {"start": start, "end": end})).one()
    figures = await kpis(session, first, last, "day", zone)
    return {
        "month": f"{year:04d}-{month:02d}",
        "from": first.isoformat(),
        "to": last.isoformat(),
        "calls": total,
        "by_device_type": dict(sorted(by_device.items(), key=lambda kv: -kv[1])),
        "by_outcome": dict(sorted(by_outcome.items(), key=lambda kv: -kv[1])),
        "answer_kpis": figures["totals"],
        "targets": figures["targets"],
        "ers_attendances": response.ers_attendances,
        "calls_999": response.calls_999,
        "calls_999_avoided": response.avoided_999,
    }


_PEOPLE_SQL = """
WITH per_person AS (
    SELECT c.id, c.date_of_birth,
           min(n.install_date) AS first_install,
           bool_or(n.withdrawn_on IS NULL) AS still_live,
           max(n.withdrawn_on) AS last_withdrawn,
           bool_or(n.install_date <= :last AND (n.withdrawn_on IS NULL OR n.withdrawn_on >= :first)) AS live
    FROM customers c JOIN connections n ON n.customer_id = c.id
    GROUP BY c.id, c.date_of_birth
)
SELECT date_of_birth,
       live,
       first_install BETWEEN :first AND :last AS is_new,
       (NOT still_live AND last_withdrawn BETWEEN :first AND :last) AS ended
FROM per_person
WHERE live
"""


def age_band(born: date | None, on: date) -> str:
    if born is None:
        return "unknown"
    age = on.year - born.year - ((on.month, on.day) < (born.month, born.day))
    return next(name for name, low, high in AGE_BANDS if low <= age <= high) if age >= 0 else "unknown"


async def people_supported(session: AsyncSession, year: int) -> dict:
    """The financial year starting 1 April ``year``."""
    first, last = date(year, 4, 1), date(year + 1, 3, 31)
    bands = {name: {"supported": 0, "new": 0, "ended": 0} for name, _, _ in AGE_BANDS}
    bands["unknown"] = {"supported": 0, "new": 0, "ended": 0}
    for r in await session.execute(text(_PEOPLE_SQL), {"first": first, "last": last}):
        row = bands[age_band(r.date_of_birth, last)]
        row["supported"] += 1
        row["new"] += int(bool(r.is_new))
        row["ended"] += int(bool(r.ended))
    totals = {k: sum(b[k] for b in bands.values()) for k in ("supported", "new", "ended")}
    return {
        "year": f"{year}-{(year + 1) % 100:02d}",
        "from": first.isoformat(),
        "to": last.isoformat(),
        "age_bands": bands,
        "totals": totals,
    }


def people_csv(data: dict) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["year", "age band", "people supported", "new", "ended"])
    for band, row in data["age_bands"].items():
        writer.writerow([data["year"], band, row["supported"], row["new"], row["ended"]])
    t = data["totals"]
    writer.writerow([data["year"], "all", t["supported"], t["new"], t["ended"]])
    return buffer.getvalue().encode("utf-8")

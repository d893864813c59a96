"""KPIs on a known scenario, figures worked out by hand.

Friday 20 and Saturday 21 November 2026 (GMT, so London time = UTC):

    alarm  raised (London)   answered by  after   first responder arrival
    A1     Fri 09:00         Ann          20 s    +1800 s (a second one came later)
    A2     Fri 10:00         Ann          50 s
    A3     Fri 14:00         Bob          70 s    +1200 s
    A4     Fri 21:00         Bob          200 s
    A5     Sat 03:00         Bob          40 s      (still Friday's night shift)
    A6     Sat 12:00         Ann          60 s      (exactly 60 s counts as within)
    A7     Sat 13:00         nobody       -
    plus a technical and a test alarm (not calls) and two alarms just outside the dates.

Answer times 20, 40, 50, 60, 70, 200: within 60 s 4 of 7 = 57.14 %, within 180 s 5 of 7 = 71.43 %,
median 55.0 s, p90 (continuous) 70 + 0.5 x 130 = 135.0 s; arrivals 1800, 1200: median 1500.0 s.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from arc.dispatch.models import ResponseTask
from tests.factories import create_alarm, create_user


def at(day: int, hour: int, minute: int = 0, month: int = 11) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=UTC)


async def _answered(session, raised: datetime, user, after_s: int | None, **kw):
    fields = {"raised_at": raised, **kw}
    if after_s is not None:
        fields.update(
            status="accepted", accepted_by_id=user.id, accepted_at=raised + timedelta(seconds=after_s)
        )
    return await create_alarm(session, **fields)


async def _arrived(session, alarm, after_s: int) -> None:
    session.add(
        ResponseTask(
            alarm_id=alarm.id,
            kind="ers",
            status="arrived",
            requested_at=alarm.raised_at,
            accepted_at=alarm.raised_at,
            arrived_at=alarm.raised_at + timedelta(seconds=after_s),
        )
    )
    await session.flush()


@pytest.fixture
async def scenario(session):
    ann = await create_user(session, role="operator", full_name="Ann Able")
    bob = await create_user(session, role="operator", full_name="Bob Baker")
    a1 = await _answered(session, at(20, 9), ann, 20)
    await _arrived(session, a1, 1800)
    await _arrived(session, a1, 3600)
    await _answered(session, at(20, 10), ann, 50)
    a3 = await _answered(session, at(20, 14), bob, 70)
    await _arrived(session, a3, 1200)
    await _answered(session, at(20, 21), bob, 200)
    await _answered(session, at(21, 3), bob, 40)
    await _answered(session, at(21, 12), ann, 60)
    await _answered(session, at(21, 13), None, None)
    await _answered(session, at(21, 15), bob, 1000, category="technical", priority=40)
    await _answered(session, at(21, 16), bob, 5, category="test", priority=50)
    await _answered(session, at(19, 23, 59), ann, 900)  # Thursday
    await _answered(session, at(22, 0, 30), ann, 900)  # Sunday
    await session.commit()


def _row(key, alarms, answered, pct60, pct180, median, p90, arrival) -> dict:
    row = {
        "alarms": alarms,
        "answered": answered,
        "answered_60s_pct": pct60,
        "answered_180s_pct": pct180,
        "median_answer_s": median,
        "p90_answer_s": p90,
        "median_arrival_s": arrival,
    }
    return row if key is None else {"key": key, **row}


async def _kpis(client, group: str) -> dict:
    response = await client.get(
        "/api/kpis", params={"from": "2026-11-20", "to": "2026-11-21", "group": group}
    )
    assert response.status_code == 200, response.text
    return response.json()


async def test_kpis_per_day_with_totals_and_tsa_targets(scenario, client):
    body = await _kpis(client, "day")
    assert body["rows"] == [
        _row("2026-11-20", 4, 4, 50.0, 75.0, 60.0, 161.0, 1500.0),
        _row("2026-11-21", 3, 2, 66.67, 66.67, 50.0, 58.0, None),
    ]
    assert body["totals"] == _row(None, 7, 6, 57.14, 71.43, 55.0, 135.0, 1500.0)
    assert body["targets"] == {"60s": 97.5, "180s": 99.0}


async def test_kpis_per_shift_put_the_small_hours_in_the_night_before(scenario, client):
    body = await _kpis(client, "shift")
    assert body["rows"] == [
        _row("2026-11-20 day", 3, 3, 66.67, 100.0, 50.0, 66.0, 1500.0),
        _row("2026-11-20 night", 2, 2, 50.0, 50.0, 120.0, 184.0, None),
        _row("2026-11-21 day", 2, 1, 50.0, 50.0, 60.0, 60.0, None),
    ]
    assert body["totals"]["alarms"] == 7


async def test_kpis_per_operator(scenario, client):
    body = await _kpis(client, "operator")
    assert body["rows"] == [
        _row("Ann Able", 3, 3, 100.0, 100.0, 50.0, 58.0, 1800.0),
        _row("Bob Baker", 3, 3, 33.33, 66.67, 70.0, 174.0, 1200.0),
        _row("not answered", 1, 0, 0.0, 0.0, None, None, None),
    ]


async def test_london_dates_and_shifts_follow_summer_time(session, client):
    ann = await create_user(session, role="operator", full_name="Ann Able")
    # 23:30 UTC on 1 July is 00:30 BST on 2 July: the 2nd's date, the 1st's night shift
    await _answered(session, at(1, 23, 30, month=7), ann, 30)
    await session.commit()
    by_day = (await client.get("/api/kpis", params={"from": "2026-07-02", "group": "day"})).json()
    assert [r["key"] for r in by_day["rows"]] == ["2026-07-02"]
    by_shift = (await client.get("/api/kpis", params={"from": "2026-07-02", "group": "shift"})).json()
    assert [r["key"] for r in by_shift["rows"]] == ["2026-07-01 night"]
    assert (await client.get("/api/kpis", params={"from": "2026-07-01"})).json()["rows"] == []


async def test_an_empty_period_has_no_rows_and_empty_totals(client):
    body = (await client.get("/api/kpis", params={"from": "2026-01-01", "to": "2026-01-31"})).json()
    assert body["rows"] == []
    assert body["totals"] == _row(None, 0, 0, None, None, None, None, None)


@pytest.mark.parametrize(
    "params",
    [
        {"from": "2026-11-21", "to": "2026-11-20"},
        {"from": "2025-01-01", "to": "2026-11-20"},
        {"from": "yesterday"},
        {"from": "2026-11-20", "group": "week"},
    ],
)
async def test_bad_kpi_queries_are_422(client, params):
    response = await client.get("/api/kpis", params=params)
    assert response.status_code == 422


async def test_kpis_are_not_for_finance(client_as):
    finance = await client_as("finance")
    assert (await finance.get("/api/kpis")).status_code == 403

"""KPI periods at the edge of the calendar are refused with a reason, not a 500."""

from __future__ import annotations

import pytest


@pytest.mark.parametrize(
    "params, field",
    [
        ({"from": "9999-12-30", "to": "9999-12-31"}, "to"),  # was a 500: the day after overflowed
        ({"from": "9999-12-31"}, "from"),
        ({"from": "0001-01-01", "to": "0001-01-02"}, "from"),
    ],
)
async def test_kpi_period_beyond_the_calendar_is_422_naming_the_date(client, params, field):
    response = await client.get("/api/kpis", params=params)
    assert response.status_code == 422, response.text
    assert response.json()["error"] == "invalid" and response.json()["field"] == field


async def test_kpi_period_at_the_last_allowed_day_is_answered(client):
    response = await client.get("/api/kpis", params={"from": "9999-12-30"})
    assert response.status_code == 200, response.text
    assert response.json()["totals"]["alarms"] == 0

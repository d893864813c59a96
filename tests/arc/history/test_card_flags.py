"""Operators see a person's open flags on the alarm card, in a few words."""

from __future__ import annotations

from arc.history.jobs import evaluate_flags
from tests.arc.history.helpers import days, history
from tests.factories import create_alarm, create_customer_with_unit


async def test_alarm_card_shows_frequent_caller_flag(app, session, clock, client_as):
    customer, unit, _ = await create_customer_with_unit(session)
    await history(session, customer, unit, clock.now(), days(*range(1, 28, 3)), status="closed")
    await session.commit()
    await evaluate_flags(app)
    alarm = await create_alarm(session, customer=customer, unit=unit, raised_at=clock.now())
    await session.commit()
    card = (await (await client_as("operator")).get(f"/api/alarms/{alarm.id}")).json()
    summaries = [f["summary"] for f in card["flags"]]
    assert "frequent caller: 9 in 30 days" in summaries
    assert all(f["status"] == "open" for f in card["flags"])

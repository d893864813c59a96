"""Flags as activations arrive: the job reads new alarm events, raises, updates and clears flags;
a review resolves a flag, which comes back only when the pattern ends and returns."""

from __future__ import annotations

from sqlalchemy import select

from arc.history.flags import flags_for_customer
from arc.history.jobs import evaluate_flags
from arc.history.models import Flag
from tests.arc.history.helpers import days, history
from tests.factories import create_customer_with_unit


async def _flags(session, customer_id, kind="frequent_caller") -> dict[str, str]:
    rows = await session.scalars(
        select(Flag)
        .where(Flag.customer_id == customer_id, Flag.kind == kind)
        .order_by(Flag.id)
        .execution_options(populate_existing=True)
    )
    return {f"{f.kind}#{f.id}": f.status for f in rows}


async def test_a_frequent_caller_is_flagged_when_the_eighth_call_arrives(app, session, clock):
    customer, unit, _ = await create_customer_with_unit(session)
    await history(session, customer, unit, clock.now(), days(*range(1, 22, 3)))  # 7 calls in 30 days
    await session.commit()
    await evaluate_flags(app)
    assert await _flags(session, customer.id) == {}

    await history(session, customer, unit, clock.now(), days(0.01))  # the eighth
    await session.commit()
    out = await evaluate_flags(app)
    assert out["events"] == 1 and out["customers"] == 1
    flags = [f for f in await flags_for_customer(session, customer.id) if f["kind"] == "frequent_caller"]
    assert [f["summary"] for f in flags] == ["frequent caller: 8 in 30 days"]
    assert len(flags[0]["alarm_ids"]) == 8


async def test_technical_faults_and_tests_never_make_a_frequent_caller(app, session, clock):
    customer, unit, _ = await create_customer_with_unit(session)
    ages = days(*range(1, 25, 2))
    await history(session, customer, unit, clock.now(), ages, kind="battery_low", category="technical")
    await history(session, customer, unit, clock.now(), ages, kind="activation", category="test", stc="0102")
    await session.commit()
    await evaluate_flags(app)
    assert [f["kind"] for f in await flags_for_customer(session, customer.id)] == ["equipment"]


async def test_flag_clears_when_the_pattern_ends_and_is_kept(app, session, clock):
    customer, unit, _ = await create_customer_with_unit(session)
    await history(session, customer, unit, clock.now(), days(*range(1, 25, 3)))
    await session.commit()
    await evaluate_flags(app)
    assert list((await _flags(session, customer.id)).values()) == ["open"]
    clock.advance(days=30)
    await evaluate_flags(app)  # the sweep re-checks people with open flags as time passes
    assert list((await _flags(session, customer.id)).values()) == ["cleared"]
    assert "frequent_caller" not in [f["kind"] for f in await flags_for_customer(session, customer.id)]


async def test_a_reviewed_flag_is_raised_again_only_when_the_pattern_returns(app, session, clock, client_as):
    tec = await client_as("tec")
    customer, unit, _ = await create_customer_with_unit(session)
    await history(session, customer, unit, clock.now(), days(*range(1, 25, 3)))
    await session.commit()
    await evaluate_flags(app)
    flag = next(f for f in await flags_for_customer(session, customer.id) if f["kind"] == "frequent_caller")
    r = await tec.post(
        f"/api/history/flags/{flag['id']}/reviews",
        json={"status": "action_taken", "action": "review_visit", "note": "visit booked"},
    )
    assert r.status_code == 201, r.text
    assert r.json()["flag"]["status"] == "resolved"

    await history(session, customer, unit, clock.now(), days(0.1))  # the pattern goes on
    await session.commit()
    await evaluate_flags(app)
    assert list((await _flags(session, customer.id)).values()) == ["resolved"]

    clock.advance(days=40)  # quiet: the pattern ends
    await evaluate_flags(app)
    await history(session, customer, unit, clock.now(), days(*range(1, 25, 3)))  # and returns
    await session.commit()
    await evaluate_flags(app)
    assert sorted((await _flags(session, customer.id)).values()) == ["open", "resolved"]

    tec = await client_as("tec")  # forty days on: a fresh sign-in
    r = await tec.get(f"/api/history/customers/{customer.id}/flags")
    assert r.status_code == 200, r.text
    past = [f for f in r.json()["past"] if f["kind"] == "frequent_caller"]
    assert (
        past[0]["reviews"][0]["action"] == "review_visit" and past[0]["reviews"][0]["note"] == "visit booked"
    )


async def test_review_list_orders_by_severity_and_reviews_need_valid_input(app, session, clock, client_as):
    tec = await client_as("tec")
    caller, unit1, _ = await create_customer_with_unit(session)
    faller, unit2, _ = await create_customer_with_unit(session)
    await history(session, caller, unit1, clock.now(), days(*range(1, 25, 3)))
    await history(session, faller, unit2, clock.now(), days(2, 9), dty="0005", stc="0009")
    await session.commit()
    await evaluate_flags(app)
    r = await tec.get("/api/history/flags")
    assert r.status_code == 200
    assert [c["customer_id"] for c in r.json()["customers"]] == [faller.id, caller.id]
    assert r.json()["customers"][0]["severity"] == "high"
    flag_id = r.json()["customers"][0]["flags"][0]["id"]
    second = (await tec.get("/api/history/flags?page=2&page_size=1")).json()
    assert second["total"] == 2 and [c["customer_id"] for c in second["customers"]] == [caller.id]

    bad = [
        ({"status": "action_taken"}, "action"),
        ({"status": "seen", "action": "reablement"}, "action"),
        ({"status": "action_taken", "action": "teleport"}, "action"),
    ]
    for body, field in bad:
        r = await tec.post(f"/api/history/flags/{flag_id}/reviews", json=body)
        assert r.status_code == 422 and field in r.text, r.text
    assert (await tec.post("/api/history/flags/999999/reviews", json={"status": "seen"})).status_code == 404
    r = await tec.post(f"/api/history/flags/{flag_id}/reviews", json={"status": "seen"})
    assert r.status_code == 201 and r.json()["flag"]["status"] == "open"
    operator = await client_as("operator")
    assert (await operator.get("/api/history/flags")).status_code == 403


async def test_thresholds_are_validated_and_a_change_re_checks_everyone(app, session, clock, client_as):
    tec = await client_as("tec")
    customer, unit, _ = await create_customer_with_unit(session)
    await history(session, customer, unit, clock.now(), days(1, 4, 8, 12, 16))
    await session.commit()
    await evaluate_flags(app)
    assert await _flags(session, customer.id) == {}
    before = (await tec.get("/api/history/thresholds")).json()
    r = await tec.put("/api/history/thresholds", json={**before, "frequent_count": -1})
    assert r.status_code == 422 and "frequent_count" in r.text
    assert (await tec.get("/api/history/thresholds")).json() == before
    r = await tec.put("/api/history/thresholds", json={**before, "frequent_count": 5})
    assert r.status_code == 200
    await evaluate_flags(app)
    flags = await flags_for_customer(session, customer.id)
    assert "frequent caller: 5 in 30 days" in [f["summary"] for f in flags]

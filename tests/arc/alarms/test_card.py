"""The alarm card: the person, the home, the device, the plan and the history on one page."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select

from arc.audit.models import AuditEntry
from arc.registry.models import Absence
from tests.arc.alarms.helpers import give_key_safe, scene
from tests.factories import create_alarm, create_customer_with_unit, create_responder


async def test_card_shows_person_home_device_plan_history_and_script(client_as, session, clock):
    s = await scene(session, clock, responders=2)
    # Sam is only around on weekday daytimes; the clock says Sunday 22 Nov 2026, 12:00 London
    s.responders[1].availability = [{"days": [0, 1, 2, 3, 4], "start": "09:00", "end": "17:00"}]
    s.customer.date_of_birth = date(1937, 11, 23)  # 89 tomorrow
    earlier = await create_alarm(
        session,
        customer=s.customer,
        unit=s.unit,
        status="closed",
        outcome_code="false_alarm",
        raised_at=clock.now() - timedelta(days=3),
    )
    await create_alarm(session, raised_at=clock.now() - timedelta(days=1))  # somebody else's
    await session.commit()
    operator = await client_as("operator")

    response = await operator.get(f"/api/alarms/{s.alarm.id}")

    assert response.status_code == 200, response.text
    card = response.json()
    assert card["alarm"]["id"] == s.alarm.id
    assert card["customer"]["name"] == "Edith Clarke"
    assert card["customer"]["preferred_name"] == "Edie"
    assert card["customer"]["age"] == 88
    assert card["customer"]["medical_notes"] == "Atrial fibrillation"
    assert card["customer"]["risk_notes"] == "Lives alone; dog in the house"
    assert card["unit"]["cid"] == s.unit.cid
    assert card["peripherals"] == [
        {"did": "P1", "dty": "0003", "device_type": "pendant / personal trigger", "location_text": "bedroom"}
    ]
    assert card["trigger"] == {
        "did": "P1",
        "device_type": "pendant / personal trigger",
        "status_text": "alarm (manual)",
        "location_text": "bedroom",
        "geo": None,
    }
    assert [(r["name"], r["holds_key"], r["available_now"]) for r in card["responders"]] == [
        ("Rita Daughter", True, True),
        ("Sam Neighbour", False, False),
    ]
    assert [h["id"] for h in card["history"]] == [earlier.id]
    assert card["script"].startswith("Pendant pressed.")
    assert {"code": "technical_fault", "label": "Technical fault"} in card["outcomes"]
    assert card["flags"] == []
    assert card["events"] == [] and card["tasks"] == []


async def test_key_safe_is_shown_only_to_the_operator_holding_the_alarm(app, client_as, session, clock):
    s = await scene(session, clock)
    await give_key_safe(app, session, s.customer, "Key safe by back door, code 1942")
    holder = await client_as("operator")
    other = await client_as("operator")
    supervisor = await client_as("supervisor")

    assert (await holder.get(f"/api/alarms/{s.alarm.id}")).json()["key_safe"] is None  # not accepted yet
    await holder.post(f"/api/alarms/{s.alarm.id}/accept")
    assert (await holder.get(f"/api/alarms/{s.alarm.id}")).json()[
        "key_safe"
    ] == "Key safe by back door, code 1942"
    assert (await other.get(f"/api/alarms/{s.alarm.id}")).json()["key_safe"] is None
    assert (await supervisor.get(f"/api/alarms/{s.alarm.id}")).json()["key_safe"] is None

    await holder.post(f"/api/alarms/{s.alarm.id}/close", json={"outcome_code": "false_alarm"})
    assert (await holder.get(f"/api/alarms/{s.alarm.id}")).json()["key_safe"] is None

    looks = (
        await session.execute(
            select(AuditEntry.actor_user_id, AuditEntry.action, AuditEntry.customer_id).where(
                AuditEntry.object_type == "key_safe"
            )
        )
    ).all()
    assert looks == [(holder.user.id, "view", s.customer.id)]  # every look is audited, and only the one


async def test_mobile_unit_alarm_card_links_to_the_map(client_as, session, clock):
    s = await scene(
        session,
        clock,
        dty="0051",
        did=None,
        geo_lat=52.2053,
        geo_lon=0.1218,
        geo_at=clock.now() - timedelta(seconds=30),
        title="Mobile alarm",
    )
    operator = await client_as("operator")
    card = (await operator.get(f"/api/alarms/{s.alarm.id}")).json()
    geo = card["trigger"]["geo"]
    assert (geo["lat"], geo["lon"]) == (52.2053, 0.1218)
    assert geo["map_url"] == "https://www.openstreetmap.org/?mlat=52.2053&mlon=0.1218#map=17/52.2053/0.1218"
    assert card["trigger"]["device_type"] == "tracking unit (mobile GPS)"
    assert card["script"].startswith("Mobile GPS unit.")


async def test_alarm_from_an_unknown_unit_still_gets_a_card(client_as, session, clock):
    alarm = await create_alarm(
        session, unknown_unit=True, kind="unknown_unit", dty=None, stc=None, raised_at=clock.now()
    )
    await session.commit()
    operator = await client_as("operator")
    card = (await operator.get(f"/api/alarms/{alarm.id}")).json()
    assert card["customer"] is None and card["unit"] is None and card["key_safe"] is None
    assert card["responders"] == [] and card["peripherals"] == []
    assert card["script"].startswith("Alarm from a unit we do not know")


async def test_card_lists_tasks_and_the_event_log(client_as, session, clock):
    customer, unit, _ = await create_customer_with_unit(session)
    responder = await create_responder(session, customer, name="Rita Daughter")
    alarm = await create_alarm(session, customer=customer, unit=unit, raised_at=clock.now())
    await session.commit()
    operator = await client_as("operator", full_name="Olive Operator")
    await operator.post(f"/api/alarms/{alarm.id}/accept")
    await operator.post(
        f"/api/alarms/{alarm.id}/dispatch", json={"kind": "responder", "responder_id": responder.id}
    )
    await operator.post(
        f"/api/alarms/{alarm.id}/dispatch",
        json={"kind": "emergency", "service": "ambulance", "reference": "CAD-77"},
    )

    card = (await operator.get(f"/api/alarms/{alarm.id}")).json()

    assert [(t["kind"], t["status"], t["responder_name"], t["reference"]) for t in card["tasks"]] == [
        ("responder", "requested", "Rita Daughter", None),
        ("emergency", "accepted", None, "CAD-77"),  # a 999 call with a reference has been taken
    ]
    assert [e["type"] for e in card["events"]] == [
        "accepted",
        "task_requested",
        "dispatched",
        "task_requested",
    ]
    assert card["events"][0]["actor"] == "Olive Operator"


async def test_opening_a_card_records_who_viewed_the_customer(client_as, session, clock):
    s = await scene(session, clock)
    await session.commit()
    operator = await client_as("operator")

    assert (await operator.get(f"/api/alarms/{s.alarm.id}")).status_code == 200

    views = (
        await session.execute(
            select(AuditEntry.actor_user_id, AuditEntry.customer_id, AuditEntry.detail).where(
                AuditEntry.object_type == "customer", AuditEntry.action == "view"
            )
        )
    ).all()
    assert views == [(operator.user.id, s.customer.id, {"via": f"alarm card {s.alarm.id}"})]


async def test_card_says_the_person_is_in_hospital_and_the_alarm_is_still_handled(client_as, session, clock):
    s = await scene(session, clock)
    today = date(2026, 11, 22)  # the frozen clock, London
    session.add(Absence(customer_id=s.customer.id, kind="hospital", starts_on=today - timedelta(days=2)))
    session.add(
        Absence(
            customer_id=s.customer.id, kind="holiday", starts_on=date(2026, 6, 1), ends_on=date(2026, 6, 8)
        )
    )
    s.customer.communication_needs = "hard of hearing"
    await session.commit()
    operator = await client_as("operator")
    card = (await operator.get(f"/api/alarms/{s.alarm.id}")).json()
    assert card["customer"]["away"] == {"kind": "hospital", "starts_on": "2026-11-20", "ends_on": None}
    assert card["customer"]["communication_needs"] == "hard of hearing"
    assert card["alarm"]["status"] == "queued"

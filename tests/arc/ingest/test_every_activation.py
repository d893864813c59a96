"""Every activation visible: a second device joining an open alarm is named in its log, the alarm
takes the most urgent activation's category, rank and title, and an unknown unit's smoke
detector is a fire."""

from __future__ import annotations

from sqlalchemy import select

from arc.alarms.models import Alarm, AlarmEvent
from arc.alarms.priority import FIRE, PERSONAL
from tests.arc.ingest.conftest import FakeUnit
from tests.factories import create_customer_with_unit, create_peripheral


async def test_a_smoke_detector_joining_a_pendant_alarm_leads_it_and_is_named(unit: FakeUnit, session, clock):
    _customer, hub, _ = await create_customer_with_unit(session)
    await create_peripheral(session, hub, did="S1", dty="0023", location_text="kitchen")
    await session.commit()
    await unit.send(hub.cid, {"ref": "P1", "cid": hub.cid, "dty": "3"})
    [alarm] = (await session.scalars(select(Alarm))).all()
    assert (alarm.category, alarm.priority, alarm.title) == ("personal", PERSONAL, "Pendant / personal trigger")

    clock.advance(seconds=20)
    await unit.send(hub.cid, {"ref": "S2", "cid": hub.cid, "dty": "23", "did": "S1"})
    alarm = await session.get(Alarm, alarm.id, populate_existing=True)
    assert (alarm.category, alarm.priority) == ("environmental", FIRE)
    assert (alarm.dty, alarm.did, alarm.location_text) == ("0023", "S1", "kitchen")  # the trigger leads too
    assert alarm.title == "Smoke detector — kitchen + pendant / personal trigger"
    joined = await session.scalar(
        select(AlarmEvent).where(AlarmEvent.alarm_id == alarm.id, AlarmEvent.type == "activation")
    )
    assert (joined.data["device_type"], joined.data["did"], joined.data["location_text"]) == (
        "smoke detector",
        "S1",
        "kitchen",
    )

    clock.advance(seconds=20)  # the pendant again: counted, the title does not grow
    await unit.send(hub.cid, {"ref": "P3", "cid": hub.cid, "dty": "3"})
    alarm = await session.get(Alarm, alarm.id, populate_existing=True)
    assert (alarm.activation_count, alarm.priority) == (3, FIRE)
    assert alarm.title == "Smoke detector — kitchen + pendant / personal trigger"


async def test_a_smoke_alarm_from_an_unknown_unit_is_a_fire(unit: FakeUnit, session):
    await unit.send("4409876", {"ref": "U1", "cid": "4409876", "dty": "0023"})
    [alarm] = (await session.scalars(select(Alarm))).all()
    assert (alarm.unknown_unit, alarm.category, alarm.priority) == (True, "environmental", FIRE)

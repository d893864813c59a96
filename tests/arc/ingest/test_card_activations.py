"""Every activation of an alarm is on its card: which device, what it reported."""

from __future__ import annotations

from sqlalchemy import select

from arc.alarms.models import Alarm
from tests.arc.ingest.conftest import FakeUnit
from tests.factories import create_customer_with_unit, create_peripheral


async def test_card_lists_each_activation_with_its_device_and_what_it_reported(
    unit: FakeUnit, session, clock, client_as
):
    _, hub, _ = await create_customer_with_unit(session)
    await create_peripheral(session, hub, did="P1", dty="0003", location_text="worn on wrist")
    await create_peripheral(session, hub, did="S1", dty="0023", location_text="hallway ceiling")
    await session.commit()
    await unit.send(hub.cid, {"ref": "A1", "cid": hub.cid, "dty": "0003", "stc": "0010", "did": "P1"})
    clock.advance(seconds=30)
    await unit.send(hub.cid, {"ref": "A2", "cid": hub.cid, "dty": "0023", "stc": "0009", "did": "S1"})
    [alarm] = (await session.scalars(select(Alarm))).all()
    operator = await client_as("operator")

    card = (await operator.get(f"/api/alarms/{alarm.id}")).json()

    assert [(a["ref"], a["device_type"], a["did"], a["location_text"]) for a in card["activations"]] == [
        ("A1", "pendant / personal trigger", "P1", "worn on wrist"),
        ("A2", "smoke detector", "S1", "hallway ceiling"),
    ]
    assert all(a["status_text"] for a in card["activations"])
    assert card["alarm"]["category"] == "environmental"  # the smoke detector leads now

"""End to end through the operators' API: a unit's alarm reaches the queue; accepting it answers
the unit with snu 0 straight away."""

from __future__ import annotations

from tests.arc.ingest.conftest import FakeUnit
from tests.factories import create_customer_with_unit


async def test_unit_alarm_is_queued_and_accepting_it_answers_the_unit(unit: FakeUnit, session, client_as):
    customer, hub, _ = await create_customer_with_unit(session)
    await session.commit()
    assert (await unit.send(hub.cid, {"ref": "OP1", "cid": hub.cid, "dty": "5", "stc": "10"}))["snu"] == 4
    operator = await client_as("operator")
    queue = (await operator.get("/api/alarms/queue")).json()["items"]
    [item] = [a for a in queue if a["cid"] == hub.cid]
    assert (item["status"], item["customer"]["id"], item["title"]) == ("queued", customer.id, "Fall detector")

    accepted = await operator.post(f"/api/alarms/{item['id']}/accept")
    assert accepted.status_code == 200
    reply = await unit.reply(hub.cid)
    assert (reply["ref"], reply["snu"]) == ("OP1", 0)
    assert (await unit.send(hub.cid, {"ref": "OP1", "cid": hub.cid, "dty": "5", "stc": "10"}))["snu"] == 0


async def test_unknown_unit_alarm_is_in_the_operators_queue(unit: FakeUnit, client_as):
    assert (await unit.send("4400555", {"ref": "UQ1", "cid": "4400555", "dty": "3"}))["snu"] == 4
    operator = await client_as("operator")
    queue = (await operator.get("/api/alarms/queue")).json()["items"]
    [item] = [a for a in queue if a["cid"] == "4400555"]
    assert (item["unknown_unit"], item["kind"], item["customer"]) == (True, "unknown_unit", None)

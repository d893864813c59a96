"""What each answer costs on the wire: every answer at QoS 1, as the unit protocol says; where the
unit vendor agrees, a heartbeat's answer at QoS 0 (LIFELINE_MQTT_HEARTBEAT_ANSWER_QOS: no PUBACK back
to the ingest; a lost one costs the unit one retransmission, answered from the inbox) — decided on
the decoded message, not on the look at the raw payload that picks its lane."""

from __future__ import annotations

import pytest

from arc.ingest.models import InboxMessage
from tests.arc.ingest.conftest import FakeUnit, count
from tests.factories import create_customer_with_unit


@pytest.fixture
def settings(settings):
    return settings.model_copy(update={"mqtt_heartbeat_answer_qos": 0})


async def test_by_default_every_answer_goes_at_qos_1_as_the_protocol_says(app, unit: FakeUnit, session):
    app.state.settings.mqtt_heartbeat_answer_qos = 1  # the default (this module's fixture sets 0)
    _, hub, _ = await create_customer_with_unit(session)
    await session.commit()
    assert (await unit.send(hub.cid, {"ref": "HB0", "cid": hub.cid, "dty": "1", "mty": "PI"}))["snu"] == 0
    assert (await unit.send(hub.cid, {"ref": "AL0", "cid": hub.cid, "dty": "3"}))["snu"] == 4
    assert unit.qos[hub.cid] == [1, 1]


async def test_a_heartbeats_answer_goes_at_qos_0_and_an_alarms_at_qos_1(app, unit: FakeUnit, session):
    _, hub, _ = await create_customer_with_unit(session)
    await session.commit()
    beat = {"ref": "HB1", "cid": hub.cid, "dty": "1", "mty": "PI"}
    assert (await unit.send(hub.cid, beat))["snu"] == 0
    assert (await unit.send(hub.cid, beat))["snu"] == 0  # a retransmission, answered from the inbox
    # an alarm whose payload mentions a heartbeat deeper down takes the heartbeat lane, not its QoS
    alarm = {"ref": "AL1", "cid": hub.cid, "dty": "3", "stc": "10", "note": {"mty": "PI"}}
    assert (await unit.send(hub.cid, alarm))["snu"] == 4
    xml_beat = f"<mrq><ref>HB2</ref><cid>{hub.cid}</cid><dty>1</dty><mty>pi</mty></mrq>"
    assert (await unit.send(hub.cid, xml_beat))["snu"] == 0
    assert unit.qos[hub.cid] == [0, 0, 1, 0]
    assert await count(session, InboxMessage, InboxMessage.cid == hub.cid) == 3  # the repeat stored once


async def test_a_rejected_heartbeat_is_answered_at_qos_1(app, unit: FakeUnit, session):
    _, hub, _ = await create_customer_with_unit(session)
    await session.commit()
    answer = await unit.send(hub.cid, {"ref": "HB3", "cid": hub.cid, "mty": "PI"})  # no dty
    assert answer["snu"] == 7
    assert unit.qos[hub.cid] == [1]


async def test_the_ingests_publisher_queues_without_waiting_and_says_when_it_cannot(app, unit: FakeUnit):
    publisher = app.state.mqtt
    await publisher.publish(app.state.settings.topic("4409999", "mrs"), b'{"ref":"P1","snu":0,"ste":"OK"}')
    assert (await unit.reply("4409999"))["ref"] == "P1"
    assert unit.qos["4409999"] == [1]
    connection, publisher.client = publisher.client, None
    try:
        with pytest.raises(ConnectionError):
            await publisher.publish(app.state.settings.topic("4409999", "mrs"), b"{}")
    finally:
        publisher.client = connection

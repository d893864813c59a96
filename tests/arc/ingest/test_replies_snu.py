"""Every `snu` a unit can get, end to end over the real broker and PostgreSQL."""

from __future__ import annotations

import json
import uuid

from sqlalchemy import select

from arc.alarms.models import Alarm
from arc.ingest.models import InboxMessage, RejectedMessage
from arc.ingest.pipeline import Incoming, Pipeline
from arc.ingest.worker import IngestWorker
from arc.kit.db import make_sessionmaker
from arc.kit.settings import Settings
from arc.registry.units import Unit
from tests.arc.ingest.conftest import FakeUnit, count
from tests.factories import create_customer_with_unit, create_unit


async def test_heartbeat_is_answered_0_and_marks_the_unit_heard(unit: FakeUnit, session, clock):
    registered = await create_unit(session)
    await session.commit()
    reply = await unit.send(registered.cid, {"ref": "HB1", "cid": registered.cid, "dty": "0001", "mty": "PI"})
    assert reply == {"ref": "HB1", "snu": 0, "ste": "OK", "fmt": "json"}
    stored = await session.get(Unit, registered.id, populate_existing=True)
    assert stored.last_heard_at == clock.now() and stored.last_heartbeat_at == clock.now()
    assert stored.comms_state == "ok"


async def test_unit_offering_hbo_gets_the_arc_interval_as_hbi(unit: FakeUnit, session):
    own = await create_unit(session, heartbeat_interval_minutes=15)
    await session.commit()
    reply = await unit.send(own.cid, {"ref": "HB2", "cid": own.cid, "dty": "1", "mty": "PI", "hbo": "001"})
    assert (reply["snu"], reply["hbi"]) == (0, 15)
    plain = await unit.send(own.cid, {"ref": "HB3", "cid": own.cid, "dty": "1", "mty": "PI"})
    assert "hbi" not in plain
    assert (await session.get(Unit, own.id, populate_existing=True)).accepts_hbi is True


async def test_unknown_unit_with_hbo_gets_the_default_interval(unit: FakeUnit, settings: Settings):
    reply = await unit.send("4499001", {"ref": "HB4", "cid": "4499001", "dty": "1", "mty": "PI", "hbo": "1"})
    assert reply["hbi"] == settings.heartbeat_interval_minutes


async def test_alarm_is_answered_hold_until_accepted_then_0(unit: FakeUnit, session):
    customer, registered, _ = await create_customer_with_unit(session)
    await session.commit()
    alarm_mrq = {"ref": "A1B2C3", "cid": registered.cid, "dty": "0003", "stc": "0010", "did": "P1"}
    assert (await unit.send(registered.cid, alarm_mrq))["snu"] == 4
    assert (await unit.send(registered.cid, alarm_mrq))["snu"] == 4  # HOLD re-poll
    alarm = await session.scalar(select(Alarm).where(Alarm.cid == registered.cid))
    assert (alarm.status, alarm.customer_id, alarm.kind) == ("queued", customer.id, "activation")
    alarm.status = "accepted"
    await session.commit()
    assert (await unit.send(registered.cid, alarm_mrq))["snu"] == 0
    row = await session.scalar(select(InboxMessage).where(InboxMessage.ref == "A1B2C3"))
    assert row.final_answer_at is not None


async def test_payload_over_the_limit_gets_1_and_its_start_is_kept(unit: FakeUnit, session):
    big = json.dumps({"ref": "BIG1", "cid": "4401234", "dty": "3", "pad": "x" * 60_000}).encode()
    reply = await unit.send("4401234", big)
    assert (reply["ref"], reply["snu"]) == ("BIG1", 1)
    row = await session.scalar(select(RejectedMessage))
    assert (row.reason, row.snu, row.cid, row.payload) == ("too_long", 1, "4401234", big[:1024])
    assert f"{len(big)} bytes" in row.detail  # a bounded excerpt, not 60 KB kept for 30 days


async def test_a_message_past_the_packet_cap_never_reaches_the_service(unit: FakeUnit, session, settings):
    """MQTT 5 Maximum Packet Size: the broker drops what the service would only have to refuse,
    before it costs the service memory (the shipped Mosquitto config refuses it at the door too)."""
    huge = b'{"ref":"H1","cid":"4401234","pad":"' + b"x" * (settings.mqtt_max_packet_bytes + 1) + b'"}'
    await unit.publish("4401234", huge)
    assert await unit.no_reply("4401234", within=1.5)
    assert await count(session, RejectedMessage) == 0
    after = await unit.send("4401234", {"ref": "H2", "cid": "4401234", "dty": "1", "mty": "PI"})
    assert after["ref"] == "H2"  # still connected and answering


async def test_unparseable_payload_gets_2_in_the_format_it_was_sent(unit: FakeUnit, session):
    assert (await unit.send("4401234", b"not json at all"))["snu"] == 2
    xml_reply = await unit.send("4401234", b"<mrq><ref>X9</ref><cid>4401234</cid>")
    assert (xml_reply["fmt"], xml_reply["ref"], xml_reply["snu"]) == ("xml", "X9", 2)
    assert await count(session, RejectedMessage, RejectedMessage.reason == "invalid_format") == 2


async def test_cid_differing_from_topic_gets_3_and_lands_in_rejected_inbox(unit: FakeUnit, session):
    payload = json.dumps({"ref": "X1", "cid": "4409999", "dty": "0003"}).encode()
    reply = await unit.send("4409999", payload, topic_cid="4401234")
    assert reply == {"ref": "X1", "snu": 3, "ste": "tag 'cid' does not match the topic", "fmt": "json"}
    row = await session.scalar(select(RejectedMessage))
    assert (row.reason, row.cid, row.ref, row.payload) == ("cid_mismatch", "4401234", "X1", payload)
    assert await count(session, InboxMessage) == 0
    assert await count(session, Alarm) == 0


async def test_missing_mandatory_tag_gets_7_and_missing_ref_gets_10(unit: FakeUnit, session):
    assert (await unit.send("4401234", {"ref": "M1", "cid": "4401234"}))["snu"] == 7
    no_ref = await unit.send("4401234", {"cid": "4401234", "dty": "3"})
    assert (no_ref["snu"], no_ref["ref"]) == (10, "")
    reasons = set(await session.scalars(select(RejectedMessage.reason)))
    assert reasons == {"missing_tag", "missing_ref"}


async def test_store_failure_is_answered_5_not_treated(settings: Settings, clock):
    from arc.kit.db import make_engine

    broken = make_engine("postgresql+asyncpg://nobody@127.0.0.1:1/nowhere", pool_size=1)
    try:
        pipeline = Pipeline(settings, make_sessionmaker(broken), clock)
        topic = settings.topic("4401234", "mrq")
        payload = json.dumps({"ref": "R5", "cid": "4401234", "dty": "3"}).encode()
        [reply] = await pipeline.handle([Incoming(topic, payload)])
    finally:
        await broken.dispose()
    assert reply.topic == settings.topic("4401234", "mrs")
    assert json.loads(reply.payload) == {"ref": "R5", "snu": 5, "ste": "not treated"}


async def test_backlog_over_limit_is_answered_6_busy_and_not_stored(settings: Settings, engine, db, clock):
    tight = settings.model_copy(
        update={"ingest_max_backlog": 0, "mqtt_client_id": f"lifeline-test-busy-{uuid.uuid4().hex[:8]}"}
    )
    worker = IngestWorker(tight, make_sessionmaker(engine), clock)
    await worker.start()
    try:
        import aiomqtt

        from arc.ingest.mqtt import broker_address
        from tests.arc.ingest.conftest import parse_mrs

        async with aiomqtt.Client(**broker_address(settings.mqtt_url)) as client:
            await client.subscribe(tight.topic("4401234", "mrs"), qos=1)
            await client.publish(
                tight.topic("4401234", "mrq"), json.dumps({"ref": "B6", "cid": "4401234", "dty": "3"}), qos=1
            )
            async for message in client.messages:
                reply = parse_mrs(bytes(message.payload))
                break
    finally:
        await worker.stop()
    assert (reply["ref"], reply["snu"]) == ("B6", 6)
    async with make_sessionmaker(engine)() as s:
        assert await count(s, InboxMessage) == 0

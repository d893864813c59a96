"""Alarms that carry something odd still reach an operator: over-long free text, malformed optional
tags (a `tim` without offset, a `pri` of 12, a GPS fix time that is not a time). Only the tags that
make the event (ref, cid, dty, mty) must be valid; a cid that cannot be stored is refused (snu 3)."""

from __future__ import annotations

from sqlalchemy import select

from arc.alarms.models import Alarm
from arc.ingest.models import InboxMessage, RejectedMessage
from arc.registry.units import Unit
from tests.arc.ingest.conftest import FakeUnit, count
from tests.factories import create_customer_with_unit


async def _hub(session):
    customer, hub, _ = await create_customer_with_unit(session)
    await session.commit()
    return customer, hub


async def test_alarm_with_over_long_device_id_and_location_reaches_the_queue(unit: FakeUnit, session):
    customer, hub = await _hub(session)
    mrq = {"ref": "LONG1", "cid": hub.cid, "dty": "3", "did": "D" * 80, "dco": "C" * 70, "lte": "x" * 300}
    assert (await unit.send(hub.cid, mrq))["snu"] == 4
    alarm = await session.scalar(select(Alarm))
    assert (alarm.status, alarm.customer_id, alarm.kind) == ("queued", customer.id, "activation")
    assert (alarm.did, alarm.dco, alarm.location_text) == ("D" * 64, "C" * 64, "x" * 200)
    row = await session.scalar(select(InboxMessage))
    assert (row.action, row.message["did"]) == ("alarm_opened", "D" * 80)  # the full text is kept


async def test_technical_status_with_over_long_device_id_raises_its_alarm(unit: FakeUnit, session):
    _, hub = await _hub(session)
    mrq = {"ref": "BAT1", "cid": hub.cid, "dty": "3", "stc": "16", "did": "P" * 90}
    assert (await unit.send(hub.cid, mrq))["snu"] == 0
    alarm = await session.scalar(select(Alarm))
    assert (alarm.kind, alarm.did) == ("battery_low", "P" * 64)


async def test_alarm_with_a_local_time_without_offset_is_queued_not_refused(unit: FakeUnit, session):
    customer, hub = await _hub(session)
    mrq = {"ref": "TIM1", "cid": hub.cid, "dty": "5", "stc": "9", "tim": "2026-11-22T18:40:00", "pri": 12}
    assert (await unit.send(hub.cid, mrq))["snu"] == 4
    alarm = await session.scalar(select(Alarm))
    assert (alarm.status, alarm.customer_id, alarm.dty) == ("queued", customer.id, "0005")
    row = await session.scalar(select(InboxMessage))
    assert row.message["extra"]["invalid"] == {"tim": "2026-11-22T18:40:00", "pri": 12}
    assert await count(session, RejectedMessage) == 0
    assert (await unit.send(hub.cid, mrq))["snu"] == 4  # its re-poll is the same session
    assert await count(session, InboxMessage) == 1


async def test_gps_alarm_with_a_bad_fix_time_keeps_its_position(unit: FakeUnit, session, clock):
    _, hub = await _hub(session)
    mrq = {"ref": "G1", "cid": hub.cid, "dty": "51", "lge": {"geo": "52.2053,0.1218", "tim": "18:41"}}
    assert (await unit.send(hub.cid, mrq))["snu"] == 4
    alarm = await session.scalar(select(Alarm))
    assert (alarm.geo_lat, alarm.geo_lon, alarm.geo_at) == (52.2053, 0.1218, clock.now())


async def test_xml_alarm_with_a_bad_optional_tag_is_queued_and_answered_in_xml(unit: FakeUnit, session):
    _, hub = await _hub(session)
    xml = f"<mrq><ref>X5</ref><cid>{hub.cid}</cid><dty>3</dty><tim>yesterday</tim><cha>2x</cha></mrq>"
    reply = await unit.send(hub.cid, xml)
    assert (reply["fmt"], reply["snu"]) == ("xml", 4)
    assert await count(session, Alarm) == 1


async def test_heartbeat_with_a_bad_time_still_counts_as_heard(unit: FakeUnit, session, clock):
    _, hub = await _hub(session)
    mrq = {"ref": "HB1", "cid": hub.cid, "dty": "1", "mty": "PI", "tim": "now"}
    assert (await unit.send(hub.cid, mrq))["snu"] == 0
    assert (await session.get(Unit, hub.id, populate_existing=True)).last_heartbeat_at == clock.now()


async def test_bad_event_tags_and_over_long_cid_are_still_refused_with_3(unit: FakeUnit, session):
    _, hub = await _hub(session)
    assert (await unit.send(hub.cid, {"ref": "D1", "cid": hub.cid, "dty": "smoke"}))["snu"] == 3
    assert (await unit.send(hub.cid, {"ref": "D2", "cid": hub.cid, "dty": "3", "mty": "XX"}))["snu"] == 3
    cid = "4" * 40
    reply = await unit.send(cid, {"ref": "C40", "cid": cid, "dty": "3"})
    assert (reply["ref"], reply["snu"]) == ("C40", 3)
    reasons = sorted(await session.scalars(select(RejectedMessage.reason)))
    assert reasons == ["bad_value", "bad_value", "bad_value"]
    assert await count(session, Alarm) == 0

"""Message sessions: retransmissions, repeats, RE and IN, unknown units, XML vs JSON, GPS fixes."""

from __future__ import annotations

from sqlalchemy import select

from arc.alarms.events import LiveEvent
from arc.alarms.models import Alarm, AlarmEvent
from arc.ingest.models import InboxMessage
from tests.arc.ingest.conftest import FakeUnit, count
from tests.factories import create_customer_with_unit, create_peripheral


async def _registered(session, **kw):
    customer, unit, _ = await create_customer_with_unit(session, **kw)
    await session.commit()
    return customer, unit


async def events_of(session, alarm_id: int) -> list[str]:
    rows = await session.scalars(
        select(AlarmEvent.type).where(AlarmEvent.alarm_id == alarm_id).order_by(AlarmEvent.id)
    )
    return list(rows)


async def test_duplicate_ref_is_stored_once_and_gets_the_current_answer(unit: FakeUnit, session):
    _, hub = await _registered(session)
    mrq = {"ref": "DUP1", "cid": hub.cid, "dty": "3"}
    answers = [(await unit.send(hub.cid, mrq))["snu"] for _ in range(3)]
    assert answers == [4, 4, 4]
    assert await count(session, InboxMessage, InboxMessage.ref == "DUP1") == 1
    [alarm] = (await session.scalars(select(Alarm))).all()
    assert alarm.activation_count == 1  # a retransmission is not a repeat
    assert await events_of(session, alarm.id) == ["received"]


async def test_a_new_ref_while_the_alarm_is_open_joins_it_as_another_activation(
    unit: FakeUnit, session, clock
):
    _, hub = await _registered(session)
    await unit.send(hub.cid, {"ref": "R1", "cid": hub.cid, "dty": "3"})
    clock.advance(seconds=40)
    assert (await unit.send(hub.cid, {"ref": "R2", "cid": hub.cid, "dty": "5"}))["snu"] == 4
    [alarm] = (await session.scalars(select(Alarm))).all()
    assert (alarm.activation_count, alarm.last_activation_at) == (2, clock.now())
    assert await events_of(session, alarm.id) == ["received", "activation"]
    joined = await session.scalar(
        select(AlarmEvent).where(AlarmEvent.alarm_id == alarm.id, AlarmEvent.type == "activation")
    )
    assert (joined.data["device_type"], joined.data["ref"]) == ("fall detector", "R2")
    actions = dict((await session.execute(select(InboxMessage.ref, InboxMessage.action))).all())
    assert actions == {"R1": "alarm_opened", "R2": "alarm_attached"}


async def test_reset_after_alarm_is_recorded_but_the_alarm_stays_for_an_operator(
    unit: FakeUnit, session, clock
):
    _, hub = await _registered(session)
    assert (await unit.send(hub.cid, {"ref": "A7", "cid": hub.cid, "dty": "3"}))["snu"] == 4
    clock.advance(seconds=90)
    assert (await unit.send(hub.cid, {"ref": "A7", "cid": hub.cid, "dty": "3", "mty": "RE"}))["snu"] == 0
    alarm = await session.scalar(select(Alarm))
    assert (alarm.status, alarm.reset_at_unit_at) == ("queued", clock.now())
    assert await events_of(session, alarm.id) == ["received", "reset_at_unit"]
    # the unit's retransmission of the event still gets HOLD: nobody has seen it yet
    assert (await unit.send(hub.cid, {"ref": "A7", "cid": hub.cid, "dty": "3"}))["snu"] == 4


async def test_reset_closes_an_unaccepted_alarm_when_configured(app, unit: FakeUnit, session):
    app.state.ingest.pipeline.settings = app.state.settings.model_copy(update={"close_on_reset": True})
    _, hub = await _registered(session)
    await unit.send(hub.cid, {"ref": "A8", "cid": hub.cid, "dty": "3"})
    await unit.send(hub.cid, {"ref": "A8", "cid": hub.cid, "dty": "3", "mty": "RE"})
    alarm = await session.scalar(select(Alarm))
    assert (alarm.status, alarm.outcome_code) == ("closed", "reset_at_unit")
    assert (await unit.send(hub.cid, {"ref": "A8", "cid": hub.cid, "dty": "3"}))["snu"] == 0


async def test_reset_whose_event_never_arrived_still_reaches_an_operator(unit: FakeUnit, session):
    _, hub = await _registered(session)
    assert (await unit.send(hub.cid, {"ref": "LOST1", "cid": hub.cid, "dty": "3", "mty": "RE"}))["snu"] == 0
    alarm = await session.scalar(select(Alarm))
    assert alarm.status == "queued" and alarm.reset_at_unit_at is not None
    # when the event itself turns up later it joins that alarm, not a new one
    assert (await unit.send(hub.cid, {"ref": "LOST1", "cid": hub.cid, "dty": "3"}))["snu"] == 4
    assert await count(session, Alarm) == 1


async def test_information_update_adds_to_the_event_and_moves_the_gps_fix(unit: FakeUnit, session, clock):
    _, hub = await _registered(session)
    clock.advance(hours=7)  # 19:00 at the ARC: the fixes below were taken just before
    first = {"geo": "52.2053,0.1218", "tim": "2026-11-22T18:41:07+00:00"}
    moved = {"geo": "52.2061,0.1225", "tim": "2026-11-22T18:42:07+00:00"}
    await unit.send(hub.cid, {"ref": "M77", "cid": hub.cid, "dty": "0051", "stc": "0010", "lge": first})
    alarm = await session.scalar(select(Alarm))
    assert (alarm.geo_lat, alarm.geo_lon) == (52.2053, 0.1218)
    info = {"ref": "M77", "cid": hub.cid, "dty": "0051", "mty": "IN", "lge": moved}
    assert (await unit.send(hub.cid, info))["snu"] == 0
    assert (await unit.send(hub.cid, info))["snu"] == 0  # same update again: stored once
    second = {**info, "stt": "moving"}
    assert (await unit.send(hub.cid, second))["snu"] == 0  # different content: stored too
    alarm = await session.get(Alarm, alarm.id, populate_existing=True)
    assert (alarm.geo_lat, alarm.geo_lon, alarm.geo_at.isoformat()) == (52.2061, 0.1225, moved["tim"])
    assert await count(session, InboxMessage, InboxMessage.mty == "IN") == 2
    assert await events_of(session, alarm.id) == ["received", "info", "info"]


async def test_unknown_unit_alarm_reaches_the_queue(unit: FakeUnit, session):
    assert (await unit.send("4400777", {"ref": "U1", "cid": "4400777", "dty": "3"}))["snu"] == 4
    alarm = await session.scalar(select(Alarm))
    assert (alarm.status, alarm.unknown_unit, alarm.kind, alarm.customer_id) == (
        "queued",
        True,
        "unknown_unit",
        None,
    )
    assert alarm.title.startswith("Unknown unit 4400777")
    opened = await session.scalar(select(LiveEvent).where(LiveEvent.kind == "alarm.opened"))
    assert opened.alarm_id == alarm.id and opened.payload["unknown_unit"] is True


async def test_xml_and_json_give_the_same_alarm(unit: FakeUnit, session):
    _, hub_json = await _registered(session)
    _, hub_xml = await _registered(session)
    for hub in (hub_json, hub_xml):
        await create_peripheral(session, hub, did="F1", dty="0005", location_text="lounge")
    await session.commit()
    as_json = {
        "ref": "A1B2C3",
        "cid": hub_json.cid,
        "dty": 5,
        "stc": "10",
        "did": "F1",
        "crd": "gsm:+447700900123",
    }
    as_xml = (
        f"<?xml version='1.0' encoding='UTF-8'?><mrq><ref>A1B2C3</ref><cid>{hub_xml.cid}</cid><dty>5</dty>"
        "<stc>10</stc><did>F1</did><crd>gsm:+447700900123</crd></mrq>"
    )
    json_reply = await unit.send(hub_json.cid, as_json)
    xml_reply = await unit.send(hub_xml.cid, as_xml)
    assert (json_reply["fmt"], xml_reply["fmt"]) == ("json", "xml")
    assert json_reply["snu"] == xml_reply["snu"] == 4
    alarms = {a.cid: a for a in await session.scalars(select(Alarm))}
    fields = (
        "status",
        "priority",
        "category",
        "kind",
        "title",
        "ref",
        "dty",
        "stc",
        "did",
        "location_text",
        "caller_ids",
    )
    a, b = alarms[hub_json.cid], alarms[hub_xml.cid]
    assert {f: getattr(a, f) for f in fields} == {f: getattr(b, f) for f in fields}
    assert a.title == "Fall detector — lounge"


async def test_automatic_test_transmission_is_answered_0_recorded_and_not_queued(
    unit: FakeUnit, session, clock
):
    from arc.registry.units import Unit

    _, hub = await _registered(session)
    assert (await unit.send(hub.cid, {"ref": "T1", "cid": hub.cid, "dty": "1", "stc": "102"}))["snu"] == 0
    assert await count(session, Alarm) == 0
    assert (await session.get(Unit, hub.id, populate_existing=True)).last_test_at == clock.now()


async def test_concurrent_batches_for_one_unit_give_one_alarm_in_any_order(
    settings, engine, db, clock, session
):
    import asyncio
    import json

    from arc.ingest.pipeline import Incoming, Pipeline
    from arc.kit.db import make_sessionmaker

    _, hub = await _registered(session)
    pipeline = Pipeline(settings, make_sessionmaker(engine), clock)
    topic = settings.topic(hub.cid, "mrq")

    def item(**tags) -> Incoming:
        return Incoming(topic, json.dumps({"cid": hub.cid, "dty": "3", **tags}).encode())

    for _round in range(3):
        await asyncio.gather(
            pipeline.handle([item(ref="C1")]),
            pipeline.handle([item(ref="C1", mty="RE")]),
            pipeline.handle([item(ref="C2")]),
        )
    [alarm] = (await session.scalars(select(Alarm))).all()
    assert (alarm.activation_count, alarm.status) == (2, "queued")
    assert alarm.reset_at_unit_at is not None


async def test_the_dashboard_hears_the_new_alarm_with_its_id_and_customer_then_the_second_device(
    unit: FakeUnit, session, clock
):
    """The alarm's row, first log line and live event are written in one statement before the
    alarm has an id: the event the dashboards get must still carry it, with the person and the
    device; a second device joining is announced on the same alarm."""
    customer, hub = await _registered(session)
    pendant = await create_peripheral(session, hub, did="P1", dty="0003", location_text="worn on wrist")
    await session.commit()
    raised = clock.now()
    assert (await unit.send(hub.cid, {"ref": "C1", "cid": hub.cid, "dty": "3", "did": "P1"}))["snu"] == 4
    clock.advance(seconds=20)
    assert (await unit.send(hub.cid, {"ref": "C2", "cid": hub.cid, "dty": "5"}))["snu"] == 4
    [alarm] = (await session.scalars(select(Alarm))).all()
    events = (await session.scalars(select(LiveEvent).order_by(LiveEvent.id))).all()
    assert [(e.kind, e.alarm_id) for e in events] == [("alarm.opened", alarm.id), ("alarm.updated", alarm.id)]
    opened, joined = (e.payload for e in events)
    assert (opened["id"], opened["status"], opened["location_text"], opened["activation_count"]) == (
        alarm.id,
        "queued",
        "worn on wrist",
        1,
    )
    name = f"{customer.given_name} {customer.family_name}"
    assert opened["customer"] == {"id": customer.id, "name": name, "postcode": customer.postcode}
    assert (joined["id"], joined["activation_count"], joined["customer"]["name"]) == (alarm.id, 2, name)
    assert "fall detector" in joined["title"].lower()
    assert await events_of(session, alarm.id) == ["received", "activation"]
    await session.refresh(pendant)
    assert pendant.last_seen_at == raised  # the pendant that raised it is marked seen

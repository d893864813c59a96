"""Several messages about one unit in the same transaction: a new alarm is written in one statement
on the bare connection, so what follows it in the batch must still find it and change it — the
second device joins it, its IN adds the fix, and the dashboards hear every change on that alarm."""

from __future__ import annotations

import json

from sqlalchemy import select

from arc.alarms.events import LiveEvent
from arc.alarms.models import Alarm, AlarmEvent
from arc.ingest.pipeline import Incoming, Pipeline
from arc.kit.db import make_sessionmaker
from tests.factories import create_customer_with_unit


async def test_an_alarm_opened_in_a_batch_is_joined_and_updated_by_the_rest_of_it(
    settings, engine, db, session, clock
):
    customer, hub, _ = await create_customer_with_unit(session)
    _, other, _ = await create_customer_with_unit(session)
    await session.commit()

    def message(cid: str, **body) -> Incoming:
        return Incoming(settings.topic(cid, "mrq"), json.dumps({"cid": cid, **body}).encode())

    batch = [
        message(hub.cid, ref="P1", dty="3"),  # pendant: opens the alarm
        message(other.cid, ref="Q1", dty="3"),  # another home's alarm, same batch
        message(hub.cid, ref="S1", dty="0023"),  # smoke detector: joins, and leads it
        message(hub.cid, ref="P1", dty="3", mty="IN", lge={"geo": "52.2,0.12"}),  # a fix for the pendant
    ]
    replies = await Pipeline(settings, make_sessionmaker(engine), clock).handle(batch)
    assert [json.loads(r.payload)["snu"] for r in replies] == [4, 4, 4, 0]

    alarms = {a.cid: a for a in (await session.scalars(select(Alarm))).all()}
    assert set(alarms) == {hub.cid, other.cid}
    alarm = alarms[hub.cid]
    assert (alarm.activation_count, alarm.category, alarm.geo_lat) == (2, "environmental", 52.2)
    assert alarm.title.lower().startswith("smoke detector") and "pendant" in alarm.title.lower()
    logged = select(AlarmEvent.type).where(AlarmEvent.alarm_id == alarm.id).order_by(AlarmEvent.id)
    log = (await session.scalars(logged)).all()
    assert log == ["received", "activation", "info"]

    live = (await session.scalars(select(LiveEvent).order_by(LiveEvent.id))).all()
    ours = [e for e in live if e.alarm_id == alarm.id]
    assert [e.kind for e in ours] == ["alarm.opened", "alarm.updated", "alarm.updated"]
    assert all(e.payload["id"] == alarm.id for e in ours)
    assert ours[0].payload["customer"]["id"] == customer.id
    assert (ours[-1].payload["activation_count"], ours[-1].payload["category"]) == (2, "environmental")
    assert [e.payload["id"] for e in live if e.alarm_id == alarms[other.cid].id] == [alarms[other.cid].id]

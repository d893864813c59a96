"""Order and time: a heartbeat whose ref comes round again is still a heartbeat; GPS updates that
arrive out of order, or stamped by a unit clock in the future, never move the alarm to a stale or
impossible fix; a slow batch never moves a unit's last-heard time back."""

from __future__ import annotations

import json
from datetime import timedelta

from sqlalchemy import select

from arc.alarms.models import Alarm
from arc.ingest.models import InboxMessage
from arc.ingest.pipeline import Incoming, Pipeline
from arc.kit.clock import FrozenClock
from arc.kit.db import make_sessionmaker
from arc.registry.units import Unit
from tests.arc.ingest.conftest import FakeUnit, count
from tests.factories import create_customer_with_unit


async def _hub(session):
    _, hub, _ = await create_customer_with_unit(session)
    await session.commit()
    return hub


async def test_heartbeat_ref_reused_after_its_session_is_a_heartbeat_not_an_alarm(
    unit: FakeUnit, session, clock, settings
):
    hub = await _hub(session)
    heartbeat = {"ref": "HB", "cid": hub.cid, "dty": "1", "mty": "PI"}
    assert (await unit.send(hub.cid, heartbeat))["snu"] == 0
    clock.advance(minutes=settings.ingest_ref_reuse_minutes + 1)
    assert (await unit.send(hub.cid, heartbeat))["snu"] == 0
    assert await count(session, Alarm) == 0
    rows = (await session.execute(select(InboxMessage.generation, InboxMessage.action))).all()
    assert sorted(rows) == [(0, "heartbeat"), (1, "heartbeat")]
    assert (await session.get(Unit, hub.id, populate_existing=True)).last_heartbeat_at == clock.now()


async def test_gps_update_arriving_late_does_not_move_the_alarm_back(unit: FakeUnit, session, clock):
    hub = await _hub(session)
    clock.advance(hours=7)  # 19:00 at the ARC; the unit took its fixes just before
    newer = {"geo": "52.2061,0.1225", "tim": "2026-11-22T18:42:07+00:00"}
    older = {"geo": "52.2053,0.1218", "tim": "2026-11-22T18:41:07+00:00"}
    await unit.send(hub.cid, {"ref": "M1", "cid": hub.cid, "dty": "51", "lge": newer})
    late = {"ref": "M1", "cid": hub.cid, "dty": "51", "mty": "IN", "lge": older}
    assert (await unit.send(hub.cid, late))["snu"] == 0
    alarm = await session.scalar(select(Alarm))
    assert (alarm.geo_lat, alarm.geo_lon, alarm.geo_at.isoformat()) == (52.2061, 0.1225, newer["tim"])
    newest = {"geo": "52.2070,0.1230", "tim": "2026-11-22T18:43:07+00:00"}
    await unit.send(hub.cid, {**late, "lge": newest})
    alarm = await session.get(Alarm, alarm.id, populate_existing=True)
    assert (alarm.geo_lat, alarm.geo_lon) == (52.2070, 0.1230)


async def test_gps_fix_stamped_in_the_future_counts_as_taken_now(unit: FakeUnit, session, clock):
    hub = await _hub(session)
    ahead = (clock.now() + timedelta(days=3650)).isoformat()
    await unit.send(hub.cid, {"ref": "F1", "cid": hub.cid, "dty": "51", "lge": {"geo": "1,2", "tim": ahead}})
    alarm = await session.scalar(select(Alarm))
    assert (alarm.geo_lat, alarm.geo_at) == (1.0, clock.now())
    clock.advance(minutes=1)  # the unit's clock is put right: its next fix still moves the alarm
    right = {"geo": "3,4", "tim": clock.now().isoformat()}
    await unit.send(hub.cid, {"ref": "F1", "cid": hub.cid, "dty": "51", "mty": "IN", "lge": right})
    alarm = await session.get(Alarm, alarm.id, populate_existing=True)
    assert (alarm.geo_lat, alarm.geo_at) == (3.0, clock.now())


async def test_a_batch_that_commits_late_never_moves_last_heard_back(settings, engine, db, session):
    hub = await _hub(session)
    later, earlier = FrozenClock(), FrozenClock()
    later.advance(minutes=5)
    topic = settings.topic(hub.cid, "mrq")
    maker = make_sessionmaker(engine)
    for clock, ref in ((later, "B2"), (earlier, "B1")):  # the batch stamped earlier commits second
        payload = json.dumps({"ref": ref, "cid": hub.cid, "dty": "1", "mty": "PI"}).encode()
        await Pipeline(settings, maker, clock).handle([Incoming(topic, payload)])
    stored = await session.get(Unit, hub.id, populate_existing=True)
    assert stored.last_heard_at == stored.last_heartbeat_at == later.now()

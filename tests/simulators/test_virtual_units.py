"""Virtual units behave like real ones: heartbeats with hbi, HOLD re-polls until 0, RE on give-up."""

from __future__ import annotations

import asyncio
import contextlib

from sqlalchemy import select, update

from arc.alarms.models import Alarm
from arc.ingest.models import InboxMessage
from simulators.fleet import Fleet
from simulators.unit import decode_mrs, encode_mrq
from tests.factories import create_customer_with_unit


async def _fleet(settings, cids, **kw) -> tuple[Fleet, asyncio.Task]:
    fleet = Fleet(settings.mqtt_url, settings.mqtt_topic_root, cids, alarm_every_s=0, **kw)
    task = asyncio.create_task(fleet.run())
    await asyncio.wait_for(fleet.connected.wait(), 5)
    return fleet, task


async def _stop(task: asyncio.Task) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def test_heartbeat_is_answered_and_the_unit_adopts_the_arc_interval(app, session, settings):
    _, hub, _ = await create_customer_with_unit(session)
    hub.heartbeat_interval_minutes = 30
    await session.commit()
    fleet, task = await _fleet(settings, [hub.cid], heartbeat_s=3600, retry_s=(0.2, 0.3))
    try:
        unit = fleet.units[hub.cid]
        assert await unit.heartbeat() == 0
        assert unit.heartbeat_s == 30 * 60
    finally:
        await _stop(task)


async def test_activation_re_polls_while_on_hold_and_stops_at_0(app, session, settings):
    _, hub, _ = await create_customer_with_unit(session)
    await session.commit()
    fleet, task = await _fleet(settings, [hub.cid], heartbeat_s=3600, retry_s=(0.1, 0.15), give_up_s=10)
    try:
        activation = asyncio.create_task(fleet.units[hub.cid].activate(dty="0005"))
        for _ in range(100):
            if await session.scalar(select(Alarm.id)):
                break
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.4)  # a few HOLD re-polls
        await session.execute(update(Alarm).values(status="accepted"))
        await session.commit()
        assert await asyncio.wait_for(activation, 5) == 0
    finally:
        await _stop(task)
    assert len(list(await session.scalars(select(Alarm)))) == 1
    assert len(list(await session.scalars(select(InboxMessage).where(InboxMessage.mty == "ME")))) == 1


async def test_unit_gives_up_after_its_window_and_sends_reset(app, session, settings):
    _, hub, _ = await create_customer_with_unit(session)
    await session.commit()
    fleet, task = await _fleet(settings, [hub.cid], heartbeat_s=3600, retry_s=(0.1, 0.1), give_up_s=0.5)
    try:
        assert await fleet.units[hub.cid].activate() is None
        for _ in range(100):
            alarm = await session.scalar(select(Alarm).execution_options(populate_existing=True))
            if alarm is not None and alarm.reset_at_unit_at is not None:
                break
            await asyncio.sleep(0.05)
    finally:
        await _stop(task)
    assert alarm.reset_at_unit_at is not None and alarm.status == "queued"  # still for an operator


def test_codec_round_trip_for_both_formats():
    message = {"ref": "A1", "cid": "4401234", "dty": "0003"}
    assert encode_mrq(message) == b'{"ref":"A1","cid":"4401234","dty":"0003"}'
    assert encode_mrq(message, "xml") == b"<mrq><ref>A1</ref><cid>4401234</cid><dty>0003</dty></mrq>"
    assert decode_mrs(b"<mrs><ref>A1</ref><snu>4</snu><ste>hold</ste></mrs>")["snu"] == 4
    assert decode_mrs(b'{"ref":"A1","snu":0,"ste":"OK","hbi":60}')["hbi"] == 60
    assert decode_mrs(b"garbage") == {}

"""Answers sent later: an operator accepts -> every waiting session of the alarm gets snu 0;
refs reused long after their session; counters per reason on /metrics."""

from __future__ import annotations

import uuid

from sqlalchemy import select

from arc.alarms.models import Alarm
from arc.ingest.models import InboxMessage
from arc.ingest.replies import answer_alarm_sessions
from arc.kit.db import session_scope
from arc.kit.settings import Settings
from tests.arc.ingest.conftest import FakeUnit, count
from tests.factories import create_customer_with_unit


async def test_accepting_answers_every_waiting_session_once_in_its_own_format(app, unit: FakeUnit, session):
    _, hub, _ = await create_customer_with_unit(session)
    await session.commit()
    assert (await unit.send(hub.cid, {"ref": "J1", "cid": hub.cid, "dty": "3"}))["snu"] == 4
    xml = f"<mrq><ref>X2</ref><cid>{hub.cid}</cid><dty>5</dty></mrq>"
    assert (await unit.send(hub.cid, xml))["snu"] == 4  # a repeat: same alarm, its own session
    alarm = await session.scalar(select(Alarm))
    async with session_scope(app.state.sessionmaker) as work:
        (await work.get(Alarm, alarm.id)).status = "accepted"
        assert await answer_alarm_sessions(work, app.state.mqtt, alarm.id, snu=0) == 2
    answers = sorted([await unit.reply(hub.cid), await unit.reply(hub.cid)], key=lambda a: a["ref"])
    assert [(a["ref"], a["snu"], a["fmt"]) for a in answers] == [("J1", 0, "json"), ("X2", 0, "xml")]
    async with session_scope(app.state.sessionmaker) as work:  # nothing left to answer
        assert await answer_alarm_sessions(work, app.state.mqtt, alarm.id) == 0
    assert await unit.no_reply(hub.cid)


async def test_no_publisher_means_nothing_is_sent_and_the_re_poll_answers(app, unit: FakeUnit, session):
    _, hub, _ = await create_customer_with_unit(session)
    await session.commit()
    await unit.send(hub.cid, {"ref": "J3", "cid": hub.cid, "dty": "3"})
    alarm = await session.scalar(select(Alarm))
    async with session_scope(app.state.sessionmaker) as work:
        (await work.get(Alarm, alarm.id)).status = "accepted"
        assert await answer_alarm_sessions(work, None, alarm.id) == 0
    assert (await unit.send(hub.cid, {"ref": "J3", "cid": hub.cid, "dty": "3"}))["snu"] == 0


async def test_ref_reused_after_its_session_ended_opens_a_new_alarm(
    unit: FakeUnit, session, clock, settings: Settings
):
    _, hub, _ = await create_customer_with_unit(session)
    await session.commit()
    await unit.send(hub.cid, {"ref": "W1", "cid": hub.cid, "dty": "3"})
    first = await session.scalar(select(Alarm))
    first.status = "closed"
    await session.commit()
    clock.advance(minutes=settings.ingest_ref_reuse_minutes - 1)
    assert (await unit.send(hub.cid, {"ref": "W1", "cid": hub.cid, "dty": "3"}))[
        "snu"
    ] == 0  # a late retransmission
    clock.advance(minutes=2)
    assert (await unit.send(hub.cid, {"ref": "W1", "cid": hub.cid, "dty": "3"}))[
        "snu"
    ] == 4  # the counter wrapped
    assert await count(session, Alarm) == 2
    generations = list(
        await session.scalars(select(InboxMessage.generation).order_by(InboxMessage.generation))
    )
    assert generations == [0, 1]


async def test_metrics_count_rejections_per_reason_and_replies_per_snu(unit: FakeUnit, anon_client):
    cid = str(4_400_000 + uuid.uuid4().int % 99_999)
    await unit.send(cid, b"{not json")
    await unit.send(cid, {"ref": "Q1", "cid": "1", "dty": "3"})
    await unit.send(cid, {"ref": "Q2", "cid": cid, "dty": "1", "mty": "PI"})
    text = (await anon_client.get("/metrics")).text
    for line in (
        'lifeline_ingest_rejected_total{reason="invalid_format"}',
        'lifeline_ingest_rejected_total{reason="cid_mismatch"}',
        'lifeline_ingest_messages_total{outcome="stored"}',
        'lifeline_ingest_triage_total{action="heartbeat"}',
        'lifeline_ingest_replies_total{snu="2"}',
        "lifeline_ingest_batch_size_bucket",
    ):
        assert line in text, line

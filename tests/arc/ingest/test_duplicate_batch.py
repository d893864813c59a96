"""Retransmissions arriving together in one batch, in process (no MQTT): each gets the answer its
session has now, in order, and a ref reused long after its session ended is still a new alarm."""

from __future__ import annotations

import json

from sqlalchemy import select

from arc.alarms.models import Alarm
from arc.ingest.models import InboxMessage
from arc.ingest.pipeline import Incoming, Pipeline
from arc.kit.db import make_sessionmaker
from tests.factories import create_customer_with_unit


def _message(settings, cid: str, **body) -> Incoming:
    return Incoming(settings.topic(cid, "mrq"), json.dumps({"cid": cid, **body}).encode())


def _snus(replies) -> list[tuple[str, int]]:
    return [(json.loads(r.payload)["ref"], json.loads(r.payload)["snu"]) for r in replies]


async def test_a_batch_of_retransmissions_gets_each_session_its_current_answer(
    settings, engine, db, session, clock
):
    _, waiting, _ = await create_customer_with_unit(session)
    _, accepted, _ = await create_customer_with_unit(session)
    await session.commit()
    pipeline = Pipeline(settings, make_sessionmaker(engine), clock)
    sent = [
        _message(settings, waiting.cid, ref="A1", dty="3"),
        _message(settings, accepted.cid, ref="B1", dty="3"),
        _message(settings, waiting.cid, ref="H1", dty="1", mty="PI"),
    ]
    assert _snus(await pipeline.handle(sent)) == [("A1", 4), ("B1", 4), ("H1", 0)]
    alarm = await session.scalar(select(Alarm).where(Alarm.cid == accepted.cid))
    alarm.status = "accepted"
    await session.commit()

    again = [Incoming(item.topic, item.payload) for item in reversed(sent)]
    again.append(Incoming(sent[1].topic, sent[1].payload))  # the same one twice in the batch
    assert _snus(await pipeline.handle(again)) == [("H1", 0), ("B1", 0), ("A1", 4), ("B1", 0)]
    rows = (await session.execute(select(InboxMessage.ref, InboxMessage.final_answer_at))).all()
    answered = {ref: at for ref, at in rows}
    assert len(rows) == 3  # stored once each
    assert answered["A1"] is None  # still on hold: its final answer is yet to come
    assert answered["B1"] == clock.now() and answered["H1"] == clock.now()


async def test_a_ref_reused_after_its_session_ended_is_a_new_alarm_in_a_batch_too(
    settings, engine, db, session, clock
):
    _, hub, _ = await create_customer_with_unit(session)
    await session.commit()
    pipeline = Pipeline(settings, make_sessionmaker(engine), clock)
    await pipeline.handle([_message(settings, hub.cid, ref="W1", dty="3")])
    (await session.scalar(select(Alarm))).status = "closed"
    await session.commit()
    clock.advance(minutes=settings.ingest_ref_reuse_minutes + 1)

    batch = [
        _message(settings, hub.cid, ref="H2", dty="1", mty="PI"),
        _message(settings, hub.cid, ref="W1", dty="3"),  # the counter wrapped: a new alarm
        _message(settings, hub.cid, ref="W1", dty="3"),  # and its retransmission: the new session's answer
    ]
    assert _snus(await pipeline.handle(batch)) == [("H2", 0), ("W1", 4), ("W1", 4)]
    alarms = (await session.scalars(select(Alarm.status).order_by(Alarm.id))).all()
    assert alarms == ["closed", "queued"]
    generations = (
        await session.scalars(select(InboxMessage.generation).where(InboxMessage.ref == "W1"))
    ).all()
    assert sorted(generations) == [0, 1]

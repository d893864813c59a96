"""A batch of quick messages (heartbeats, tests) stored in one transaction, in process (no MQTT):
every message its own inbox row and its own answer, in order, every unit marked heard once."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import func, select

from arc.ingest.models import InboxMessage, RejectedMessage
from arc.ingest.pipeline import Incoming, Pipeline
from arc.ingest.replies import answer, make_reply
from arc.kit.db import make_sessionmaker
from arc.registry.units import Unit
from devices.protocol import Mrs, decode_mrq
from tests.factories import create_unit


def _message(settings, cid: str, **body) -> Incoming:
    return Incoming(settings.topic(cid, "mrq"), json.dumps({"cid": cid, "dty": "0001", **body}).encode())


async def test_each_message_of_a_heartbeat_batch_gets_its_own_row_and_answer(
    settings, engine, db, session, clock
):
    own = await create_unit(session, heartbeat_interval_minutes=15)
    plain = await create_unit(session)
    tested = await create_unit(session)
    await session.commit()
    batch = [
        _message(settings, own.cid, ref="H1", mty="PI", hbo="001"),  # its own interval
        _message(settings, plain.cid, ref="H2", mty="PI", hbo="1"),  # the default interval
        _message(settings, plain.cid, ref="H3", mty="PI"),  # no hbo: no hbi
        _message(settings, tested.cid, ref="T1", stc="0102"),  # automatic test: OK, no alarm
        _message(settings, own.cid, ref="H1", mty="PI", hbo="001"),  # the first again, same batch
        _message(settings, "4499001", ref="H4", mty="PI", hbo="001"),  # not registered
        Incoming(settings.topic(plain.cid, "mrq"), b"{not json"),  # rejected, kept
    ]
    replies = await Pipeline(settings, make_sessionmaker(engine), clock).handle(batch)

    answers = [json.loads(r.payload) for r in replies]
    default = settings.heartbeat_interval_minutes
    assert [(a["ref"], a["snu"], a.get("hbi")) for a in answers] == [
        ("H1", 0, 15),
        ("H2", 0, default),
        ("H3", 0, None),
        ("T1", 0, None),
        ("H1", 0, 15),
        ("H4", 0, default),
        ("", 2, None),
    ]
    assert [r.topic for r in replies] == [item.topic.removesuffix("mrq") + "mrs" for item in batch]
    rows = (await session.execute(select(InboxMessage.ref, InboxMessage.action, InboxMessage.snu))).all()
    assert sorted(rows) == [
        ("H1", "heartbeat", 0),
        ("H2", "heartbeat", 0),
        ("H3", "heartbeat", 0),
        ("H4", "heartbeat", 0),
        ("T1", "test", 0),
    ]
    assert await session.scalar(select(func.count()).select_from(RejectedMessage)) == 1
    units = {
        u.cid: u for u in (await session.scalars(select(Unit).execution_options(populate_existing=True)))
    }
    now = clock.now()
    assert (units[own.cid].last_heartbeat_at, units[own.cid].accepts_hbi) == (now, True)
    assert (units[plain.cid].last_heartbeat_at, units[plain.cid].accepts_hbi) == (now, True)
    assert (units[tested.cid].last_test_at, units[tested.cid].last_heartbeat_at) == (now, None)
    assert units[tested.cid].last_heard_at == now and units[tested.cid].accepts_hbi is False


async def test_a_retransmitted_batch_is_answered_as_before_and_stored_once(
    settings, engine, db, session, clock
):
    unit = await create_unit(session)
    await session.commit()
    pipeline = Pipeline(settings, make_sessionmaker(engine), clock)
    batch = [_message(settings, unit.cid, ref=f"R{n}", mty="PI", hbo="001") for n in range(5)]
    first = await pipeline.handle(batch)
    again = await pipeline.handle([Incoming(item.topic, item.payload) for item in batch])
    assert [r.payload for r in again] == [r.payload for r in first]
    assert await session.scalar(select(func.count()).select_from(InboxMessage)) == 5


async def test_the_inbox_keeps_the_message_as_decoded(settings, engine, db, session, clock):
    unit = await create_unit(session)
    await session.commit()
    body = {
        "ref": "S1",
        "cid": unit.cid,
        "dty": "0011",
        "stc": "0083",  # pill taken: answered at once, like a heartbeat
        "pri": 0,
        "did": "Dosette \u00e9t\u00e9 \u2603",
        "crd": ["a", "b"],
        "lge": {"geo": "52.2,0.12", "tim": "2026-11-22T18:40:00+01:00"},
        "tim": "2026-11-22T18:40:05+01:00",
        "vendor": {"x": [1, 2.5, "\u00fc"]},
    }
    item = Incoming(settings.topic(unit.cid, "mrq"), json.dumps(body).encode())
    replies = await Pipeline(settings, make_sessionmaker(engine), clock).handle([item])
    assert json.loads(replies[0].payload)["snu"] == 0
    stored = await session.scalar(select(InboxMessage.message))
    decoded = decode_mrq(item.payload, unit.cid)
    assert stored == decoded.stored_dict()
    assert (
        stored["did"] == body["did"] and stored["pri"] == 0 and stored["extra"] == {"vendor": body["vendor"]}
    )


@given(
    ref=st.text(max_size=16),
    snu=st.sampled_from([0, 1, 2, 3, 4, 5, 6, 7, 10]),
    hbi=st.none() | st.integers(1, 1440),
    fmt=st.sampled_from(["json", "xml", "other"]),
)
def test_the_quick_answer_is_the_bytes_of_the_full_one(ref: str, snu: int, hbi: int | None, fmt: str) -> None:
    topic = "lifeline/123/mrq"
    assert answer(topic, ref, snu, fmt, hbi) == make_reply(topic, Mrs.reply(ref, snu, hbi=hbi), fmt)

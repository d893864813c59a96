"""The boundary never breaks: arbitrary bytes and JSON through decode + store + triage.

Property: every input gets exactly one reply, never "not treated" while the database is up,
and leaves a trace: an inbox row under its key or a rejected-inbox row with its raw bytes.
"""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from sqlalchemy import func, select

from arc.ingest.models import InboxMessage, RejectedMessage
from arc.ingest.pipeline import Incoming, Pipeline
from arc.kit.db import make_sessionmaker
from devices.protocol import KNOWN_TAGS, Mrq
from tests.arc.ingest.conftest import parse_mrs

CIDS = ["4401234", "4409999"]
ANSWERS = {0, 1, 2, 3, 4, 6, 7, 10}

text = st.text(max_size=12)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(10**6), 10**6) | text,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(text, children, max_size=3),
    max_leaves=10,
)
codes = st.sampled_from(
    ["3", "5", "0023", "10", "16", "23", "85", "86", "93", "102", "112", "125", "950", "x"]
)
mrq_like = st.fixed_dictionaries(
    {"ref": st.sampled_from(["R1", "R2", "R3", "", "bad ref"]), "cid": st.sampled_from([*CIDS, "44x"])},
    optional={
        "dty": codes,
        "stc": codes,
        "mty": st.sampled_from(["ME", "RE", "IN", "PI", "XX", "in"]),
        "did": st.sampled_from(["P1", "F1", ""]),
        "lge": st.sampled_from([{"geo": "52.2,0.12"}, {"geo": "999,0"}, "52,1"]),
        "hbo": st.sampled_from(["001", "0"]),
        "lte": text,
        "crd": st.sampled_from(["gsm:+441", ["a", 1]]),
        "zzz": json_values,
    },
)
payloads = (
    st.binary(max_size=300)
    | json_values.map(lambda v: json.dumps(v).encode())
    | mrq_like.map(lambda v: json.dumps(v).encode())
    | st.dictionaries(st.sampled_from(sorted(KNOWN_TAGS)), text, max_size=6).map(
        lambda tags: ("<mrq>" + "".join(f"<{k}>{v}</{k}>" for k, v in tags.items()) + "</mrq>").encode(
            "utf-8", "surrogatepass"
        )
    )
)
topics = st.sampled_from([*CIDS, "notacid"])


async def _traced(session, pipeline: Pipeline, item: Incoming) -> bool:
    decoded = pipeline.decode(item)
    if isinstance(decoded, Mrq):
        found = await session.scalar(
            select(func.count())
            .select_from(InboxMessage)
            .where(
                InboxMessage.cid == decoded.cid,
                InboxMessage.ref == decoded.ref,
                InboxMessage.mty == decoded.mty,
            )
        )
    else:
        found = await session.scalar(
            select(func.count()).select_from(RejectedMessage).where(RejectedMessage.payload == item.payload)
        )
    return found >= 1


@hsettings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(batch=st.lists(st.tuples(topics, payloads), min_size=1, max_size=5))
async def test_every_input_gets_a_reply_and_a_trace(
    batch: list[tuple[str, bytes]], settings, engine, db, clock
):
    pipeline = Pipeline(settings, make_sessionmaker(engine), clock)
    items = [Incoming(f"{settings.mqtt_topic_root}/{cid}/mrq", payload) for cid, payload in batch]
    replies = await pipeline.handle(items)
    assert len(replies) == len(items)
    async with make_sessionmaker(engine)() as session:
        for item, reply in zip(items, replies, strict=True):
            answer: dict[str, Any] = parse_mrs(reply.payload)
            assert answer["snu"] in ANSWERS
            assert reply.topic == item.topic.rpartition("/")[0] + "/mrs"
            assert await _traced(session, pipeline, item)


async def test_message_that_breaks_triage_still_reaches_an_operator_and_spares_the_batch(
    settings, engine, db, clock, monkeypatch
):
    from arc.alarms.models import Alarm
    from arc.ingest import triage

    real = triage.triage

    async def broken(session, mrq, unit, ctx):
        if mrq.ref == "BUG1":
            raise RuntimeError("a bug in triage")
        return await real(session, mrq, unit, ctx)

    monkeypatch.setattr(triage, "triage", broken)
    pipeline = Pipeline(settings, make_sessionmaker(engine), clock)
    topic = f"{settings.mqtt_topic_root}/4401234/mrq"
    bug = Incoming(topic, b'{"ref":"BUG1","cid":"4401234","dty":"3"}')
    fine = Incoming(topic, b'{"ref":"OK1","cid":"4401234","dty":"1","mty":"PI"}')
    replies = await pipeline.handle([bug, fine])
    assert [parse_mrs(r.payload)["snu"] for r in replies] == [4, 0]
    assert parse_mrs((await pipeline.handle([bug]))[0].payload)["snu"] == 4  # its re-poll: a duplicate
    async with make_sessionmaker(engine)() as session:
        [alarm] = (await session.scalars(select(Alarm))).all()
        assert alarm.status == "queued" and "could not be processed" in alarm.title
        actions = set(await session.scalars(select(InboxMessage.action)))
        assert actions == {"triage_failed_alarm", "heartbeat"}


async def test_a_message_that_breaks_triage_still_shows_the_registered_person(
    settings, engine, db, clock, monkeypatch
):
    """The last-resort alarm is tied to the unit and its customer, so the operator's card shows
    who it is (and their plan and key safe), not a bare cid."""
    from arc.alarms.models import Alarm
    from arc.ingest import triage
    from tests.factories import create_connection, create_customer, create_unit

    async with make_sessionmaker(engine)() as session:
        customer = await create_customer(session)
        unit = await create_unit(session, cid="4405555")
        await create_connection(session, customer, unit)
        await session.commit()

    async def broken(session, mrq, unit, ctx):
        raise RuntimeError("a bug in triage")

    monkeypatch.setattr(triage, "triage", broken)
    pipeline = Pipeline(settings, make_sessionmaker(engine), clock)
    topic = f"{settings.mqtt_topic_root}/4405555/mrq"
    [reply] = await pipeline.handle([Incoming(topic, b'{"ref":"BUG2","cid":"4405555","dty":"3"}')])
    assert parse_mrs(reply.payload)["snu"] == 4
    async with make_sessionmaker(engine)() as session:
        [alarm] = (await session.scalars(select(Alarm))).all()
        assert (alarm.unit_id, alarm.customer_id, alarm.unknown_unit) == (unit.id, customer.id, False)

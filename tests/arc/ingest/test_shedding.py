"""When heartbeats are shed: only when one would wait longer to be stored than its unit waits to
resend it (or past the memory bound) — a storm the ingest clears in a few seconds is kept whole."""

from __future__ import annotations

import asyncio
import json
import time
import xml.etree.ElementTree as ET

from arc.ingest.replies import Incoming
from arc.ingest.shedding import ShedPolicy
from arc.ingest.worker import IngestWorker
from arc.kit.settings import Settings


def policy_storing(per_second: float, *, concurrency: int = 2, batches: int = 5) -> ShedPolicy:
    """A policy that has seen ``batches`` batches of 200 stored at ``per_second`` in all."""
    policy = ShedPolicy(after_seconds=5, ceiling=20_000, concurrency=concurrency)
    for _ in range(batches):
        policy.stored(200, 200 / (per_second / concurrency))
    return policy


def test_a_storm_the_ingest_stores_within_the_units_retransmission_interval_is_kept_whole():
    policy = policy_storing(4000)
    # 15,000 heartbeats ahead at 4,000 a second: stored within 4 s, before any unit sends again
    assert not policy.should_shed(15_000)


def test_a_heartbeat_that_would_wait_longer_than_the_retransmission_interval_is_shed():
    policy = policy_storing(1000)
    assert policy.should_shed(6_000)  # 6 s of work ahead of it
    assert not policy.should_shed(4_000)  # 4 s: kept


def test_before_anything_is_known_only_the_memory_bound_sheds():
    policy = ShedPolicy(after_seconds=5, ceiling=20_000, concurrency=2)
    assert not policy.should_shed(2_000)  # a storm's first messages, before its first batch commits
    assert policy.should_shed(20_000)


def test_the_rate_follows_the_recent_batches():
    policy = policy_storing(8000, batches=20)
    assert not policy.should_shed(30_000 // 2)
    for _ in range(20):  # the database has slowed down (or the machine is busy)
        policy.stored(200, 200 / 250)
    assert 450 < policy.rate() < 550
    assert policy.should_shed(4_000)  # 8 s at today's rate, though 0.5 s at the old one


def test_one_batch_starved_while_a_storm_is_read_does_not_shed_the_storm():
    """Measured in a 20,000-unit storm: while the ingest read the burst, one batch of 15 heartbeats
    took 4 s (the loop was reading); judged by it, the rate was 34 a second and 19,500 heartbeats
    were shed — and came back 10 s later as a second storm. The rate is what storing achieves when
    it runs, so the fastest recent batch is the judge."""
    policy = ShedPolicy(after_seconds=5, ceiling=20_000, concurrency=2)
    policy.stored(200, 4.049)  # starved: alone, 100 a second
    assert policy.rate() is None and not policy.should_shed(5_000)  # one batch is no measure
    for _ in range(4):
        policy.stored(200, 0.1)
    policy.stored(200, 4.049)  # starved again
    assert policy.rate() > 3000
    assert not policy.should_shed(15_000)


def test_a_heartbeat_that_waited_past_the_units_patience_is_stale_when_its_turn_comes():
    policy = ShedPolicy(after_seconds=5, ceiling=20_000, concurrency=2)
    assert policy.stale(100.0, 105.5)
    assert not policy.stale(100.0, 104.5)
    assert not policy.stale(None, 1e9)  # not read by the worker (a test's message): never stale


def test_the_small_batches_of_a_quiet_time_do_not_judge_the_rate():
    """At 560 heartbeats a second batches hold a handful, each mostly a transaction's fixed cost:
    one heartbeat in 35 ms is not a rate of 57 a second, and a storm arriving after it must not be
    shed at its 570th heartbeat."""
    policy = ShedPolicy(after_seconds=5, ceiling=20_000, concurrency=2)
    for _ in range(20):
        policy.stored(1, 0.035)
    assert policy.rate() is None
    assert not policy.should_shed(5_000)  # only the memory bound, until a real batch is measured


# --- the busy answer itself, and when it is sent -------------------------------------------------




UNACKED = (None, 1, 1)  # no broker connection to acknowledge to in these tests


def message(cid: str, payload: bytes) -> Incoming:
    return Incoming(f"t/{cid}/mrq", payload, UNACKED)


class Published(list):
    def __call__(self, topic: str, payload: bytes, qos: int = 1, *, bulk: bool = False) -> bool:
        self.append((topic, payload, qos))
        return True


def worker() -> tuple[IngestWorker, Published]:
    settings = Settings(env="test", database_url="postgresql+asyncpg://unused/unused", mqtt_url="mqtt://unused",
                        mqtt_topic_root="t", ingest_shed_hbi_minutes=180)
    ingest = IngestWorker(settings, None)
    sent = Published()
    ingest.publisher.publish_nowait = sent
    return ingest, sent


def test_a_shed_heartbeat_is_answered_busy_in_its_own_format_with_hbi_only_if_the_unit_accepts_one():
    ingest, sent = worker()
    ingest._shed(message("44", b"<mrq><ref>X1</ref><cid>44</cid><dty>1</dty><mty>PI</mty><hbo>001</hbo></mrq>"),
                 hbi=180, heartbeat=True)
    ingest._shed(message("45", b'{"ref":"J1","cid":"45","dty":"1","mty":"PI"}'), hbi=180, heartbeat=True)
    xml_answer, json_answer = sent
    root = ET.fromstring(xml_answer[1])  # noqa: S314 - our own reply
    assert (xml_answer[0], root.findtext("ref"), root.findtext("snu"), root.findtext("hbi")) == ("t/44/mrs", "X1", "6", "180")
    assert json.loads(json_answer[1]) == {"ref": "J1", "snu": 6, "ste": json.loads(json_answer[1])["ste"]}
    assert [qos for _, _, qos in sent] == [0, 0]  # a lost busy answer costs one retransmission


def test_an_alarm_refused_past_its_lanes_cap_keeps_qos_1():
    ingest, sent = worker()
    ingest._shed(message("46", b'{"ref":"A1","cid":"46","dty":"3","stc":"10"}'))
    assert [(json.loads(p)["snu"], qos) for _, p, qos in sent] == [(6, 1)]


async def test_a_heartbeat_that_waited_too_long_is_answered_busy_not_stored():
    """A storm the ingest misjudged (or a database that slowed down): heartbeats that waited in the
    queue longer than the units' patience are answered busy when their turn comes; the rest of the
    batch is stored."""
    ingest, sent = worker()
    stored: list[list[bytes]] = []

    class Pipeline:
        async def handle(self, items):
            stored.append([i.payload for i in items])
            return []

    ingest.pipeline = Pipeline()
    now = time.monotonic()
    for n, waited in enumerate([9.0, 6.0, 1.0, 0.5]):
        body = b'{"ref":"H%d","cid":"%d","dty":"1","mty":"PI","hbo":"001"}' % (n, n)
        ingest._pending.append(Incoming(f"t/{n}/mrq", body, UNACKED, received_at=now - waited))
    ingest._wakeup.set()
    tasks = [asyncio.create_task(ingest._batch_loop()), asyncio.create_task(ingest._shed_loop())]
    try:
        for _ in range(100):
            if stored and len(sent) == 2:
                break
            await asyncio.sleep(0.01)
        assert [[json.loads(p)["ref"] for p in batch] for batch in stored] == [["H2", "H3"]]
        answers = [json.loads(p) for _, p, _ in sent]
        assert [(a["ref"], a["snu"], a["hbi"]) for a in answers] == [("H0", 6, 180), ("H1", 6, 180)]
    finally:
        ingest._stopping = True
        ingest._wakeup.set()
        ingest._shed_wakeup.set()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


async def test_shed_heartbeats_wait_while_an_alarm_is_in_hand_and_are_answered_after():
    ingest, sent = worker()
    loop = asyncio.create_task(ingest._shed_loop())
    try:
        ingest._alarm_batches = 1  # an alarm batch is being stored
        ingest._to_shed.extend(message(str(n), b'{"ref":"H%d","cid":"%d","dty":"1","mty":"PI"}' % (n, n))
                               for n in range(300))
        ingest._shed_wakeup.set()
        await asyncio.sleep(0.05)
        assert sent == []  # the CPU is the alarm's
        ingest._alarm_batches = 0
        for _ in range(100):
            if len(sent) == 300:
                break
            await asyncio.sleep(0.01)
        assert len(sent) == 300
    finally:
        ingest._stopping = True
        ingest._shed_wakeup.set()
        await loop

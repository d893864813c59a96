"""When heartbeats are shed: when the queue's oldest has waited over a second (storing is not
keeping up), when one waited past its unit's patience, or past the memory bound — a storm read at
once is kept whole; and the busy answers go soon and together, but after an alarm being stored."""

from __future__ import annotations

import asyncio
import json
import time
import xml.etree.ElementTree as ET

from arc.ingest.replies import Incoming, Reply
from arc.ingest.shedding import ShedPolicy
from arc.ingest.wire import READ_BURST
from arc.ingest.worker import ALARM_READ_BURST, SHED_EVERY, SHED_HOLD_MAX, IngestWorker
from arc.kit.settings import Settings


def policy() -> ShedPolicy:
    return ShedPolicy(after_seconds=5, ceiling=20_000, queue_seconds=1)


def test_a_storm_read_within_the_queue_limit_is_kept_whole():
    """20,000 units at once: all read within a second, none waited a second yet — all queued."""
    assert not policy().should_shed(15_000, oldest=100.0, now=100.6)


def test_a_queue_whose_oldest_has_waited_too_long_sheds_what_arrives():
    """Sustained overload: storing has fallen a second behind arrivals — shed, however short the
    queue (each heartbeat held is one the broker keeps in flight for us)."""
    shedding = policy()
    assert shedding.should_shed(300, oldest=100.0, now=101.2)
    assert not shedding.should_shed(300, oldest=100.0, now=100.9)  # catching up: kept again


def test_an_empty_queue_never_sheds_and_the_memory_bound_always_does():
    shedding = policy()
    assert not shedding.should_shed(0, oldest=None, now=1e9)
    assert shedding.should_shed(20_000, oldest=100.0, now=100.0)


def test_the_queue_limit_is_never_longer_than_the_units_patience():
    assert ShedPolicy(after_seconds=5, ceiling=20_000, queue_seconds=30).queue_seconds == 5


def test_a_heartbeat_that_waited_past_the_units_patience_is_stale_when_its_turn_comes():
    shedding = policy()
    assert shedding.stale(100.0, 105.5)
    assert not shedding.stale(100.0, 104.5)
    assert not shedding.stale(None, 1e9)  # not read by the worker (a test's message): never stale


# --- the busy answer itself, and when it is sent -------------------------------------------------


UNACKED = (None, 1, 1)  # no broker connection to acknowledge to in these tests


def message(cid: str, payload: bytes) -> Incoming:
    return Incoming(f"t/{cid}/mrq", payload, UNACKED)


class Published(list):
    def __call__(self, topic: str, payload: bytes, qos: int = 1, *, bulk: bool = False, urgent: bool = False) -> bool:
        self.append((topic, payload, qos))
        return True


def worker() -> tuple[IngestWorker, Published]:
    settings = Settings(
        env="test",
        database_url="postgresql+asyncpg://unused/unused",
        mqtt_url="mqtt://unused",
        mqtt_topic_root="t",
        ingest_shed_hbi_minutes=180,
    )
    ingest = IngestWorker(settings, None)
    sent = Published()
    ingest.publisher.publish_nowait = sent
    return ingest, sent


def test_a_shed_heartbeat_is_answered_busy_in_its_own_format_with_hbi_only_if_the_unit_accepts_one():
    ingest, sent = worker()
    ingest._shed(
        message("44", b"<mrq><ref>X1</ref><cid>44</cid><dty>1</dty><mty>PI</mty><hbo>001</hbo></mrq>"),
        hbi=180,
        heartbeat=True,
    )
    ingest._shed(message("45", b'{"ref":"J1","cid":"45","dty":"1","mty":"PI"}'), hbi=180, heartbeat=True)
    xml_answer, json_answer = sent
    root = ET.fromstring(xml_answer[1])  # noqa: S314 - our own reply
    assert (xml_answer[0], root.findtext("ref"), root.findtext("snu"), root.findtext("hbi")) == (
        "t/44/mrs",
        "X1",
        "6",
        "180",
    )
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
    tasks = [asyncio.create_task(ingest._batch_loop())]
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
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


class Connection:
    """What the worker needs of a connection here: acknowledgements, counted."""

    def __init__(self) -> None:
        self.acked: list[int] = []

    def ack(self, mid: int, qos: int = 1) -> None:
        self.acked.append(mid)


def heartbeat(n: int) -> bytes:
    return b'{"ref":"H%d","cid":"%d","dty":"1","mty":"PI","hbo":"001"}' % (n, n)


async def test_heartbeats_arriving_behind_a_queue_a_second_old_are_answered_busy_together_soon_after():
    """The busy answers and their PUBACKs go together within a few ms of their reads (no loop of
    their own to fall behind: at 2x capacity one held 80,000 unanswered), after the alarms read
    meanwhile were queued — and the queue that was already there is kept to be stored."""
    ingest, sent = worker()
    connection = Connection()
    ingest._pending.append(
        Incoming("t/0/mrq", heartbeat(0), (connection, 1, 1), received_at=time.monotonic() - 1.5)
    )
    for n in range(1, 301):
        ingest._received(connection, f"t/{n}/mrq", heartbeat(n), n + 1, 1)
    ingest._received(connection, "t/999/mrq", b'{"ref":"A1","cid":"999","dty":"3","stc":"10"}', 999, 1)
    assert sent == [] and len(ingest._urgent) == 1  # the alarm is queued before any busy answer goes
    await until(lambda: sent, seconds=SHED_EVERY * 20)
    answers = [json.loads(p) for _, p, _ in sent]
    assert len(answers) == 300 and {(a["snu"], a["hbi"]) for a in answers} == {(6, 180)}
    assert connection.acked == list(range(2, 302))  # acknowledged with their answers
    assert len(ingest._pending) == 1  # the old one is still there to be stored


def recording(ingest: IngestWorker) -> list[list[str]]:
    """The refs of each batch the worker hands its pipeline (a fake one: nothing stored or answered)."""
    handled: list[list[str]] = []

    class Pipeline:
        async def handle(self, items):
            handled.append([json.loads(i.payload)["ref"] for i in items])
            return []

    ingest.pipeline = Pipeline()
    ingest._reply_and_ack = lambda items, replies, reply_qos=None, urgent=False: None
    return handled


async def until(condition, seconds: float = 1.0) -> None:
    for _ in range(int(seconds / 0.01)):
        if condition():
            return
        await asyncio.sleep(0.01)


async def stop(ingest: IngestWorker, task: asyncio.Task) -> None:
    ingest._stopping = True
    ingest._wakeup.set()
    ingest._alarms_moved.set()
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


async def test_a_heartbeat_batch_waits_for_alarms_being_stored_and_takes_a_new_alarm_meanwhile():
    """While an alarm batch is being stored, no heartbeat batch starts (the CPU is the alarm's); a
    loop waiting so is woken by the next alarm, which it stores at once, and by the alarms'
    end, when it stores the heartbeats."""
    ingest, _ = worker()
    handled = recording(ingest)
    ingest._pending.append(Incoming("t/1/mrq", heartbeat(1), UNACKED, received_at=time.monotonic()))
    ingest._alarm_batches = 1  # another loop is storing an alarm
    ingest._wakeup.set()
    loop = asyncio.create_task(ingest._batch_loop())
    try:
        await asyncio.sleep(0.05)
        assert handled == []  # no heartbeat batch while the alarm is stored
        ingest._received(None, "t/9/mrq", b'{"ref":"A2","cid":"9","dty":"3","stc":"10"}', 0, 0)
        await asyncio.sleep(0.05)
        assert handled == [["A2"]]  # the new alarm, at once, by the waiting loop
        ingest._alarm_batches -= 1  # the first alarm's batch is done
        ingest._alarms_moved.set()
        await until(lambda: len(handled) == 2)
        assert handled == [["A2"], ["H1"]]
    finally:
        await stop(ingest, loop)


async def test_an_alarm_arriving_while_a_heartbeat_batch_fills_is_stored_first():
    """A loop waiting a few ms for its heartbeat batch to fill takes the alarm that came meanwhile,
    not the heartbeats it had chosen before it waited."""
    ingest, _ = worker()
    ingest.settings = ingest.settings.model_copy(update={"ingest_batch_wait_ms": 50})
    handled = recording(ingest)
    ingest._received(None, "t/1/mrq", heartbeat(1), 0, 0)
    loop = asyncio.create_task(ingest._batch_loop())
    try:
        await asyncio.sleep(0.01)  # the loop is waiting for more heartbeats
        ingest._received(None, "t/9/mrq", b'{"ref":"A3","cid":"9","dty":"3","stc":"10"}', 0, 0)
        await until(lambda: len(handled) == 2)
        assert handled == [["A3"], ["H1"]]
    finally:
        await stop(ingest, loop)


async def test_while_an_alarm_is_stored_busy_answers_wait_and_reading_goes_in_short_slices():
    """The CPU is the alarm's while it is stored: heartbeats shed meanwhile are answered once its
    batch is done (or after SHED_HOLD_MAX at most), and the connection parses only
    ALARM_READ_BURST packets a turn, so each of the alarm's awaits waits for little reading."""
    ingest, sent = worker()
    release = asyncio.Event()

    class Pipeline:
        async def handle(self, items):
            await release.wait()
            return [Reply("t/9/mrs", b'{"ref":"A1","snu":4}', 4) for _ in items]

    class Reading:
        read_burst = READ_BURST

    reading = Reading()
    ingest.pipeline = Pipeline()
    ingest.publisher.client = reading
    ingest._pending.append(Incoming("t/0/mrq", heartbeat(0), UNACKED, received_at=time.monotonic() - 1.5))
    ingest._received(None, "t/9/mrq", b'{"ref":"A1","cid":"9","dty":"3","stc":"10"}', 0, 0)
    task = asyncio.create_task(ingest._batch_loop(urgent_only=True))
    try:
        await until(lambda: ingest._alarm_batches == 1)
        assert reading.read_burst == ALARM_READ_BURST
        for n in range(1, 11):
            ingest._received(None, f"t/{n}/mrq", heartbeat(n), 0, 0)
        await asyncio.sleep(SHED_EVERY * 4)
        assert sent == []  # held while the alarm is stored
        release.set()
        await until(lambda: len(sent) == 11)
        assert sorted(json.loads(p)["snu"] for _, p, _ in sent) == [4] + [6] * 10
        assert reading.read_burst == READ_BURST and not task.done()
    finally:
        await stop(ingest, task)


async def test_busy_answers_are_held_for_an_alarm_no_longer_than_shed_hold_max():
    ingest, sent = worker()
    ingest._alarm_batches = 1  # an alarm that is taking long to store
    ingest._pending.append(Incoming("t/0/mrq", heartbeat(0), UNACKED, received_at=time.monotonic() - 1.5))
    ingest._received(None, "t/1/mrq", heartbeat(1), 0, 0)
    await asyncio.sleep(SHED_HOLD_MAX / 2)
    assert sent == []
    await until(lambda: sent, seconds=SHED_HOLD_MAX * 2)
    assert [json.loads(p)["snu"] for _, p, _ in sent] == [6]

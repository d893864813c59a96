"""The ingest worker: MQTT in, batches through the pipeline, replies out, PUBACK after COMMIT.

on message   -> three lanes: alarms (and RE/IN), technical statuses (mains, link, battery...),
                heartbeats (mty PI), told apart by a look at the raw payload (arc/ingest/sniff.py:
                a wrong guess only changes the order, never what is stored or answered).
                Overload: a heartbeat arriving while the queue's oldest has waited over a second
                is answered snu 6 (busy) with a raised hbi, with the others shed in the same
                SHED_EVERY (arc/ingest/shedding.py); the alarm lane is refused (snu 6) only past
                LIFELINE_INGEST_MAX_BACKLOG, so heartbeats go first
fast lane    -> alarms never wait behind heartbeats or technical statuses: a batch loop of their
                own, every loop takes them first, and no waiting for a batch to fill; while one is
                stored, busy answers wait (SHED_HOLD_MAX at most) and reading goes in short slices
batcher      -> up to LIFELINE_INGEST_BATCH_MAX heartbeats, waiting at most
                LIFELINE_INGEST_BATCH_WAIT_MS for more -> Pipeline.handle (one transaction)
             -> publish each mrs, then acknowledge each message to the broker; the fast lane's answers
                on a connection of their own when LIFELINE_MQTT_ANSWERS_URL is set (arc/ingest/mqtt.py)
connection   -> reconnect with short capped jittered backoff (<= 1 s); resubscribe; the persistent session
                keeps what arrived while we were away
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import time
from collections import Counter, deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from arc.ingest.metrics import BACKLOG, CONNECTED, MESSAGES, REPLIES
from arc.ingest.mqtt import (
    BACKOFF_MAX,
    BACKOFF_START,
    MqttPublisher,
    answers_options,
    keep_answers_connection,
    reconnect_delay,
    wire_options,
)
from arc.ingest.packets import WireError
from arc.ingest.pipeline import Incoming, Pipeline
from arc.ingest.replies import Reply, answer, make_reply
from arc.ingest.shedding import ShedPolicy
from arc.ingest.sniff import accepts_hbi, is_heartbeat, is_technical_status
from arc.ingest.wire import READ_BURST, Connection
from arc.kit.clock import Clock
from arc.kit.settings import Settings
from devices.broker import broker_address
from devices.protocol import Mrs, mrq_subscription
from devices.protocol.codes import Snu
from devices.protocol.reading import SNIFF_XML, sniff_ref

if TYPE_CHECKING:  # the ingest alone (lifeline ingest) has no web app to load
    from fastapi import FastAPI

log = logging.getLogger(__name__)

SMALL_SEND_WINDOW = 100  # answers in flight a broker should allow the ingest (Mosquitto's default: 20)
# shed heartbeats are answered busy in groups, at most this long after the first of a group was
# read: at twice capacity a read holds a few packets, and answering each read's on its own cost
# more per heartbeat than storing one (bench_shed --chunk 256: 30 µs against 10 for 64 KiB reads)
SHED_EVERY = 0.005
# while an alarm is being stored: shed heartbeats wait (up to SHED_HOLD_MAX) to be answered, and
# reading goes ALARM_READ_BURST packets a turn, so the alarm's awaits have the CPU first (at 2x under a
# tenth of a core, 5 rather than 50: alarms p50 / p99 ~180 / ~400 ms rather than ~205 / ~500, and the
# storm's p99 0.55 s; reading still moves, so PINGRESPs and the next alarm are never held for long)
SHED_HOLD_MAX = 0.2
ALARM_READ_BURST = 5
STUCK_SECONDS = 3.0  # a batch in the pipeline this long (a hung database) means alarms are not getting through


class IngestWorker:
    def __init__(
        self, settings: Settings, sessionmaker: async_sessionmaker[AsyncSession], clock: Clock | None = None
    ) -> None:
        self.settings = settings
        self.clock = clock or Clock()
        self.pipeline = Pipeline(settings, sessionmaker, self.clock)
        self.publisher = MqttPublisher()
        # since when this process has been subscribed without a break (None: not listening);
        # the no-comms sweep never counts silence from before it against a unit
        self.listening_since: datetime | None = None
        self.subscribed = asyncio.Event()
        self._pending: deque = deque()  # heartbeats
        self._status: deque = deque()  # technical statuses: after alarms, before heartbeats
        self._urgent: deque = deque()  # everything else: the fast lane
        self._to_shed: list[Incoming] = []  # heartbeats to be answered busy (snu 6) together
        self.shedding = ShedPolicy(
            settings.ingest_shed_after_seconds, settings.ingest_shed_heartbeats_backlog, settings.ingest_shed_queue_seconds
        )
        self._wakeup = asyncio.Event()  # work in either lane
        self._urgent_wakeup = asyncio.Event()  # work in the fast lane
        self._alarm_batches = 0  # fast-lane batches being stored now
        self._alarms_moved = asyncio.Event()  # an alarm queued, or the last alarm batch finished
        self.last_shed_at: datetime | None = None  # when a heartbeat was last shed with a raised hbi
        self._stopping = False
        self._version = "5" if settings.mqtt_protocol in ("auto", "5") else "3.1.1"
        self._tasks: list[asyncio.Task] = []
        self._answers_task: asyncio.Task | None = None
        self._in_hand: dict[int, float] = {}  # batch loop -> monotonic time its batch went to the pipeline
        self._idle_since = time.monotonic()  # when the backlog was last empty or a batch last finished

    # --- public -------------------------------------------------------------------
    def is_connected(self) -> bool:
        return self.publisher.connected

    def intake_problem(self) -> str | None:
        """Why alarms cannot reach operators through this ingest now, or None while they can:
        ``disconnected`` (no broker), ``database_unavailable`` (messages answered snu 5) or
        ``stuck`` (a batch or the backlog has not moved for STUCK_SECONDS)."""
        if self.listening_since is None:
            return "disconnected"
        if self.pipeline.database_down_since is not None:
            return "database_unavailable"
        now = time.monotonic()
        oldest = min(self._in_hand.values(), default=now)
        if now - oldest > STUCK_SECONDS or (self.backlog() and now - self._idle_since > STUCK_SECONDS):
            return "stuck"
        return None

    def backlog(self) -> int:
        return len(self._pending) + len(self._status) + len(self._urgent)

    def silence_counted_from(self) -> datetime | None:
        """The no-comms sweep holds no silence before this against a unit: not before we listened,
        and not the extra interval that shed heartbeats were told to wait (their raised hbi)."""
        since = self.listening_since
        if since is None or self.last_shed_at is None:
            return since
        extra = timedelta(minutes=max(0, self.settings.ingest_shed_hbi_minutes - self.settings.heartbeat_interval_minutes))
        return max(since, self.last_shed_at + extra)

    async def start(self, wait_subscribed: float = 10.0) -> None:
        self._tasks = [asyncio.create_task(self._connection_loop(), name="ingest-mqtt")]
        if self.settings.mqtt_answers_url:  # alarms' answers on a connection of their own: arc/ingest/mqtt.py
            options = lambda: answers_options(self.settings, self._version)  # noqa: E731 - asked per attempt
            self._answers_task = asyncio.create_task(keep_answers_connection(options, self.publisher))
        self._tasks += [
            asyncio.create_task(self._batch_loop(n), name=f"ingest-batches-{n}")
            for n in range(self.settings.ingest_concurrency)
        ]
        fast = self.settings.ingest_concurrency
        self._tasks.append(asyncio.create_task(self._batch_loop(fast, urgent_only=True), name="ingest-alarms"))
        try:
            await asyncio.wait_for(self.subscribed.wait(), wait_subscribed)
        except TimeoutError:
            log.warning(
                "ingest not subscribed after %.0f s; it keeps trying in the background", wait_subscribed
            )

    async def stop(self) -> None:
        """Finish the batch in hand, then disconnect. Messages not yet stored are not acknowledged,
        so the broker delivers them again when the session resumes."""
        self._stopping = True
        self._wakeup.set()
        self._urgent_wakeup.set()
        self._alarms_moved.set()
        connection, batches = self._tasks[0], self._tasks[1:]
        with contextlib.suppress(asyncio.CancelledError, TimeoutError):
            await asyncio.wait_for(asyncio.gather(*batches), 30)
        for task in (connection, self._answers_task):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        self.publisher.client = self.publisher.urgent = None
        CONNECTED.set(0)

    # --- connection -------------------------------------------------------------------

    async def _connection_loop(self) -> None:
        backoff, last_warned = BACKOFF_START, -60.0
        topic = mrq_subscription(self.settings.mqtt_topic_root, self.settings.mqtt_shared_group)
        while not self._stopping:
            connection = Connection(wire_options(self.settings, self._version), self._received)
            self.publisher.client = connection  # answers can go as soon as it is open
            try:
                await connection.open()
                await connection.subscribe(topic, qos=1)
                CONNECTED.set(1)
                self.listening_since = self.clock.now()
                self.subscribed.set()
                log.info("ingest subscribed to %s (MQTT %s, persistent session)", topic, self._version)
                if connection.send_window < SMALL_SEND_WINDOW:
                    log.warning(
                        "the broker lets the ingest have only %d answers unacknowledged at once; under load"
                        " heartbeats' answers will queue (Mosquitto: raise max_inflight_messages, as"
                        " deploy/mosquitto/mosquitto.conf does)",
                        connection.send_window,
                    )
                backoff, last_warned = BACKOFF_START, -60.0
                await connection.closed  # raises WireError when the connection ends
            except (WireError, OSError) as exc:
                if (
                    self._version == "5"
                    and self.settings.mqtt_protocol == "auto"
                    and not self.subscribed.is_set()
                    and await self._broker_listening()  # a broker that is down has refused nothing
                ):
                    log.info("broker refused MQTT 5 (%s); using MQTT 3.1.1", exc)
                    self._version = "3.1.1"
                    continue
                if time.monotonic() - last_warned > 60:  # a long outage is a line a minute, not a flood
                    last_warned = time.monotonic()
                    log.warning("ingest lost the broker (%s); reconnecting every %.1f s or less", exc, BACKOFF_MAX)
            finally:
                connection.close()
                self.publisher.client = None
                self.listening_since = None
                CONNECTED.set(0)
            await asyncio.sleep(reconnect_delay(backoff))
            backoff = min(backoff * 2, BACKOFF_MAX)

    async def _broker_listening(self) -> bool:
        address = broker_address(self.settings.mqtt_url)
        try:
            async with asyncio.timeout(2):
                _, writer = await asyncio.open_connection(address["hostname"], address["port"])
        except (OSError, TimeoutError):
            return False
        writer.close()
        return True

    def _received(self, connection: Connection, topic: str, payload: bytes, mid: int, qos: int) -> None:
        """Each PUBLISH, as the connection reads it (inside its socket callback: no task per message)."""
        now = time.monotonic()
        item = Incoming(topic, payload, (connection, mid, qos), received_at=now)
        if is_heartbeat(payload):
            pending = self._pending
            if self.shedding.should_shed(len(pending), pending[0].received_at if pending else None, now):
                # answered together a few ms later, not here: an alarm read after it is then queued
                # first, and the reads of those ms share one pass and one socket write
                if not self._to_shed:
                    asyncio.get_running_loop().call_later(SHED_EVERY, self._shed_burst)
                self._to_shed.append(item)
                return
            pending.append(item)
        elif len(self._urgent) + len(self._status) >= self.settings.ingest_max_backlog:
            self._shed(item)
            return
        elif is_technical_status(payload):
            self._status.append(item)
        else:
            self._urgent.append(item)
            self._alarms_moved.set()
            self._urgent_wakeup.set()
        self._wakeup.set()

    def _shed(self, item: Incoming, hbi: int | None = None, *, heartbeat: bool = False) -> None:
        """Overload: answer snu 6 (busy) without storing; the unit retries or uses its next receiver.
        A heartbeat's unit is also asked to beat less often (hbi), when it accepts one."""
        self._shed_many([item], hbi, heartbeat=heartbeat)

    def _shed_many(self, items: list[Incoming], hbi: int | None = None, *, heartbeat: bool = False) -> None:
        """``_shed`` for many at once. Cheap on purpose — at twice capacity reading and shedding are
        most of the work: the ref, the format and ``hbo`` are read by pattern (no parse), a JSON
        answer comes from its template (``replies.answer``), and a heartbeat's answer goes at QoS 0
        (no PUBACK to handle: a busy answer that is lost costs the unit what the busy answer itself
        asks of it, one retransmission later). An alarm refused past the alarm lane's cap keeps QoS 1."""
        replies = []
        raised = False
        for item in items:
            payload = item.payload
            wanted = hbi if hbi is not None and accepts_hbi(payload) else None
            raised = raised or wanted is not None
            ref = sniff_ref(payload)
            fmt = "xml" if SNIFF_XML.match(payload) else "json"
            if ref is not None and fmt == "json":
                replies.append(answer(item.topic, ref, Snu.BUSY, fmt, hbi=wanted))
            else:  # XML, or no ref to be found: the general encoder
                replies.append(make_reply(item.topic, Mrs.reply(ref, Snu.BUSY, hbi=wanted), fmt))
        if raised:
            self.last_shed_at = self.clock.now()
        MESSAGES.labels("busy").inc(len(items))
        self._reply_and_ack(items, replies, reply_qos=0 if heartbeat else 1)

    def _shed_burst(self) -> None:
        """Answer busy the heartbeats shed in the last SHED_EVERY, together: soon, so that what the
        broker holds in flight for us stays short, but after any alarm being stored (for at most
        SHED_HOLD_MAX), whose awaits would otherwise wait for this CPU."""
        if self._alarm_batches and time.monotonic() - self._to_shed[0].received_at < SHED_HOLD_MAX:
            asyncio.get_running_loop().call_later(SHED_EVERY, self._shed_burst)
            return
        shed, self._to_shed = self._to_shed, []
        if shed:
            self._shed_many(shed, self.settings.ingest_shed_hbi_minutes, heartbeat=True)

    def _shed_stale(self, batch: list[Incoming]) -> list[Incoming]:
        """The heartbeats of ``batch`` still worth storing; those that waited in the queue longer
        than the units' patience are answered busy now, with a raised ``hbi``:
        their units are sending them again, and storing them would only answer a retransmission."""
        now = time.monotonic()
        fresh: list[Incoming] = []
        stale: list[Incoming] = []
        for item in batch:
            (stale if self.shedding.stale(item.received_at, now) else fresh).append(item)
        if stale:
            self._shed_many(stale, self.settings.ingest_shed_hbi_minutes, heartbeat=True)
        return fresh

    # --- batches ----------------------------------------------------------------------

    async def _batch_loop(self, number: int = 0, *, urgent_only: bool = False) -> None:
        batch_max = self.settings.ingest_batch_max
        wait = self.settings.ingest_batch_wait_ms / 1000
        wakeup = self._urgent_wakeup if urgent_only else self._wakeup
        while True:
            await wakeup.wait()
            if self._stopping:
                return
            if self._urgent:
                lane = self._urgent  # the fast lane first, and at once
            elif self._alarm_batches and not urgent_only and (self._status or self._pending):
                # another loop is storing alarms: they have the CPU (and no heartbeat transaction is
                # started to hold a unit's row they need); wait until they are stored, free to take
                # an alarm meanwhile (an event, not a poll: a loop polling every millisecond on a
                # starved CPU took a good part of the alarm's CPU)
                self._alarms_moved.clear()
                await self._alarms_moved.wait()
                continue
            elif self._status and not urgent_only:
                lane = self._status
            elif self._pending and not urgent_only:
                lane = self._pending
                if len(lane) < batch_max and wait:
                    await asyncio.sleep(wait)
                    if self._urgent:  # an alarm came while the batch filled: it goes first
                        lane = self._urgent
            else:
                self._idle_since = time.monotonic()
                wakeup.clear()
                continue
            size = batch_max if lane is self._pending else self.settings.ingest_alarm_batch_max
            batch = [lane.popleft() for _ in range(min(size, len(lane)))]
            if not self._urgent:
                self._urgent_wakeup.clear()
                if not self._pending and not self._status:
                    self._wakeup.clear()
            BACKLOG.set(self.backlog())
            if lane is self._pending:
                batch = self._shed_stale(batch)
            if not batch:  # another loop took them while this one waited (or all had waited too long)
                continue
            alarms = lane is self._urgent
            self._alarm_batches += alarms
            self._set_read_burst()
            self._in_hand[number] = time.monotonic()
            try:
                replies = await self.pipeline.handle(batch)
            except Exception:  # pragma: no cover - handle() answers everything; keep the loop alive
                log.exception("ingest batch failed unexpectedly; messages will be redelivered")
                continue
            finally:
                del self._in_hand[number]
                self._idle_since = time.monotonic()
                self._alarm_batches -= alarms
                if alarms and not self._alarm_batches:
                    self._alarms_moved.set()
                    self._set_read_burst()
            self._reply_and_ack(batch, replies, urgent=alarms)

    def _set_read_burst(self) -> None:
        connection = self.publisher.client
        if connection is not None:
            connection.read_burst = ALARM_READ_BURST if self._alarm_batches else READ_BURST

    def _reply_and_ack(
        self, items: list[Incoming], replies: list[Reply], reply_qos: int | None = None, *, urgent: bool = False
    ) -> None:
        """Publish each item's reply (``replies[i]`` answers ``items[i]``), then acknowledge the items.

        A heartbeat's answer goes at LIFELINE_MQTT_HEARTBEAT_ANSWER_QOS (1, as the unit protocol says;
        0 spares us the broker's PUBACK back, and a lost answer costs the unit one retransmission, answered from the inbox) unless ``reply_qos`` says otherwise, every other
        answer at QoS 1. The heartbeat itself is acknowledged only now, after its COMMIT. ``urgent`` (the
        fast lane's): on the answers connection, or ahead of what waits for the ingest's socket."""
        sent: Counter[int] = Counter()
        publish = self.publisher.publish_nowait
        heartbeat_qos = self.settings.mqtt_heartbeat_answer_qos
        for item, reply in zip(items, replies, strict=True):
            qos = reply_qos if reply_qos is not None else (heartbeat_qos if item.heartbeat else 1)
            if publish(reply.topic, reply.payload, qos=qos, bulk=item.heartbeat, urgent=urgent):
                sent[reply.snu] += 1
        for snu, n in sent.items():
            REPLIES.labels(str(snu)).inc(n)
        for item in items:
            connection, mid, qos = item.token
            if connection is not None:  # one that has ended acknowledges nothing: the broker redelivers
                connection.ack(mid, qos)


@asynccontextmanager
async def ingest_component(app: FastAPI) -> AsyncIterator[None]:
    """App component: the ingest runs beside the API; ``app.state.mqtt`` publishes through it."""
    worker = IngestWorker(app.state.settings, app.state.sessionmaker, app.state.clock)
    await worker.start()
    app.state.ingest = worker
    app.state.mqtt = worker.publisher
    app.state.broker_connected = worker.is_connected
    try:
        yield
    finally:
        await worker.stop()
        app.state.mqtt = None
        app.state.broker_connected = None


async def run_ingest(settings: Settings, args) -> None:
    """``lifeline ingest``: only the ingest, no HTTP (external database and broker); stops on SIGTERM."""
    from arc.kit.db import make_engine, make_sessionmaker
    from arc.kit.memory import settle_heap

    engine = make_engine(settings.database_url or "", local_ping=True)  # no round trips to ping (arc/kit/db.py)
    worker = IngestWorker(settings, make_sessionmaker(engine), Clock())
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await worker.start()
    settle_heap()  # the start-up heap out of full collections (arc/kit/memory.py)
    try:
        await stop.wait()
    finally:
        await worker.stop()
        await engine.dispose()

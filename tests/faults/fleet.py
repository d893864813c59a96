"""Units that behave like real ones under faults: every message is retransmitted (same ``ref``)
until it is answered, and the fleet's client reconnects when the broker goes and comes back.

An alarm counts as *answered* at its first snu 4 (HOLD, stored and queued) or 0; a heartbeat at
its snu 0; snu 5 / 6 (not treated / busy) mean "try again", as a unit's next retransmission does.
``tally()`` then checks the database: each alarm stored once, none twice, none missing.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import uuid
from dataclasses import dataclass, field

import aiomqtt
from sqlalchemy import func, select

from arc.alarms.models import Alarm
from arc.ingest.models import InboxMessage
from devices.broker import broker_address

ANSWERED = {"alarm": (0, 4), "heartbeat": (0,)}


@dataclass
class Sent:
    kind: str
    cid: str
    ref: str
    first_sent: float
    sends: int = 0
    answered_at: float | None = None
    answers: list[int] = field(default_factory=list)
    done: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def latency(self) -> float | None:
        return None if self.answered_at is None else self.answered_at - self.first_sent


class Fleet:
    def __init__(self, broker_url: str, topic_root: str, *, retransmit_s: float = 5.0) -> None:
        self.broker_url = broker_url
        self.root = topic_root
        self.retransmit_s = retransmit_s
        self.sent: dict[str, Sent] = {}  # by ref
        self._client: aiomqtt.Client | None = None
        self._connected = asyncio.Event()
        self._tasks: set[asyncio.Task] = set()
        self._runner: asyncio.Task | None = None
        self._id = f"fault-fleet-{uuid.uuid4().hex[:8]}"

    async def __aenter__(self) -> Fleet:
        self._runner = asyncio.create_task(self._run())
        await asyncio.wait_for(self._connected.wait(), 10)
        return self

    async def __aexit__(self, *exc) -> None:
        for task in [*self._tasks, self._runner]:
            task.cancel()
        for task in [*self._tasks, self._runner]:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    async def _run(self) -> None:
        while True:
            try:
                async with aiomqtt.Client(**broker_address(self.broker_url), identifier=self._id) as client:
                    await client.subscribe(f"{self.root}/+/mrs", qos=1)
                    self._client = client
                    self._connected.set()
                    async for message in client.messages:
                        self._answer(message.payload)
            except aiomqtt.MqttError:
                pass
            self._client = None
            self._connected.clear()
            await asyncio.sleep(0.2)

    def _answer(self, payload) -> None:
        try:
            answer = json.loads(bytes(payload))
        except ValueError:
            return
        sent = self.sent.get(answer.get("ref"))
        if sent is None:
            return
        sent.answers.append(int(answer.get("snu", -1)))
        if sent.answered_at is None and sent.answers[-1] in ANSWERED[sent.kind]:
            sent.answered_at = time.monotonic()
            sent.done.set()

    # --- sending ------------------------------------------------------------------------

    def alarm(self, cid: str, ref: str | None = None) -> Sent:
        return self._start("alarm", cid, ref, {"dty": "0003", "stc": "0010", "did": "P1"})

    def heartbeat(self, cid: str, ref: str | None = None) -> Sent:
        return self._start("heartbeat", cid, ref, {"dty": "0001", "mty": "PI"})

    def _start(self, kind: str, cid: str, ref: str | None, fields: dict) -> Sent:
        ref = ref or uuid.uuid4().hex[:12].upper()
        sent = self.sent[ref] = Sent(kind, cid, ref, time.monotonic())
        payload = json.dumps({"ref": ref, "cid": cid, **fields}).encode()
        task = asyncio.create_task(self._retransmit(sent, payload))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return sent

    async def _retransmit(self, sent: Sent, payload: bytes) -> None:
        topic = f"{self.root}/{sent.cid}/mrq"
        while sent.answered_at is None:
            client = self._client
            if client is not None:
                with contextlib.suppress(aiomqtt.MqttError, TimeoutError):
                    await asyncio.wait_for(client.publish(topic, payload, qos=1), 2)
                    sent.sends += 1
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(sent.done.wait(), self.retransmit_s)

    async def settle(self, within: float) -> None:
        """Wait until every message sent so far is answered (or ``within`` seconds pass)."""
        waiting = [s.done.wait() for s in self.sent.values() if s.answered_at is None]
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.gather(*waiting), within)

    # --- counting --------------------------------------------------------------------

    async def tally(self, session) -> dict:
        alarms = [s for s in self.sent.values() if s.kind == "alarm"]
        stored = dict(
            (
                await session.execute(
                    select(Alarm.cid, func.count()).where(Alarm.cid.in_([s.cid for s in alarms])).group_by(Alarm.cid)
                )
            ).all()
        )
        rows = dict(
            (
                await session.execute(
                    select(InboxMessage.ref, func.count())
                    .where(InboxMessage.ref.in_(list(self.sent)))
                    .group_by(InboxMessage.ref)
                )
            ).all()
        )
        copies = {}
        for s in self.sent.values():
            n = rows.get(s.ref, 0)
            if s.kind == "alarm" and n:
                n = max(n, stored.get(s.cid, 0)) if stored.get(s.cid) else 0  # stored but no alarm: lost
            copies[s.ref] = n
        latencies = sorted(s.latency for s in alarms if s.latency is not None)
        return {
            "sent": len(self.sent),
            "alarms": len(alarms),
            "stored_once": sum(1 for n in copies.values() if n == 1),
            "duplicated": sum(1 for n in copies.values() if n > 1),
            "lost": sum(1 for n in copies.values() if n == 0),
            "unanswered": sum(1 for s in self.sent.values() if s.answered_at is None),
            "alarm_latency_max_s": round(latencies[-1], 2) if latencies else None,
        }

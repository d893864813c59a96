"""A virtual Lifeline unit: speaks the `mrq`/`mrs` protocol over MQTT only, like a real one.

It sends heartbeats (offering `hbo: "001"` and honouring the `hbi` it is given) and
activations; it re-sends a request with the same `ref` every few seconds until it gets an
answer, keeps re-polling while the answer is HOLD (4) until it gets 0, and after
``give_up_s`` without a final answer sends `RE` (it gave up), as SCAIP units do.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import random
import time
import xml.etree.ElementTree as ET
from collections.abc import Awaitable, Callable
from typing import Any

Publish = Callable[[str, bytes], Awaitable[None]]
HOLD = 4


def encode_mrq(message: dict[str, Any], fmt: str = "json") -> bytes:
    if fmt == "xml":
        body = "".join(
            f"<{tag}>{value}</{tag}>" for tag, value in message.items() if not isinstance(value, dict)
        )
        return f"<mrq>{body}</mrq>".encode()
    return json.dumps(message, separators=(",", ":")).encode()


def decode_mrs(payload: bytes) -> dict[str, Any]:
    """A reply as a dict (`ref`, `snu`, `ste`, optional `hbi`); {} if unreadable."""
    try:
        if payload.lstrip().startswith(b"<"):
            data: dict[str, Any] = {child.tag: child.text or "" for child in ET.fromstring(payload)}  # noqa: S314 - the ARC's reply
        else:
            data = json.loads(payload)
        data["snu"] = int(data["snu"])
        if "hbi" in data:
            data["hbi"] = int(data["hbi"])
        return data
    except (ValueError, KeyError, TypeError, ET.ParseError):
        return {}


class VirtualUnit:
    def __init__(
        self,
        cid: str,
        publish: Publish,
        root: str = "lifeline",
        *,
        fmt: str = "json",
        retry_s: tuple[float, float] = (5.0, 20.0),
        give_up_s: float = 180.0,
        heartbeat_s: float = 60.0,
        rng: random.Random | None = None,
    ) -> None:
        self.cid = cid
        self.topic = f"{root}/{cid}/mrq"
        self.fmt = fmt
        self.retry_s = retry_s
        self.give_up_s = give_up_s
        self.heartbeat_s = heartbeat_s
        self.rng = rng or random.Random()
        self._publish = publish
        self._sessions: dict[str, asyncio.Queue] = {}
        self._counter = itertools.count(1)
        self._epoch = format(int(time.time()) % 36**5, "x")
        self.answers: dict[int | None, int] = {}

    def new_ref(self, prefix: str) -> str:
        return f"{prefix}{self._epoch}{next(self._counter):06d}"[:16]

    def deliver(self, payload: bytes) -> None:
        """An `mrs` arrived on this unit's topic."""
        reply = decode_mrs(payload)
        if "hbi" in reply and 1 <= reply["hbi"] <= 1440:
            self.heartbeat_s = reply["hbi"] * 60.0
        queue = self._sessions.get(str(reply.get("ref", "")))
        if queue is not None:
            queue.put_nowait(reply)

    def _retry(self) -> float:
        return self.rng.uniform(*self.retry_s)

    async def exchange(self, message: dict[str, Any]) -> int | None:
        """Send until a final answer; returns its `snu`, or None after giving up (and sending RE)."""
        ref = message["ref"]
        queue: asyncio.Queue = asyncio.Queue()
        self._sessions[ref] = queue
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.give_up_s
        try:
            while loop.time() < deadline:
                await self._publish(self.topic, encode_mrq(message, self.fmt))
                try:
                    reply = await asyncio.wait_for(queue.get(), self._retry())
                    while reply.get("snu") == HOLD:  # stored and queued: wait, maybe an operator answers
                        reply = await asyncio.wait_for(queue.get(), self._retry())
                except TimeoutError:
                    continue  # no answer, or still HOLD: send the same ref again
                self.answers[reply.get("snu")] = self.answers.get(reply.get("snu"), 0) + 1
                return reply.get("snu")
            await self._publish(self.topic, encode_mrq({**message, "mty": "RE"}, self.fmt))
            self.answers[None] = self.answers.get(None, 0) + 1
            return None
        finally:
            self._sessions.pop(ref, None)

    async def heartbeat(self) -> int | None:
        return await self.exchange(
            {"ref": self.new_ref("H"), "cid": self.cid, "dty": "0001", "mty": "PI", "hbo": "001"}
        )

    async def activate(self, dty: str = "0003", stc: str = "0010", did: str | None = "P1") -> int | None:
        message = {"ref": self.new_ref("A"), "cid": self.cid, "dty": dty, "stc": stc}
        if did:
            message["did"] = did
        return await self.exchange(message)

    async def run(self, alarm_every_s: float = 0.0) -> None:
        """Heartbeats on the negotiated interval; activations at random (mean ``alarm_every_s``)."""
        next_heartbeat = 0.0
        loop = asyncio.get_running_loop()
        next_alarm = loop.time() + self.rng.expovariate(1 / alarm_every_s) if alarm_every_s else float("inf")
        while True:
            now = loop.time()
            if now >= next_heartbeat:
                next_heartbeat = now + self.heartbeat_s
                asyncio.create_task(self.heartbeat())  # noqa: RUF006 - fire and forget, bounded by give-up
            if now >= next_alarm:
                next_alarm = now + self.rng.expovariate(1 / alarm_every_s)
                dty = self.rng.choice(["0003", "0003", "0004", "0005", "0023"])
                asyncio.create_task(self.activate(dty=dty, did=None))  # noqa: RUF006
            await asyncio.sleep(max(0.05, min(next_heartbeat, next_alarm) - loop.time()))

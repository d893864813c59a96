"""Run a scenario (simulators/scenario.py) over MQTT: a live progress line, then what happened in words."""

from __future__ import annotations

import asyncio
import contextlib
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TextIO

from simulators.fleet import Fleet
from simulators.scenario import Scenario, Step
from simulators.unit import HOLD, decode_mrs

MEANING = {
    0: "answered OK",
    HOLD: "held for an operator",
    1: "refused as too long",
    2: "refused as unreadable",
    3: "refused as wrong data",
    5: "not treated (the unit would try its next receiver)",
    6: "refused as busy",
    7: "refused for a missing tag",
    10: "refused for a missing ref",
}
GAVE_UP = "unanswered (the unit gave up and sent RE)"
NO_ANSWER = "not answered by the end"
REFLESS = "sent without a ref (their answers are below)"
NOUNS = {"status": "status message", "raw": "malformed or hostile message", "spoof": "spoofed message"}


@dataclass
class Session:
    kind: str
    last_snu: int | None = None
    gave_up: bool = False
    refless: bool = False  # a raw message with no ref: its answer cannot be told apart

    def outcome(self) -> str:
        if self.refless:
            return REFLESS
        if self.gave_up:
            return GAVE_UP
        if self.last_snu is None:
            return NO_ANSWER
        return MEANING.get(self.last_snu, f"answered snu {self.last_snu}")


@dataclass
class Report:
    scenario: Scenario
    sessions: dict[tuple[str, str], Session]
    stray: Counter  # answers that match no session (e.g. to a message with no readable ref), by meaning
    published: int
    seconds: float
    rounds: int = 1  # a soak repeats the scenario (Runner.run(until=...))

    def outcomes(self) -> Counter:
        return Counter(s.outcome() for s in self.sessions.values())

    def in_words(self) -> str:
        kinds = Counter(s.kind for s in self.sessions.values())
        sent = ", ".join(_plural(NOUNS.get(kind, kind), n) for kind, n in kinds.most_common())
        answers = ", ".join(f"{n} {what}" for what, n in self.outcomes().most_common()) or "none"
        times = "" if self.rounds == 1 else f" {self.rounds} times"
        text = (
            f"Scenario '{self.scenario.name}' ran{times} {self.seconds:.1f} s with {_plural('unit', self.scenario.units)}: "
            f"{_plural('message', len(self.sessions))} ({sent}), {_plural('publish', self.published)} "
            f"counting retransmissions. Answers: {answers}."
        )
        if self.sessions and all(s.last_snu is None and not s.refless for s in self.sessions.values()):
            text += " Nothing was answered: is the service running on this broker and topic root?"
        if self.stray:
            stray = ", ".join(f"{n} {what}" for what, n in self.stray.most_common())
            text += f" Answers to messages without a usable ref: {stray}."
        return text


def _plural(noun: str, n: int) -> str:
    if n == 1:
        return f"1 {noun}"
    return f"{n} {noun}es" if noun.endswith(("s", "sh")) else f"{n} {noun}s"


async def ticker(line: Callable[[], str], out: TextIO) -> None:
    """A live progress line on ``out``: redrawn every 0.5 s on a terminal, one line every 5 s otherwise."""
    tty = out.isatty()
    while True:
        await asyncio.sleep(0.5 if tty else 5.0)
        print(f"\r{line()}\033[K" if tty else line(), end="" if tty else "\n", file=out, flush=True)


class Runner:
    def __init__(
        self,
        scenario: Scenario,
        mqtt_url: str,
        root: str,
        cid_base: int,
        *,
        speed: float = 1.0,
        status: Callable[[], str] | None = None,
        operators: bool = False,
    ):
        """``status()``: more to show on the progress line (the bots' counts); ``operators``: someone
        answers alarms, so a held one is waited for (up to ``settle``) until it is answered OK."""
        self.scenario = scenario
        self.speed = speed
        self.status = status
        self.operators = operators
        self.cids = [str(cid_base + i) for i in range(scenario.units)]
        self.sessions: dict[tuple[str, str], Session] = {}
        self.stray: Counter = Counter()
        self.fleet = Fleet(
            mqtt_url,
            root,
            self.cids,
            retry_s=(5.0 / speed, 20.0 / speed),
            give_up_s=180.0 / speed,
            autonomous=False,
            on_reply=self._on_reply,
        )
        self._last_alarm: dict[str, str] = {}
        self._raw = 0
        self._waiting = 0  # sessions without an answer yet (with operators: a final one)
        self._all_answered = asyncio.Event()

    def _open(self, cid: str, ref: str, kind: str) -> Session:
        if (cid, ref) not in self.sessions:
            self.sessions[(cid, ref)] = Session(kind)
            self._waiting += 1
            self._all_answered.clear()
        return self.sessions[(cid, ref)]

    def _on_reply(self, cid: str, payload: bytes) -> None:
        reply = decode_mrs(payload)
        session = self.sessions.get((cid, str(reply.get("ref", ""))))
        if session is not None:
            waited = not self._answered(session.last_snu)
            session.last_snu = reply.get("snu")
            if waited and self._answered(session.last_snu):
                self._waiting -= 1
                if self._waiting == 0:
                    self._all_answered.set()
        elif reply:
            self.stray[MEANING.get(reply["snu"], f"answered snu {reply['snu']}")] += 1

    def _answered(self, snu: int | None) -> bool:
        return snu is not None and not (self.operators and snu == HOLD)

    async def _send(self, step: Step, number: int) -> None:
        cid = self.cids[number - 1]
        unit = self.fleet.units[cid]
        if step.send == "raw":
            self._raw += 1
            ref = f"X{self._raw:06d}"
            if "{ref}" in step.payload:
                self._open(cid, ref, "raw")
            else:
                self.sessions[(cid, f"-{ref}")] = Session("raw", refless=True)
            text = step.payload.replace("{cid}", cid).replace("{ref}", ref).replace("{pad}", "x" * step.pad)
            await self.fleet.publish(unit.topic, text.encode("utf-8", "surrogatepass"))
            return
        ref = self._last_alarm.get(cid, unit.new_ref("R")) if step.send == "reset" else unit.new_ref(step.send[0].upper())
        message = {"ref": ref, "cid": cid, **step.tags}
        if step.as_unit is not None:
            message["cid"] = self.cids[step.as_unit - 1]
        if step.clock_skew is not None:
            message["tim"] = (datetime.now(UTC) + timedelta(seconds=step.clock_skew)).isoformat(timespec="seconds")
        if step.send == "alarm":
            self._last_alarm[cid] = ref
        kind = "spoof" if step.as_unit is not None else step.send
        session = self._open(cid, ref, kind)
        if await unit.exchange(message) is None:
            session.gave_up = True

    def progress(self, elapsed: float, total: float) -> str:
        outcomes = Counter(s.outcome() for s in self.sessions.values())
        return (
            f"{self.scenario.name}: {elapsed:5.1f}/{total:.0f} s  sent {len(self.sessions)}  "
            f"OK {outcomes[MEANING[0]]}  held {outcomes[MEANING[HOLD]]}  "
            f"waiting {outcomes[NO_ANSWER]}  other {len(self.sessions) - sum(outcomes[k] for k in (MEANING[0], MEANING[HOLD], NO_ANSWER))}"
        ) + (f"  | {self.status()}" if self.status else "")

    async def run(self, out: TextIO | None = sys.stderr, *, until: float | None = None) -> Report:
        """Run the scenario once; with ``until`` (a ``time.monotonic()`` deadline) start it again,
        one round every length + settle, until then (a soak): the units keep counting their refs."""
        fleet_task = asyncio.create_task(self.fleet.run())
        tasks: list[asyncio.Task] = []
        ticker_task: asyncio.Task | None = None
        started = time.monotonic()
        period = (self.scenario.length + self.scenario.settle) / self.speed
        rounds = 1
        total = period if until is None else max(period, until - started)
        try:
            await asyncio.wait_for(self.fleet.connected.wait(), 10)
            started = time.monotonic()
            if out is not None:
                ticker_task = asyncio.create_task(ticker(lambda: self.progress(time.monotonic() - started, total), out))
            while True:
                begun = started + (rounds - 1) * period
                for at, step, number in self.scenario.schedule():
                    await asyncio.sleep(max(0.0, begun + at / self.speed - time.monotonic()))
                    tasks.append(asyncio.create_task(self._send(step, number)))
                if until is None or begun + period >= until:
                    break
                await asyncio.sleep(max(0.0, begun + period - time.monotonic()))
                rounds += 1
            await asyncio.sleep(0)  # the last sends open their sessions
            if self._waiting:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._all_answered.wait(), self.scenario.settle / self.speed)
        finally:
            for task in [*tasks, fleet_task, *([ticker_task] if ticker_task else [])]:
                task.cancel()
            for task in [*tasks, fleet_task, *([ticker_task] if ticker_task else [])]:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
        if out is not None:
            print(f"\r{self.progress(time.monotonic() - started, total)}", file=out)
        return Report(
            self.scenario, self.sessions, self.stray, self.fleet.published, time.monotonic() - started, rounds
        )

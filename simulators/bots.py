"""Operator and responder (ERS) bots for soak runs: they work the service as people do, over HTTP only.

An operator bot signs in as the browser does (the session cookie, the CSRF token on every change),
loads the queue and follows the live stream, accepts the most urgent, oldest waiting alarm, records
the call, talks, then sends an ERS responder when the alarm needs a visit (``needs_visit``) or
closes it by phone with a listed outcome code and a note; once the responder is done it closes the
alarm "ERS attended". A responder bot signs in as an ERS user, polls its jobs as the ERS page does,
accepts, reports on scene, then done. A 409 is a refusal (two operators reached for one alarm:
normal, counted apart); any other 4xx, a 5xx or no answer is unexpected and fails the run.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import random
import re
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field, replace
from datetime import datetime

import httpx

from simulators.sse import SseEvent, sse_events

VISITED = "ers_attended"
NOBODY_CAME = "no_answer_escalated"
PHONE_OUTCOME = {"technical": "technical_fault", "test": "test_call"}
TASK_ENDED = ("declined", "no_answer", "escalated", "cancelled")  # the visit will not happen
MAIN_LINE = ("requested", "accepted", "en_route", "arrived", "done")  # a job's statuses, in order
JOB_STEPS = ("accepted", "arrived", "done")  # what a responder bot reports


@dataclass(frozen=True)
class Timings:
    """Seconds a person would take; ``scaled(speed)`` compresses them as the scenario's time is."""

    talk_s: float = 20.0  # the operator on the phone before deciding
    accept_s: float = 10.0  # the responder reads the job and accepts
    travel_s: float = 40.0  # accepted -> on scene
    on_scene_s: float = 60.0  # on scene -> done
    poll_s: float = 2.0  # the responder's job list refresh
    resync_s: float = 15.0  # an operator reloads the queue when the stream has been quiet this long
    visit_share: float = 0.3  # of personal alarms without a hazard, those that need a visit

    def scaled(self, speed: float) -> Timings:
        s = max(speed, 1e-9)
        return replace(self, talk_s=self.talk_s / s, accept_s=self.accept_s / s, travel_s=self.travel_s / s, on_scene_s=self.on_scene_s / s)  # fmt: skip


def needs_visit(alarm: dict, share: float) -> bool:
    """Fire or a fall: always. Another personal alarm: in ``share`` of cases, the same alarm always
    deciding the same way. Faults, tests, care alarms and unknown units (no address): never."""
    if alarm.get("customer") is None:
        return False
    if alarm.get("hazard"):
        return True
    return alarm.get("category") == "personal" and random.Random(alarm["id"]).random() < share


def phone_outcome(alarm: dict, codes: list[str]) -> str:
    want = (
        "cancelled_at_unit"
        if alarm.get("reset_at_unit_at")
        else PHONE_OUTCOME.get(alarm.get("category"), "assistance_by_phone")
    )
    return want if want in codes else codes[0]


def seconds_between(start: str | None, end: str | None) -> float | None:
    if not start or not end:
        return None
    return (datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds()


@dataclass
class Tally:
    """What every bot of a run did, shared."""

    accepted: int = 0
    dispatched: int = 0
    closed: int = 0
    closed_after_visit: int = 0
    jobs_done: int = 0
    relogins: int = 0
    to_accept: list[float] = field(default_factory=list)  # alarm raised -> accepted (the service's clock)
    to_done: list[float] = field(default_factory=list)  # responder requested -> reported done
    refusals: Counter = field(default_factory=Counter)  # "accept: taken" -> n
    unexpected: Counter = field(default_factory=Counter)  # "POST /api/alarms/{id}/close -> 500 internal" -> n

    @property
    def failed(self) -> bool:
        return bool(self.unexpected)

    def progress(self) -> str:
        return (
            f"bots: accepted {self.accepted}  dispatched {self.dispatched}  closed {self.closed}  "
            f"409s {sum(self.refusals.values())}  unexpected {sum(self.unexpected.values())}"
        )


class Unexpected(Exception):
    """An answer that fails the run (already counted in the tally)."""


def _shape(path: str) -> str:
    return re.sub(r"/\d+", "/{id}", path.split("?")[0])


class BotSession:
    """One signed-in browser: the session cookie and the CSRF token on every change."""

    def __init__(self, base_url: str, username: str, password: str, tally: Tally) -> None:
        self.username = username
        self._password = password
        self.tally = tally
        self.csrf: str | None = None
        self.user: dict = {}
        timeout = httpx.Timeout(30.0, connect=5.0)
        self.client = httpx.AsyncClient(
            base_url=base_url, timeout=timeout, headers={"Accept": "application/json"}
        )

    async def login(self) -> dict:
        body = {"username": self.username, "password": self._password, "kind": "browser"}
        answer = await self.call(
            "POST", "/auth/login", body, relogin=False, where=f"{self.username} signing in"
        )
        if answer is None or answer.get("must_change_password"):
            self.tally.unexpected[f"{self.username} may not work: its password must be changed first"] += 1
            raise Unexpected(self.username)
        self.csrf, self.user = answer["csrf_token"], answer["user"]
        return self.user

    async def call(
        self, method: str, path: str, body: dict | None = None, *, what="", relogin=True, where=""
    ):
        """The answer's JSON; None for a 409 (counted as a refusal). Raises Unexpected otherwise."""
        where = where or f"{method} {_shape(path)}"
        try:
            headers = {"X-CSRF-Token": self.csrf} if method not in ("GET", "HEAD") and self.csrf else {}
            answer = await self.client.request(method, path, json=body, headers=headers)
            if answer.status_code == 401 and relogin:  # the session ran out: sign in again, as a person would
                self.tally.relogins += 1
                await self.login()
                return await self.call(method, path, body, what=what, relogin=False)
        except httpx.HTTPError as exc:
            self.tally.unexpected[f"{where}: no answer ({type(exc).__name__})"] += 1
            raise Unexpected(where) from exc
        if answer.is_success:
            return answer.json() if answer.content else {}
        code = _error_code(answer)
        if answer.status_code == 409:
            self.tally.refusals[f"{what or where}: {code}"] += 1
            return None
        self.tally.unexpected[f"{where} -> {answer.status_code} {code}"] += 1
        raise Unexpected(where)

    @contextlib.asynccontextmanager
    async def stream(self, last_id: str | None) -> AsyncIterator[AsyncIterator[SseEvent]]:
        headers = {"Accept": "text/event-stream", **({"Last-Event-ID": last_id} if last_id else {})}
        timeout = httpx.Timeout(None, connect=5.0)
        async with self.client.stream("GET", "/api/live/stream", headers=headers, timeout=timeout) as answer:
            if answer.status_code != 200:
                await answer.aread()
                if answer.status_code == 401:  # the session ran out: sign in again, then reopen
                    self.tally.relogins += 1
                    await self.login()
                else:
                    self.tally.unexpected[
                        f"GET /api/live/stream -> {answer.status_code} {_error_code(answer)}"
                    ] += 1
                raise Unexpected("stream")
            yield sse_events(answer)

    async def aclose(self) -> None:
        await self.client.aclose()


def _error_code(answer: httpx.Response) -> str:
    try:
        return str(answer.json().get("error") or "")
    except ValueError:
        return ""


class OperatorBot:
    def __init__(self, session: BotSession, timings: Timings, ers_user_ids: list[int]) -> None:
        self.s = session
        self.tally = session.tally
        self.t = timings
        self.view = f"bot{uuid.uuid4().hex[:12]}"
        self.queue: dict[int, dict] = {}  # open alarms by id, as the dashboard keeps them
        self.refused: set[int] = set()  # another operator took it: skip until it is queued again
        self.worked: set[int] = set()  # taken up by this bot (once: a failed close is not retried)
        self.visits: dict[int, int] = {}  # alarm id -> the task of the responder sent
        self.ready: dict[int, str] = {}  # alarm id -> outcome: the visit is over, close it
        self.wake = asyncio.Event()
        self._responders = itertools.cycle(ers_user_ids) if ers_user_ids else None

    async def run(self) -> None:
        codes = [o["code"] for o in await self.s.call("GET", "/api/outcomes")]
        watcher = asyncio.create_task(self._watch())
        try:
            while True:
                try:
                    await self._step(codes)
                except Unexpected:
                    await asyncio.sleep(1.0)
        finally:
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher

    def next_alarm(self) -> dict | None:
        """The most urgent, oldest alarm waiting, or one this user holds but nobody works on (a bot
        of an earlier run was stopped mid-call): a person would pick that up first."""
        mine = self.s.user.get("id")
        waiting = [
            a
            for a in self.queue.values()
            if (a["status"] == "queued" and a["id"] not in self.refused)
            or (
                a["status"] == "accepted"
                and (a.get("accepted_by") or {}).get("id") == mine
                and a["id"] not in self.worked
            )
        ]
        return min(waiting, key=lambda a: (a["priority"], a["raised_at"] or "", a["id"]), default=None)

    async def _step(self, codes: list[str]) -> None:
        for alarm_id in list(self.ready):
            outcome = self.ready.pop(alarm_id)
            await self._close(alarm_id, outcome, "Bot: the responder attended and reported done.")
        alarm = self.next_alarm()
        if alarm is not None:
            await self._work(alarm, codes)
            return
        self.wake.clear()
        try:
            await asyncio.wait_for(self.wake.wait(), self.t.resync_s)
        except TimeoutError:
            await self.resync()  # the stream has been quiet: reload, as the dashboard does

    async def _work(self, alarm: dict, codes: list[str]) -> None:
        alarm_id = alarm["id"]
        if alarm["status"] == "queued":
            got = await self.s.call("POST", f"/api/alarms/{alarm_id}/accept", what="accept")
            if got is None:
                self.refused.add(alarm_id)
                return
            self.tally.accepted += 1
            waited = seconds_between(got["raised_at"], got["accepted_at"])
            if waited is not None:
                self.tally.to_accept.append(waited)
        else:
            got = alarm  # already mine: carry on with the call
        self.worked.add(alarm_id)
        self.queue[alarm_id] = got
        await self.s.call(
            "POST", f"/api/alarms/{alarm_id}/calls", {"party": "customer", "result": "answered"}
        )
        await asyncio.sleep(self.t.talk_s)
        if self._responders is not None and needs_visit(got, self.t.visit_share):
            body = {"kind": "ers", "ers_user_id": next(self._responders), "note": "Bot: a visit is needed."}
            task = await self.s.call("POST", f"/api/alarms/{alarm_id}/dispatch", body, what="dispatch")
            if task is not None:
                self.tally.dispatched += 1
                self.visits[alarm_id] = task["id"]
                return
        await self._close(
            alarm_id, phone_outcome(got, codes), "Bot: spoke to the resident; help given by phone."
        )

    async def _close(self, alarm_id: int, outcome: str, note: str) -> None:
        body = {"outcome_code": outcome, "note": note}
        if await self.s.call("POST", f"/api/alarms/{alarm_id}/close", body, what="close") is not None:
            self.tally.closed += 1
            self.tally.closed_after_visit += outcome == VISITED
            self.queue.pop(alarm_id, None)

    async def resync(self) -> None:
        answer = await self.s.call("GET", "/api/alarms/queue")
        self.queue = {a["id"]: a for a in answer["items"]}
        self.refused &= set(self.queue)
        for alarm_id in list(self.visits):
            if alarm_id not in self.queue:
                self.visits.pop(alarm_id)  # closed by someone else
                continue
            card = await self.s.call("GET", f"/api/alarms/{alarm_id}?view={self.view}")
            for task in card["tasks"]:
                self._task_event(task)
        self.wake.set()

    def _alarm_event(self, kind: str, alarm: dict) -> None:
        if kind == "alarm.closed":
            self.queue.pop(alarm["id"], None)
            self.refused.discard(alarm["id"])
            return
        self.queue[alarm["id"]] = alarm
        if alarm["status"] == "queued":
            self.refused.discard(alarm["id"])  # released back to the queue

    def _task_event(self, task: dict) -> None:
        alarm_id = task["alarm_id"]
        if self.visits.get(alarm_id) != task["id"]:
            return
        if task["status"] == "done":
            self.visits.pop(alarm_id)
            self.ready[alarm_id] = VISITED
            took = seconds_between(task["requested_at"], task["done_at"])
            if took is not None:
                self.tally.to_done.append(took)
        elif task["status"] in TASK_ENDED:
            self.visits.pop(alarm_id)
            self.ready[alarm_id] = NOBODY_CAME

    async def _watch(self) -> None:
        last: str | None = None
        while True:
            try:
                async with self.s.stream(last) as events:
                    async for event in events:
                        last = event.last_id or last
                        if event.event == "hello":
                            await self.resync()
                        elif event.event.startswith("alarm."):
                            self._alarm_event(event.event, event.json())
                        elif event.event == "task.updated":
                            self._task_event(event.json())
                        elif event.event == "signed_out":
                            await self.s.login()
                            break
                        self.wake.set()
            except (Unexpected, httpx.HTTPError):
                pass  # the stream ended or could not open: resume by id, as the browser does
            await asyncio.sleep(1.0)


class ResponderBot:
    def __init__(self, session: BotSession, timings: Timings) -> None:
        self.s = session
        self.tally = session.tally
        self.t = timings
        self.view = f"bot{uuid.uuid4().hex[:12]}"
        self.working: dict[int, asyncio.Task] = {}
        self.over: set[int] = set()  # jobs this bot finished (a list fetched meanwhile may still show them)

    async def run(self) -> None:
        try:
            while True:
                with contextlib.suppress(Unexpected):
                    jobs = await self.s.call("GET", f"/api/ers/jobs?view={self.view}")
                    for job in jobs["items"]:
                        if (
                            job["id"] not in self.working
                            and job["id"] not in self.over
                            and not job["alarm_closed"]
                        ):
                            self.working[job["id"]] = asyncio.create_task(self._work(job))
                await asyncio.sleep(self.t.poll_s)
        finally:
            for task in self.working.values():
                task.cancel()

    async def _work(self, job: dict) -> None:
        delays = {"accepted": self.t.accept_s, "arrived": self.t.travel_s, "done": self.t.on_scene_s}
        notes = {"arrived": "Bot: on scene.", "done": "Bot: resident helped; all well."}
        reached = MAIN_LINE.index(job["status"]) if job["status"] in MAIN_LINE else 0
        try:
            for status in (s for s in JOB_STEPS if MAIN_LINE.index(s) > reached):
                await asyncio.sleep(delays[status])
                body = {"status": status, **({"note": notes[status]} if status in notes else {})}
                if (
                    await self.s.call("POST", f"/api/ers/jobs/{job['id']}/status", body, what=f"job {status}")
                    is None
                ):
                    break  # refused: the alarm was closed meanwhile
            else:
                self.tally.jobs_done += 1
            self.over.add(job["id"])
        except Unexpected:
            pass  # counted; the next poll takes the job up again where it stands
        finally:
            self.working.pop(job["id"], None)

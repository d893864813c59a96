"""A soak run: operator and responder bots (simulators/bots.py) work the service while a scenario
or the random fleet sends alarms; at the end, what they did in words. Off unless asked for
(``lifeline simulate --operators N --responders M``, ``--soak MINUTES``)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import math
import os
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TextIO

from simulators.bots import BotSession, OperatorBot, ResponderBot, Tally, Timings, Unexpected
from simulators.scenario_run import Runner, ticker

PASSWORD_ENV = "LIFELINE_BOT_PASSWORD"  # noqa: S105 - the name of the variable, not a password
ADMIN_PASSWORD_ENV = "LIFELINE_BOT_ADMIN_PASSWORD"  # noqa: S105


@dataclass(frozen=True)
class Crew:
    api: str  # the service's base URL
    password: str  # every bot user's
    operators: int = 0
    responders: int = 0
    prefix: str = "bot"
    admin: str | None = None  # creates the bot users that do not exist yet (admin API)
    admin_password: str | None = None

    def usernames(self) -> list[tuple[str, str]]:
        return [(f"{self.prefix}-operator-{i}", "operator") for i in range(1, self.operators + 1)] + [
            (f"{self.prefix}-ers-{i}", "ers") for i in range(1, self.responders + 1)
        ]


class BotsFailedToStart(Exception):
    pass


class Team:
    """The bots of one run, sharing one tally."""

    def __init__(self, crew: Crew, timings: Timings) -> None:
        self.crew = crew
        self.timings = timings
        self.tally = Tally()
        self.sessions: list[BotSession] = []
        self.operators: list[OperatorBot] = []
        self.responders: list[ResponderBot] = []
        self._tasks: list[asyncio.Task] = []

    def _session(self, username: str, password: str) -> BotSession:
        session = BotSession(self.crew.api, username, password, self.tally)
        self.sessions.append(session)
        return session

    async def start(self) -> None:
        """Create the missing bot users (with an admin), sign every bot in, set them working."""
        try:
            if self.crew.admin:
                await self._create_users()
            signed_in = []
            for username, _role in self.crew.usernames():
                session = self._session(username, self.crew.password)
                await session.login()
                signed_in.append(session)
        except Unexpected:
            raise BotsFailedToStart("; ".join(self.tally.unexpected)) from None
        ers = [s for s in signed_in if s.user["role"] == "ers"]
        self.responders = [ResponderBot(s, self.timings) for s in ers]
        ers_ids = [s.user["id"] for s in ers]
        self.operators = [OperatorBot(s, self.timings, ers_ids) for s in signed_in if s not in ers]
        bots = [*self.operators, *self.responders]
        self._tasks = [asyncio.create_task(bot.run(), name=f"bot-{bot.s.username}") for bot in bots]

    async def _create_users(self) -> None:
        admin = self._session(self.crew.admin or "", self.crew.admin_password or "")
        await admin.login()
        existing = {u["username"].lower() for u in await admin.call("GET", "/api/admin/users")}
        for username, role in self.crew.usernames():
            if username.lower() not in existing:
                body = {
                    "username": username,
                    "full_name": f"Soak bot {username}",
                    "role": role,
                    "password": self.crew.password,
                }
                await admin.call("POST", "/api/admin/users", body)

    def busy(self) -> bool:
        """Is any bot still in the middle of an alarm or a job?"""
        return any(op.queue or op.visits or op.ready for op in self.operators) or any(
            r.working for r in self.responders
        )

    async def drain(self, seconds: float) -> None:
        """Let the bots finish what is open: until nothing is left (or ``seconds`` have passed)."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            await asyncio.sleep(0.5)
            if not self.busy() and not await self.open_alarms():
                return

    async def open_alarms(self) -> list[dict]:
        if not self.operators:
            return []
        with contextlib.suppress(Unexpected):
            return (await self.operators[0].s.call("GET", "/api/alarms/queue"))["items"]
        return []

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        for session in self.sessions:
            await session.aclose()


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p * len(ordered)) - 1)]


def _spread(values: list[float]) -> str:
    if not values:
        return "none measured"
    p50, p95 = percentile(values, 0.5), percentile(values, 0.95)
    return f"p50 {p50:.2f} s, p95 {p95:.2f} s, max {max(values):.2f} s ({len(values)})"


def _n(count: int, noun: str) -> str:
    return f"{count} {noun}" + ("" if count == 1 else "s")


def in_words(team: Team, left_open: list[dict]) -> str:
    t = team.tally
    lines = [
        f"Bots ({_n(len(team.operators), 'operator')}, {_n(len(team.responders), 'responder')}): "
        f"{_n(t.accepted, 'alarm')} accepted, {t.dispatched} dispatched to a responder, {_n(t.jobs_done, 'job')} done, "
        f"{t.closed} closed "
        f"({t.closed - t.closed_after_visit} by phone, {t.closed_after_visit} after the responder was done).",
        f"Alarm opened -> accepted: {_spread(t.to_accept)}. Dispatch -> responder done: {_spread(t.to_done)}.",
    ]
    refusals = ", ".join(f"{what} {n}" for what, n in t.refusals.most_common())
    lines.append(
        f"Refusals (409, normal when two operators reach for one alarm): {sum(t.refusals.values())}"
        + (f" ({refusals})." if refusals else ".")
        + (f" Signed in again after the session ran out: {t.relogins}." if t.relogins else "")
    )
    if left_open:
        shown = "; ".join(
            f"#{a['id']} {a['title']} ({a['status']}"
            + (f", held by {a['accepted_by']['name']}" if a.get("accepted_by") else "")
            + ")"
            for a in left_open[:20]
        )
        more = f" and {len(left_open) - 20} more" if len(left_open) > 20 else ""
        lines.append(f"Alarms left open at the end: {len(left_open)}: {shown}{more}.")
    else:
        lines.append("Alarms left open at the end: none.")
    if t.failed:
        wrong = "; ".join(f"{what} (x{n})" for what, n in t.unexpected.most_common())
        lines.append(f"FAILED: {sum(t.unexpected.values())} unexpected answers: {wrong}.")
    else:
        lines.append("No unexpected answers (no 5xx, no 4xx but 409).")
    return "\n".join(lines)


# --- lifeline simulate --operators N --responders M [--soak MINUTES] ----------------------------


def add_arguments(parser: argparse.ArgumentParser) -> None:
    bots = parser.add_argument_group(
        "bots (off by default): operators and ERS responders working the service over HTTP"
    )
    bots.add_argument("--operators", type=int, default=0, help="operator bots (users PREFIX-operator-1..N)")
    bots.add_argument("--responders", type=int, default=0, help="ERS responder bots (users PREFIX-ers-1..M)")
    bots.add_argument(
        "--soak", type=float, metavar="MINUTES", help="repeat the scenario (or run the fleet) this long"
    )
    bots.add_argument(
        "--api", default="http://127.0.0.1:8080", help="the service's URL (default: the demo's)"
    )
    bots.add_argument("--bot-prefix", default="bot", help="bot usernames start with this (default bot)")
    bots.add_argument(
        "--bot-admin",
        metavar="USERNAME",
        help=f"create missing bot users as this admin (password in ${ADMIN_PASSWORD_ENV})",
    )
    bots.add_argument(
        "--talk-seconds", type=float, default=Timings.talk_s, help="an operator's time on the phone"
    )
    bots.add_argument(
        "--ers-seconds",
        type=float,
        nargs=3,
        metavar=("ACCEPT", "TRAVEL", "ON_SCENE"),
        default=[Timings.accept_s, Timings.travel_s, Timings.on_scene_s],
        help="a responder's delays",
    )
    bots.add_argument(
        "--visit-share",
        type=float,
        default=Timings.visit_share,
        help="share of personal alarms (no fire, no fall) that need a visit (default 0.3)",
    )
    bots.add_argument(
        "--drain", type=float, metavar="SECONDS", help="how long the bots may finish after the alarms stop"
    )


def wanted(args: argparse.Namespace) -> bool:
    return bool(args.operators or args.responders or args.soak)


def _crew(args: argparse.Namespace) -> Crew:
    password = os.environ.get(PASSWORD_ENV, "")
    if not password:
        raise SystemExit(
            f"lifeline simulate: the bots sign in with the password in ${PASSWORD_ENV} (see README: soak runs)"
        )
    admin_password = os.environ.get(ADMIN_PASSWORD_ENV) if args.bot_admin else None
    if args.bot_admin and not admin_password:
        raise SystemExit(
            f"lifeline simulate: --bot-admin needs the admin's password in ${ADMIN_PASSWORD_ENV}"
        )
    if args.operators < 0 or args.responders < 0 or not 0 <= args.visit_share <= 1:
        raise SystemExit("lifeline simulate: --operators/--responders ≥ 0, --visit-share 0..1")
    return Crew(
        args.api.rstrip("/"),
        password,
        args.operators,
        args.responders,
        args.bot_prefix,
        args.bot_admin,
        admin_password,
    )


async def run(
    args: argparse.Namespace,
    scenario_runner: Callable[..., Runner],
    run_fleet: Callable[[float | None], Awaitable[str]],
    out: TextIO | None = None,
) -> None:
    """Bots alongside a scenario (``scenario_runner(status=...)``) or the random fleet
    (``run_fleet(seconds)`` -> its answers in words), from `lifeline simulate`'s options."""
    if not (args.scenario or args.soak or args.duration):
        raise SystemExit(
            "lifeline simulate: bots need an end: --scenario NAME, --soak MINUTES or --duration SECONDS"
        )
    crew = _crew(args)
    out = out or sys.stderr
    logging.getLogger("httpx").setLevel(logging.WARNING)  # a line per request would drown the progress line
    logging.getLogger("mqtt").setLevel(
        logging.ERROR
    )  # "N pending publish calls": a storm's units sending at once
    accept_s, travel_s, on_scene_s = args.ers_seconds
    base = Timings(
        talk_s=args.talk_seconds,
        accept_s=accept_s,
        travel_s=travel_s,
        on_scene_s=on_scene_s,
        visit_share=args.visit_share,
    )
    timings = base.scaled(args.speed if args.scenario else 1.0)
    team = Team(crew, timings)
    try:
        await team.start()
    except BotsFailedToStart as exc:
        await team.stop()
        raise SystemExit(
            f"lifeline simulate: the bots could not start: {exc} (bot users: `lifeline user add` or --bot-admin; "
            "README: soak runs)"
        ) from None
    until = time.monotonic() + args.soak * 60 if args.soak else None
    words = "Stopped (Ctrl-C) before the scenario ended."
    try:
        try:
            if args.scenario:
                runner = scenario_runner(status=team.tally.progress)
                print(f"{runner.scenario.name}: {runner.scenario.description}", file=out)
                words = (await runner.run(out=out, until=until)).in_words()
            else:
                with _ticking(team.tally.progress, out):
                    words = await run_fleet(args.soak * 60 if args.soak else args.duration)
            with _ticking(lambda: f"draining  {team.tally.progress()}", out):
                await team.drain(
                    args.drain
                    if args.drain is not None
                    else 2 * (timings.talk_s + timings.accept_s + timings.travel_s + timings.on_scene_s) + 10
                )
        except asyncio.CancelledError:  # Ctrl-C: stop now, and still say what the bots did
            pass
        left_open = await team.open_alarms()
    finally:
        await team.stop()
    print(words)
    print(in_words(team, left_open))
    if team.tally.failed:
        raise SystemExit(1)


@contextlib.contextmanager
def _ticking(line, out: TextIO):
    task = asyncio.create_task(ticker(line, out))
    try:
        yield
    finally:
        task.cancel()
        print(f"\r{line()}", file=out)

"""`lifeline simulate --units N`: virtual units over MQTT against a running service;
`lifeline simulate --scenario NAME` runs a scripted scenario (simulators/scenarios/), `--list` lists them."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import sys

from devices.protocol.codes import SNU_TEXT
from simulators import soak
from simulators.fleet import Fleet
from simulators.scenario import ScenarioError, load, shipped_names
from simulators.scenario_run import Runner

log = logging.getLogger(__name__)
DEFAULT_CID_BASE = 4401001  # the demo's seeded units come first


def answers_in_words(answers: dict) -> str:
    """{0: 5, None: 1} -> "5 answered 'OK' (snu 0), 1 unanswered (the unit gave up)"."""
    if not answers:
        return "none (no unit sent anything)"
    parts = []
    for snu, n in sorted(answers.items(), key=lambda kv: (kv[0] is None, kv[0] if kv[0] is not None else 0)):
        what = (
            "unanswered (the unit gave up)"
            if snu is None
            else f"answered '{SNU_TEXT.get(snu, 'unknown')}' (snu {snu})"
        )
        parts.append(f"{n} {what}")
    return ", ".join(parts)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--units", type=int, default=10, help="how many virtual units (default 10)")
    parser.add_argument("--cid-base", type=int, default=DEFAULT_CID_BASE, help="cid of the first unit")
    parser.add_argument(
        "--alarm-every",
        type=float,
        default=60.0,
        help="mean seconds between activations, whole fleet (0: none)",
    )
    parser.add_argument(
        "--heartbeat-seconds",
        type=float,
        default=60.0,
        help="heartbeat interval until the ARC sets one (hbi)",
    )
    parser.add_argument("--xml-share", type=float, default=0.2, help="share of units that speak SCAIP XML")
    parser.add_argument(
        "--duration", type=float, help="stop after this many seconds (default: run until Ctrl-C)"
    )
    parser.add_argument("--seed", type=int, help="random seed, for a repeatable run")
    parser.add_argument("--scenario", metavar="NAME", help="run a scripted scenario (a shipped name or a .toml path)")
    parser.add_argument("--list", action="store_true", help="list the shipped scenarios and stop")
    parser.add_argument(
        "--speed", type=float, default=1.0, help="scenario time runs this many times faster (default 1)"
    )
    soak.add_arguments(parser)


def list_scenarios() -> str:
    lines = []
    for name in shipped_names():
        try:
            lines.append(f"  {name:<22} {load(name).description}")
        except ScenarioError as exc:
            lines.append(f"  {name:<22} (cannot be read: {exc})")
    return "scenarios (lifeline simulate --scenario NAME):\n" + "\n".join(lines)


def scenario_runner(url: str, root: str, args: argparse.Namespace, status=None, operators: bool = False) -> Runner:
    try:
        scenario = load(args.scenario)
    except ScenarioError as exc:
        raise SystemExit(f"lifeline simulate: {exc}") from None
    if args.speed <= 0:
        raise SystemExit("lifeline simulate: --speed must be above 0")
    return Runner(scenario, url, root, args.cid_base, speed=args.speed, status=status, operators=operators)


async def run_scenario(url: str, root: str, args: argparse.Namespace) -> None:
    runner = scenario_runner(url, root, args)
    print(f"{runner.scenario.name}: {runner.scenario.description}", file=sys.stderr)
    report = await runner.run()
    print(report.in_words())


async def run_fleet(url: str, root: str, args: argparse.Namespace, duration: float | None) -> str:
    """The random fleet (``--units``, ``--alarm-every``) until ``duration`` or Ctrl-C; its answers in words."""
    cids = [str(args.cid_base + i) for i in range(args.units)]
    fleet = Fleet(
        url,
        root,
        cids,
        alarm_every_s=args.alarm_every,
        heartbeat_s=args.heartbeat_seconds,
        xml_share=args.xml_share,
        seed=args.seed,
    )
    log.info("simulating %d units (cids %s..%s) on %s", len(cids), cids[0], cids[-1], url.split("@")[-1])
    with contextlib.suppress(TimeoutError, asyncio.CancelledError):
        await fleet.run(duration)
    answers: dict = {}
    for unit in fleet.units.values():
        for snu, n in unit.answers.items():
            answers[snu] = answers.get(snu, 0) + n
    return f"{len(cids)} units: {answers_in_words(answers)}"


async def run(mqtt_url: str | None, root: str, args: argparse.Namespace) -> None:
    if args.list:
        print(list_scenarios())
        return
    url = mqtt_url or "mqtt://127.0.0.1:18830"  # the demo's embedded broker
    if soak.wanted(args):
        await soak.run(
            args,
            lambda status: scenario_runner(url, root, args, status=status, operators=args.operators > 0),
            lambda seconds: run_fleet(url, root, args, seconds),
        )
    elif args.scenario:
        await run_scenario(url, root, args)
    else:
        log.info("final answers: %s", await run_fleet(url, root, args, args.duration))

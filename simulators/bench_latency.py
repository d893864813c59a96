"""Alarm latency benchmark: a unit publishes an alarm over MQTT -> it is on a dashboard's stream.

    python -m simulators.bench_latency [--rate 200] [--probes 200] [--units 2000]

What it measures, end to end through the real pieces (broker, ingest, PostgreSQL,
LISTEN/NOTIFY, the SSE endpoint): the time from publishing an alarm ``mrq`` to the
``alarm.opened`` event for it arriving on an open ``GET /api/live/stream``, and
(for comparison) to the unit receiving its ``mrs`` (HOLD). Meanwhile a steady
background of heartbeats (``mty: PI``) flows at ``--rate`` messages per second
from ``--units`` registered units, as a real fleet does.

By default the harness starts the service itself, as ``lifeline serve`` in a
child process, on a scratch database it creates on ``--pg`` (dropped at the end)
and a unique MQTT topic root on ``--mqtt``; it registers the units and an
operator token directly in that database (setup only). The measurement then talks
to the service only over MQTT and HTTP. Use ``--url`` and ``--token`` to measure
a service that is already running instead (its topic root: ``--topic-root``).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import multiprocessing as mp
import os
import socket
import sys
import time
import uuid
from dataclasses import dataclass, field
from urllib.parse import urlsplit, urlunsplit

import aiomqtt
import httpx

from devices.broker import broker_address
from simulators.benchkit import add_pg_argument, latency_summary, own_broker, percentile
from simulators.sse import sse_events

CID_BASE = 8_800_000


@dataclass
class Probe:
    cid: str
    ref: str
    sent: float
    mrs_at: float | None = None
    stream_at: float | None = None  # on the first dashboard stream
    seen_by: int = 0
    all_at: float | None = None  # on every dashboard stream


@dataclass
class Run:
    probes: dict[str, Probe] = field(default_factory=dict)  # by cid
    heartbeats_sent: int = 0
    streams: int = 1
    ready: int = 0
    stream_ready: asyncio.Event = field(default_factory=asyncio.Event)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _mqtt_client(url: str, name: str) -> aiomqtt.Client:
    return aiomqtt.Client(
        **broker_address(url),
        identifier=f"bench-{name}-{uuid.uuid4().hex[:8]}",
        max_queued_outgoing_messages=100_000,
    )


# --- the service under test ----------------------------------------------------------------------


@contextlib.asynccontextmanager
async def scratch_service(args, prepare=None):
    """A scratch database, the units and an operator token, and ``lifeline serve`` on a free port.

    ``prepare(session, database_url)``, if given, is awaited in the set-up transaction (after the
    units are flushed), e.g. to give them SIP credentials."""
    import asyncpg

    from arc import migrate
    from arc.auth.models import User
    from arc.auth.service import issue_session
    from arc.kit.clock import Clock
    from arc.kit.db import make_engine, make_sessionmaker
    from arc.registry.units import Unit

    name = f"lifeline_bench_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(args.pg)
    await admin.execute(f'CREATE DATABASE "{name}"')
    await admin.close()
    parts = urlsplit(args.pg)
    db_url = urlunsplit(parts._replace(scheme="postgresql+asyncpg", path=f"/{name}"))
    root = f"bench{uuid.uuid4().hex[:6]}"
    port = _free_port()
    proc = None
    try:
        await migrate.upgrade(db_url)
        engine = make_engine(db_url, pool_size=1)
        async with make_sessionmaker(engine)() as s:
            s.add_all(Unit(cid=str(CID_BASE + i), model="BenchHub") for i in range(args.units + args.probes))
            user = User(username="bench-operator", full_name="Bench Operator", role="operator")
            s.add(user)
            await s.flush()
            token, _ = await issue_session(s, user, "api", Clock().now())
            if prepare is not None:
                await prepare(s, db_url)
            await s.commit()
        await engine.dispose()
        env = {
            **os.environ,
            "LIFELINE_ENV": "development",
            "LIFELINE_DATABASE_URL": db_url,
            "LIFELINE_MQTT_URL": args.mqtt,
            "LIFELINE_MQTT_TOPIC_ROOT": root,
            "LIFELINE_MQTT_CLIENT_ID": f"lifeline-bench-{uuid.uuid4().hex[:8]}",
            "LIFELINE_MQTT_SESSION_EXPIRY_SECONDS": "300",
            "LIFELINE_LOG_LEVEL": "WARNING",
        }
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            "from arc.cli import main; raise SystemExit(main())",
            "serve",
            "--port",
            str(port),
            env=env,
        )
        url = f"http://127.0.0.1:{port}"
        async with httpx.AsyncClient(base_url=url, timeout=2) as http:
            deadline = time.monotonic() + 60
            while True:
                with contextlib.suppress(httpx.HTTPError):
                    if (await http.get("/healthz")).status_code == 200:
                        break
                if proc.returncode is not None or time.monotonic() > deadline:
                    raise RuntimeError("the service did not start")
                await asyncio.sleep(0.2)
        yield url, token, root
    finally:
        if proc is not None and proc.returncode is None:
            proc.terminate()
            try:
                async with asyncio.timeout(20):
                    await proc.wait()
            except TimeoutError:
                proc.kill()
                await proc.wait()
        admin = await asyncpg.connect(args.pg)
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


# --- load and probes -----------------------------------------------------------------------------


async def heartbeats(args, root: str, run: Run, stop: asyncio.Event) -> None:
    """A steady ``--rate`` heartbeats per second, round-robin over the fleet."""
    if args.rate <= 0:
        await stop.wait()
        return
    async with _mqtt_client(args.mqtt, "fleet") as client:
        interval = 1 / args.rate
        start = time.perf_counter()
        n = 0
        while not stop.is_set():
            cid = str(CID_BASE + args.probes + n % args.units)
            payload = json.dumps({"ref": f"H{n:09d}", "cid": cid, "dty": "0001", "mty": "PI"})
            await client.publish(f"{root}/{cid}/mrq", payload, qos=1)
            n += 1
            run.heartbeats_sent = n
            delay = start + n * interval - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)


class _SentCounter:
    """``Run.heartbeats_sent`` for a generator in another process: a shared integer."""

    def __init__(self, value) -> None:
        self._value = value

    @property
    def heartbeats_sent(self) -> int:
        return self._value.value

    @heartbeats_sent.setter
    def heartbeats_sent(self, n: int) -> None:
        self._value.value = n


def _generator_process(args, root: str, stop, sent) -> None:
    """``heartbeats`` in a process of its own (``--generator process``): the fleet's publishing does
    not share an event loop with the dashboards' streams whose arrival times are measured."""
    asyncio.run(heartbeats(args, root, _SentCounter(sent), stop))  # type: ignore[arg-type]


async def watch_stream(url: str, token: str, run: Run, stop: asyncio.Event) -> None:
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=url, timeout=httpx.Timeout(10, read=None)) as http:
        async with http.stream("GET", "/api/live/stream", headers=headers) as response:
            response.raise_for_status()
            async for event in sse_events(response):
                now = time.perf_counter()
                if event.event == "hello":
                    run.ready += 1
                    if run.ready == run.streams:
                        run.stream_ready.set()
                elif event.event == "alarm.opened":
                    probe = run.probes.get(event.json().get("cid"))
                    if probe is not None:
                        probe.stream_at = probe.stream_at or now
                        probe.seen_by += 1
                        if probe.seen_by == run.streams:
                            probe.all_at = now
                if stop.is_set():
                    return


async def probes(args, root: str, run: Run) -> None:
    async with _mqtt_client(args.mqtt, "probe") as client:
        await client.subscribe(f"{root}/+/mrs", qos=1)

        async def answers() -> None:
            async for message in client.messages:
                now = time.perf_counter()
                cid = str(message.topic).split("/")[-2]
                probe = run.probes.get(cid)
                if (
                    probe is not None
                    and probe.mrs_at is None
                    and json.loads(message.payload).get("ref") == probe.ref
                ):
                    probe.mrs_at = now

        reader = asyncio.create_task(answers())
        await asyncio.sleep(args.warmup)  # the background load settles in
        for i in range(args.probes):
            cid = str(CID_BASE + i)
            ref = f"A{i:06d}{uuid.uuid4().hex[:4].upper()}"
            payload = json.dumps({"ref": ref, "cid": cid, "dty": "0003", "stc": "0010"})
            run.probes[cid] = Probe(cid, ref, time.perf_counter())
            await client.publish(f"{root}/{cid}/mrq", payload, qos=1)
            await asyncio.sleep(args.interval)
        await asyncio.sleep(2.0)  # stragglers
        reader.cancel()


def report(args, run: Run, elapsed: float) -> int:
    probes = list(run.probes.values())
    stream_ms = [(p.stream_at - p.sent) * 1000 for p in probes if p.stream_at is not None]
    all_ms = [(p.all_at - p.sent) * 1000 for p in probes if p.all_at is not None]
    mrs_ms = [(p.mrs_at - p.sent) * 1000 for p in probes if p.mrs_at is not None]
    print(
        f"{run.streams} dashboard stream(s); background heartbeats {run.heartbeats_sent / elapsed:.0f} msg/s "
        f"(asked {args.rate:.0f}/s from {args.units} units); {len(probes)} alarms, one every "
        f"{args.interval * 1000:.0f} ms"
    )
    rows = [("publish -> on a dashboard stream", stream_ms)]
    if run.streams > 1:
        rows.append((f"publish -> on all {run.streams} streams", all_ms))
    rows.append(("publish -> mrs (HOLD) at the unit", mrs_ms))
    for label, values in rows:
        if not values:
            print(f"{label}: no samples")
            continue
        print(f"{label}: {latency_summary(values)}")
    missing = len(run.probes) - len(all_ms)
    if missing:
        print(f"MISSING: {missing} alarms did not reach every stream")
    ok = not missing and all_ms and percentile(all_ms, 99) < args.target_ms
    print(f"target p99 < {args.target_ms:.0f} ms: {'met' if ok else 'NOT met'}")
    return 0 if ok else 1


async def main_async(args) -> int:
    async with contextlib.AsyncExitStack() as stack:
        if args.mqtt is None:
            broker, args.mqtt = own_broker()
            stack.callback(broker.terminate)
        if args.url:
            url, token, root = args.url, args.token, args.topic_root
        else:
            url, token, root = await stack.enter_async_context(scratch_service(args))
        run = Run(streams=args.streams)
        stop = asyncio.Event()
        watchers = [asyncio.create_task(watch_stream(url, token, run, stop)) for _ in range(args.streams)]
        async with asyncio.timeout(20):
            await run.stream_ready.wait()
        if args.generator == "process" and args.rate > 0:
            spawn = mp.get_context("spawn")
            fleet_stop, sent = spawn.Event(), spawn.Value("q", 0)
            fleet = spawn.Process(target=_generator_process, args=(args, root, fleet_stop, sent), daemon=True)
            fleet.start()
            load = None
        else:
            load = asyncio.create_task(heartbeats(args, root, run, stop))
        started = time.perf_counter()
        try:
            await probes(args, root, run)
        finally:
            elapsed = time.perf_counter() - started
            stop.set()
            if load is not None:
                await load
            else:
                fleet_stop.set()
                await asyncio.to_thread(fleet.join, 10)
                run.heartbeats_sent = sent.value
            for watcher in watchers:
                watcher.cancel()
            await asyncio.gather(*watchers, return_exceptions=True)
        return report(args, run, elapsed)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rate", type=float, default=200.0, help="background heartbeats per second")
    parser.add_argument("--units", type=int, default=2000, help="units sending the heartbeats")
    parser.add_argument("--probes", type=int, default=200, help="alarms to time")
    parser.add_argument("--interval", type=float, default=0.1, help="seconds between probe alarms")
    parser.add_argument("--warmup", type=float, default=2.0, help="seconds of background load before probing")
    parser.add_argument("--streams", type=int, default=1, help="dashboards connected at once")
    parser.add_argument("--target-ms", type=float, default=250.0)
    parser.add_argument(
        "--generator",
        choices=("process", "inline"),
        default="process",
        help="the background heartbeats from a process of their own (default), or from the event loop"
        " that reads the dashboards' streams (as until 2 December: its publishing delays the readings)",
    )
    add_pg_argument(parser)
    parser.add_argument(
        "--mqtt",
        default=os.environ.get("LIFELINE_BENCH_MQTT"),
        help="MQTT broker (default: a Mosquitto of its own, tuned as deploy/mosquitto/mosquitto.conf)",
    )
    parser.add_argument("--url", help="measure this running service instead of starting one")
    parser.add_argument("--token", help="operator bearer token for --url")
    parser.add_argument("--topic-root", default="lifeline", help="topic root of the --url service")
    args = parser.parse_args(argv)
    if args.url and not args.token:
        parser.error("--url needs --token (an operator's API token)")
    return args


def main(argv=None) -> int:
    return asyncio.run(main_async(parse_args(argv)))


if __name__ == "__main__":
    raise SystemExit(main())

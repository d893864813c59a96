"""How soon a restarted ``lifeline ingest`` receives alarms: exec to the first answer, and its CPU.

    python -m simulators.bench_restart [--starts 5] [--tree DIR] [--mqtt mqtt://127.0.0.1:1883]

After a crash the supervisor starts the ingest again, and until it has subscribed no alarm is
received. Each start here is the real ``lifeline ingest`` process (benchkit.start_service) on a
scratch database with one registered unit, under a new MQTT client id (no session to resume: it
must connect and SUBSCRIBE before anything reaches it), killed with SIGKILL once it has answered.
While it starts, a probe client sends that unit a heartbeat every ``--probe-ms``; the first answer
to one of this start's heartbeats is when the ingest was receiving. Printed per start and as
best / median: the wall time from exec to that answer, and the CPU the process had used by then
(/proc; on shared cores the CPU is the steadier figure, the wall time includes the neighbours).

``--tree`` runs another source tree's code (the working directory of the started process, so
``python -m arc.cli`` imports that tree): alternate two trees to compare a change on a busy machine.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import statistics
import threading
import time
import uuid

from simulators.benchkit import (
    CID_BASE,
    add_pg_argument,
    drop_database,
    paho_client,
    process_cpu,
    setup_database,
    start_service,
)


def one_start(args, database_url: str, root: str, serial: int) -> tuple[float, float]:
    """Start the ingest once; (wall seconds, CPU seconds) from exec to its first answer."""
    tag = f"R{serial:02d}{uuid.uuid4().hex[:6]}"
    answered = threading.Event()
    seen: dict[str, float] = {}
    proc = None

    def on_message(client, userdata, message) -> None:
        if answered.is_set() or proc is None:
            return
        if json.loads(message.payload).get("ref", "").startswith(tag):
            seen["wall"] = time.perf_counter()
            seen["cpu"] = process_cpu(proc.pid)
            answered.set()

    probe = paho_client(args.mqtt, f"bench-restart-probe-{uuid.uuid4().hex[:8]}")
    probe.on_message = on_message
    subscribed = threading.Event()
    probe.on_subscribe = lambda *_: subscribed.set()
    probe.subscribe(f"{root}/+/mrs", qos=1)
    probe.loop_start()
    try:
        if not subscribed.wait(10):
            raise SystemExit("the probe could not subscribe to the broker")
        client_id = f"bench-restart-{uuid.uuid4().hex[:8]}"  # a new session every start
        started = time.perf_counter()
        proc = start_service(database_url, args.mqtt, root, client_id, cwd=args.tree)
        deadline = started + args.timeout
        sent = 0
        while not answered.wait(args.probe_ms / 1000):
            if proc.poll() is not None:
                raise SystemExit(f"lifeline ingest exited with status {proc.returncode} before answering")
            if time.perf_counter() > deadline:
                raise SystemExit(f"lifeline ingest did not answer within {args.timeout:.0f} s")
            sent += 1
            body = {"ref": f"{tag}{sent:04d}", "cid": str(CID_BASE), "dty": "1", "mty": "PI"}
            probe.publish(f"{root}/{CID_BASE}/mrq", json.dumps(body), qos=1)
        return seen["wall"] - started, seen["cpu"]
    finally:
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGKILL)  # a crash, as the supervisor sees it
            proc.wait()
        probe.loop_stop()
        probe.disconnect()


async def run(args) -> dict[str, list[float]]:
    url = await setup_database(args.pg, 1)
    figures: dict[str, list[float]] = {"wall": [], "cpu": []}
    try:
        database_url = url.replace("postgresql://", "postgresql+asyncpg://", 1)
        root = f"restart{uuid.uuid4().hex[:6]}"
        for serial in range(args.starts):
            wall, cpu = await asyncio.to_thread(one_start, args, database_url, root, serial)
            figures["wall"].append(wall)
            figures["cpu"].append(cpu)
            if args.verbose:
                print(f"start {serial + 1}: {wall * 1000:.0f} ms wall, {cpu * 1000:.0f} ms CPU")
    finally:
        await drop_database(args.pg, url)
    return figures


def report(args, figures: dict[str, list[float]]) -> None:
    tree = args.tree or os.getcwd()
    print(
        f"{args.starts} starts of lifeline ingest ({tree}), each a new MQTT session, killed after answering"
    )
    print(f"{'exec -> first answer, ms':<30} {'best':>6} {'median':>7}")
    for name, values in (("wall", figures["wall"]), ("CPU of the ingest process", figures["cpu"])):
        print(f"{name:<30} {min(values) * 1000:>6.0f} {statistics.median(values) * 1000:>7.0f}")
    print(f"machine: load average {os.getloadavg()[0]:.1f} ({os.cpu_count()} shared cores)")


def main(argv=None) -> dict[str, list[float]]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--starts", type=int, default=5, help="how many times the ingest is started")
    parser.add_argument("--probe-ms", type=float, default=20.0, help="a probe heartbeat this often")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds one start may take to answer")
    parser.add_argument("--tree", help="source tree the ingest runs from (default: the working directory)")
    parser.add_argument("-v", "--verbose", action="store_true", help="print every start")
    parser.add_argument(
        "--mqtt", default=os.environ.get("LIFELINE_BENCH_MQTT", "mqtt://127.0.0.1:1883"), help="the broker"
    )
    add_pg_argument(parser)
    args = parser.parse_args(argv)
    figures = asyncio.run(run(args))
    report(args, figures)
    return figures


if __name__ == "__main__":
    main()

"""CPU per heartbeat of the storing side of the ingest: ``Pipeline.handle`` in this process, no MQTT.

    python -m simulators.bench_store [--batches 50] [--batch 100] [--rounds 5] [--profile out.prof]

Heartbeats (``mty`` PI, ``hbo`` 001, each batch from ``--batch`` different registered units, new
refs every batch) go through the real pipeline on a scratch database: decode, the inbox INSERT,
the units' UPDATE, COMMIT, one answer per message (checked: snu 0 with the unit's hbi). Each round
runs ``--batches`` batches and reads ``time.process_time`` (the CPU of this process, which is what
the service spends; PostgreSQL's own work is another process) and the wall clock; decoding is timed
on its own over the same payloads, so ``store`` is ``handle`` minus ``decode``. Best and median of
the rounds are printed: on shared cores the best is the least disturbed.

``--duplicates`` sends every batch a second time (retransmissions: recognised, answered from the
stored row). ``--profile`` writes a cProfile (CPU time) of the measured rounds.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import gc
import json
import os
import statistics
import time

from simulators.benchkit import CID_BASE, add_pg_argument, drop_database, process_cpu, setup_database

ROOT = "store"


def heartbeats(first_unit: int, count: int, units: int, tag: str) -> list:
    from arc.ingest.replies import Incoming

    out = []
    for n in range(count):
        cid = str(CID_BASE + (first_unit + n) % units)
        body = {"ref": f"{tag}{n:04d}", "cid": cid, "dty": "0001", "mty": "PI", "hbo": "001"}
        out.append(Incoming(f"{ROOT}/{cid}/mrq", json.dumps(body, separators=(",", ":")).encode()))
    return out


async def backend_cpu(url: str, before: dict[int, float] | None = None) -> dict[int, float]:
    """CPU seconds of this database's PostgreSQL backends (a local server: /proc), or the change
    since ``before``; the query's own backend is left out."""
    import asyncpg

    conn = await asyncpg.connect(url)
    try:
        pids = await conn.fetch(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
    finally:
        await conn.close()
    now = {}
    for row in pids:
        try:
            now[row["pid"]] = process_cpu(row["pid"])
        except OSError:  # not a local server, or the backend just ended
            continue
    if before is None:
        return now
    return {pid: cpu - before.get(pid, 0.0) for pid, cpu in now.items()}


def check(replies: list, items: list, hbi: int) -> None:
    assert len(replies) == len(items)
    for reply, item in zip(replies, items, strict=True):
        answer = json.loads(reply.payload)
        assert answer["snu"] == 0 and answer.get("hbi") == hbi, answer
        assert answer["ref"] == json.loads(item.payload)["ref"]
        assert reply.topic == item.topic.removesuffix("mrq") + "mrs"


async def run(args) -> dict[str, list[float]]:
    from arc.ingest.pipeline import Pipeline
    from arc.kit.clock import Clock
    from arc.kit.db import make_engine, make_sessionmaker
    from arc.kit.settings import Settings

    units = max(args.units, args.batch)
    url = await setup_database(args.pg, units)
    engine = None
    figures: dict[str, list[float]] = {"handle": [], "decode": [], "wall": [], "postgres": []}
    try:
        database_url = url.replace("postgresql://", "postgresql+asyncpg://", 1)
        settings = Settings(
            env="test", database_url=database_url, mqtt_url="mqtt://unused", mqtt_topic_root=ROOT
        )
        engine = make_engine(database_url, pool_pre_ping=not args.no_pre_ping)
        pipeline = Pipeline(settings, make_sessionmaker(engine), Clock())
        hbi = settings.heartbeat_interval_minutes
        serial = 0

        def next_batch() -> list:
            nonlocal serial
            serial += 1
            return heartbeats(serial * args.batch, args.batch, units, f"H{serial:05d}")

        for _ in range(20):  # warm: connections, prepared statements
            items = next_batch()
            check(await pipeline.handle(items), items, hbi)
        if args.gc_freeze:  # what the process holds after start-up is never collected again
            gc.collect()
            gc.freeze()
        profiler = cProfile.Profile(time.process_time) if args.profile else None
        per = args.batches * args.batch * (2 if args.duplicates else 1)
        for _round in range(args.rounds):
            batches = [next_batch() for _ in range(args.batches)]
            again = (
                [[type(i)(i.topic, i.payload) for i in items] for items in batches] if args.duplicates else []
            )
            answers = []
            if profiler:
                profiler.enable()
            backends = await backend_cpu(url)
            wall, cpu = time.perf_counter(), time.process_time()
            for items in batches:
                answers.append(await pipeline.handle(items))
            for items in again:
                answers.append(await pipeline.handle(items))
            cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
            backends = await backend_cpu(url, backends)
            if profiler:
                profiler.disable()
            for replies, items in zip(answers, batches + again, strict=True):
                check(replies, items, hbi)
            started = time.process_time()
            for items in batches + again:
                for item in items:
                    pipeline.decode(item)
            figures["decode"].append((time.process_time() - started) * 1e6 / per)
            figures["handle"].append(cpu * 1e6 / per)
            figures["wall"].append(wall * 1e6 / per)
            figures["postgres"].append(sum(backends.values()) * 1e6 / per)
        if profiler:
            profiler.dump_stats(args.profile)
    finally:
        if engine is not None:
            await engine.dispose()
        await drop_database(args.pg, url)
    return figures


def report(args, figures: dict[str, list[float]]) -> None:
    what = "heartbeats, each sent twice (the second a duplicate)" if args.duplicates else "new heartbeats"
    print(f"{args.rounds} rounds of {args.batches} batches of {args.batch} {what}, in-process (no MQTT)")
    store = [h - d for h, d in zip(figures["handle"], figures["decode"], strict=True)]
    print(f"{'µs per heartbeat':<34} {'best':>7} {'median':>7}")
    for name, values in (
        ("CPU: Pipeline.handle", figures["handle"]),
        ("CPU:   decode", figures["decode"]),
        ("CPU:   store (handle - decode)", store),
        ("wall: Pipeline.handle", figures["wall"]),
        ("CPU of PostgreSQL's backends", figures["postgres"]),
    ):
        print(f"{name:<34} {min(values):>7.1f} {statistics.median(values):>7.1f}")
    print(f"machine: load average {os.getloadavg()[0]:.1f} (2 shared cores)")


def main(argv=None) -> dict[str, list[float]]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--batches", type=int, default=50, help="batches per round")
    parser.add_argument("--batch", type=int, default=100, help="heartbeats per batch (per transaction)")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--units", type=int, default=1000, help="registered units the heartbeats come from")
    parser.add_argument("--duplicates", action="store_true", help="send every batch twice")
    parser.add_argument(
        "--no-pre-ping", action="store_true", help="the pool's liveness check off (what it costs per batch)"
    )
    parser.add_argument("--gc-freeze", action="store_true", help="gc.freeze() after the warm-up")
    parser.add_argument("--profile", help="write a cProfile (CPU time) of the measured rounds here")
    add_pg_argument(parser)
    args = parser.parse_args(argv)
    figures = asyncio.run(run(args))
    report(args, figures)
    return figures


if __name__ == "__main__":
    main()

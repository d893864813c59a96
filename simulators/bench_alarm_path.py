"""Where an alarm's milliseconds go inside the ingest: one new alarm per transaction, statement by statement.

    python -m simulators.bench_alarm_path [--alarms 300] [--batch 1] [--ping local|round-trip]

The real pipeline (``arc.ingest.pipeline.Pipeline``: decode, store in the inbox, mark the unit
heard, lock the unit, triage, open the alarm with its log row and live event, record the
decision, COMMIT) is run in this process on a scratch database, without MQTT, for ``--alarms``
pendant alarms from registered units, each opening a new alarm. SQLAlchemy's cursor events (and, for
the statements sent on the bare asyncpg connection, a wrapper around its methods) time every
statement and the COMMIT (wall clock, so: the round trip to PostgreSQL and PostgreSQL's own
work, the WAL flush for the COMMIT) and the CPU this process spent meanwhile; what is left is
Python outside the driver (building statements, the ORM's flush, the codec, the reply), BEGIN
and the pool's liveness ping.

It prints per alarm: wall and CPU time, then each kind of statement (how many per alarm, wall ms,
CPU ms) and the remainder. The MQTT hops and the dashboard's stream are measured end to end by
``simulators/bench_latency.py``; this is the part in between.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import json
import os
import re
import time
from collections import defaultdict

from sqlalchemy import event
from sqlalchemy.orm import Session

from simulators.benchkit import CID_BASE, add_pg_argument, drop_database, setup_database

_WORDS = re.compile(r"\s+")


@functools.lru_cache(maxsize=512)  # the hot statements are constants: labelled once, not per call
def label(statement: str) -> str:
    """A statement's kind: its verb and table (``INSERT alarms``) or the function it calls."""
    text = _WORDS.sub(" ", statement).strip()
    for pattern in (
        r"^(INSERT INTO|UPDATE|DELETE FROM) (\w+)",
        r"^WITH (\w+)",
        r"(pg_\w+)\(",
        r"^SELECT .*? FROM (\w+)",
    ):
        found = re.search(pattern, text)
        if found:
            return " ".join(g for g in found.groups()).replace("INSERT INTO", "INSERT").replace("DELETE FROM", "DELETE")
    return text[:40]


class Timings:
    def __init__(self) -> None:
        self.count: dict[str, int] = defaultdict(int)
        self.wall: dict[str, float] = defaultdict(float)
        self.cpu: dict[str, float] = defaultdict(float)
        self._started: tuple[float, float] | None = None

    def watch(self, engine) -> None:
        @event.listens_for(engine, "before_cursor_execute")
        def before(conn, cursor, statement, parameters, context, executemany) -> None:
            self._started = (time.perf_counter(), time.process_time())

        @event.listens_for(engine, "after_cursor_execute")
        def after(conn, cursor, statement, parameters, context, executemany) -> None:
            self.add(label(statement))

        import asyncpg

        def timed(method):
            async def run(conn, query, *args, **kwargs):
                outer = self._started  # a statement of SQLAlchemy's that this one (its BEGIN) runs inside
                started = (time.perf_counter(), time.process_time())
                try:
                    return await method(conn, query, *args, **kwargs)
                finally:
                    self._started = started
                    self.add(label(query))
                    if outer is not None:  # the outer statement's own time excludes this one's
                        wall, cpu = time.perf_counter() - started[0], time.process_time() - started[1]
                        self._started = (outer[0] + wall, outer[1] + cpu)

            return run

        for name in ("execute", "fetch", "fetchrow", "fetchval"):  # statements on the bare connection
            setattr(asyncpg.Connection, name, timed(getattr(asyncpg.Connection, name)))

        @event.listens_for(Session, "before_commit")
        def committing(session) -> None:
            self._started = (time.perf_counter(), time.process_time())

        @event.listens_for(Session, "after_commit")
        def committed(session) -> None:
            self.add("COMMIT")

    def add(self, kind: str) -> None:
        if self._started is None:
            return
        wall, cpu = self._started
        self.count[kind] += 1
        self.wall[kind] += time.perf_counter() - wall
        self.cpu[kind] += time.process_time() - cpu
        self._started = None

    def clear(self) -> None:
        for table in (self.count, self.wall, self.cpu):
            table.clear()


async def connect_customers(url: str) -> None:
    """Each unit installed at a customer's home (an active connection), as a real fleet is: the
    alarm then carries the customer to the dashboard (one more lookup on the path)."""
    import asyncpg

    conn = await asyncpg.connect(url)
    try:
        await conn.execute(
            """
            INSERT INTO customers (given_name, family_name, address_line1, postcode)
            SELECT 'Bench', 'Customer ' || id, id || ' Bench Street', 'CB1 1AA' FROM units ORDER BY id;
            INSERT INTO connections (customer_id, unit_id, install_date, status)
            SELECT c.id, u.id, DATE '2026-01-05', 'active'
            FROM (SELECT id, row_number() OVER (ORDER BY id) AS n FROM units) AS u
            JOIN (SELECT id, row_number() OVER (ORDER BY id) AS n FROM customers) AS c USING (n);
            """
        )
    finally:
        await conn.close()


async def run(args) -> None:
    from arc.ingest.pipeline import Incoming, Pipeline
    from arc.kit.clock import Clock
    from arc.kit.db import make_engine, make_sessionmaker
    from arc.kit.settings import Settings

    url = await setup_database(args.pg, args.alarms + 20)
    if not args.no_customers:
        await connect_customers(url)
    engine = None
    try:
        database_url = url.replace("postgresql://", "postgresql+asyncpg://", 1)
        settings = Settings(env="test", database_url=database_url, mqtt_url="mqtt://unused", mqtt_topic_root="path")
        engine = make_engine(database_url, local_ping=args.ping == "local")
        timings = Timings()
        timings.watch(engine.sync_engine)
        pipeline = Pipeline(settings, make_sessionmaker(engine), Clock())

        def alarm(n: int) -> Incoming:
            cid = str(CID_BASE + n % (args.alarms + 20))
            if args.heartbeats:
                body = {"ref": f"H{n:06d}", "cid": cid, "dty": "0001", "mty": "PI", "hbo": "001"}
            else:
                body = {"ref": f"A{n:06d}", "cid": cid, "dty": "0003", "stc": "0010"}
            return Incoming(f"path/{cid}/mrq", json.dumps(body).encode())

        for n in range(args.alarms, args.alarms + 20):  # warm: connections, prepared statements
            await pipeline.handle([alarm(n)])
        timings.clear()
        wall, cpu = time.perf_counter(), time.process_time()
        for first in range(0, args.alarms, args.batch):
            replies = await pipeline.handle([alarm(n) for n in range(first, min(first + args.batch, args.alarms))])
            expected = b'"snu":0' if args.heartbeats else b'"snu":4'  # heartbeat: OK; alarm: HOLD (queued)
            assert all(expected in r.payload for r in replies), replies[0]
        wall, cpu = (time.perf_counter() - wall) * 1e3 / args.alarms, (time.process_time() - cpu) * 1e3 / args.alarms
        report(args, timings, wall, cpu)
    finally:
        if engine is not None:
            await engine.dispose()
        await drop_database(args.pg, url)


def report(args, timings: Timings, wall: float, cpu: float) -> None:
    n = args.alarms
    homes = "not installed at customers" if args.no_customers else "each installed at a customer's home"
    what = "heartbeat" if args.heartbeats else "alarm"
    print(f"{n} new {what}s, {args.batch} per transaction, registered units {homes}, in-process (no MQTT)")
    print(f"per {what}: {wall:.3f} ms wall, {cpu:.3f} ms CPU of this process")
    print(f"{'statement':<34} {'per ' + what:>9} {'wall ms':>8} {'CPU ms':>7}")
    rows = sorted(timings.count, key=lambda k: -timings.wall[k])
    for kind in rows:
        print(f"{kind:<34} {timings.count[kind] / n:>9.2f} {timings.wall[kind] * 1e3 / n:>8.3f} {timings.cpu[kind] * 1e3 / n:>7.3f}")
    sql_wall = sum(timings.wall.values()) * 1e3 / n
    sql_cpu = sum(timings.cpu.values()) * 1e3 / n
    statements = sum(timings.count.values()) / n
    print(f"{'all statements':<34} {statements:>9.2f} {sql_wall:>8.3f} {sql_cpu:>7.3f}")
    print(f"{'the rest: Python, BEGIN, pool ping':<34} {'':>9} {wall - sql_wall:>8.3f} {cpu - sql_cpu:>7.3f}")
    print(f"machine: load average {os.getloadavg()[0]:.1f} (2 shared cores: wall time includes waiting for one)")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--alarms", type=int, default=300)
    parser.add_argument(
        "--heartbeats", action="store_true", help="heartbeats instead of alarms (use a --batch of 200 as the ingest does)"
    )
    parser.add_argument("--no-customers", action="store_true", help="units not installed at any customer")
    parser.add_argument("--batch", type=int, default=1, help="alarms per transaction (the fast lane takes up to 10)")
    parser.add_argument(
        "--ping", choices=("local", "round-trip"), default="local",
        help="before each transaction: check the pooled connection is open (lifeline ingest) or ping it (the web app)",
    )
    add_pg_argument(parser)
    asyncio.run(run(parser.parse_args(argv)))


if __name__ == "__main__":
    main()

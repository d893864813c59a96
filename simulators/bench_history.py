"""Read-side benchmark: a customer with 10,000 activations — history page, chart, flags — and the
flag evaluation's cost per activation; then the trend test's false-positive rate on flat series.

    python -m simulators.bench_history [--activations 10000] [--repeat 30] [--seeds 2000]

Setup: a scratch database on ``--pg`` built by the project's migrations, one customer with
``--activations`` alarms over five years (bulk-inserted, with their ``received`` events) and a
few hundred other customers with a handful each. The app is built in-process (no network) and
called through httpx's ASGI transport as a signed-in TEC user, so the figures include routing,
auth, the read-only session, the queries, rendering and the audit row each view writes.

Flag cost: ``run_evaluation`` after N new activations spread over N people (the job's real work
per pass), divided by N. The ingest never runs this (it is a scheduled job on the leader).
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import time
import uuid
from datetime import UTC, datetime, timedelta

from simulators.benchkit import drop_database, scratch_database

PG = "postgresql://postgres@127.0.0.1:5432/postgres"

SETUP = [
    "INSERT INTO units (cid, model, is_mobile) SELECT (6600000 + g)::text, 'BenchHub', false"
    " FROM generate_series(0, $1::int) g",
    "INSERT INTO customers (given_name, family_name, address_line1, postcode, case_ref, date_of_birth)"
    " SELECT 'Bench', 'Person ' || g, g || ' Bench Street', 'CB1 1AA', 'BENCH-' || g, date '1940-01-01'"
    " FROM generate_series(0, $1::int) g",
    "INSERT INTO connections (customer_id, unit_id, install_date, status, activated_on)"
    " SELECT c.id, u.id, date '2021-11-01', 'active', date '2021-11-01'"
    " FROM customers c JOIN units u ON u.cid = (6600000 + c.id - 1)::text",
]
# the heavy customer (id 1): $1 alarms over five years, pendant and falls, some false, some ERS
HEAVY = """
INSERT INTO alarms (cid, unit_id, customer_id, category, kind, priority, status, ref, dty, stc, did,
                    title, raised_at, last_activation_at, accepted_at, closed_at, outcome_code)
SELECT '6600000', 1, 1, 'personal', 'activation', 20, 'closed', 'B' || g,
       CASE WHEN g % 9 = 0 THEN '0005' ELSE '0003' END, '0010', 'P1', 'Pendant',
       at, at, at + interval '40 seconds', at + interval '10 minutes',
       CASE WHEN g % 7 = 0 THEN 'false_alarm' WHEN g % 5 = 0 THEN 'ers_attended' ELSE 'assistance_by_phone' END
FROM (SELECT g, now() - (g * interval '5 years' / $1::int) AS at FROM generate_series(1, $1::int) g) s
"""
AFTER = [  # everyone else: five calls each; every alarm gets its received event
    "INSERT INTO alarms (cid, unit_id, customer_id, category, kind, priority, status, ref, dty, stc,"
    " title, raised_at, last_activation_at, closed_at, outcome_code)"
    " SELECT (6600000 + c.id - 1)::text, c.id, c.id, 'personal', 'activation', 20, 'closed',"
    " 'O' || c.id || '-' || g, '0003', '0010', 'Pendant', now() - g * interval '23 days',"
    " now() - g * interval '23 days', now() - g * interval '23 days' + interval '5 minutes', 'assistance_by_phone'"
    " FROM customers c CROSS JOIN generate_series(1, 5) g WHERE c.id > 1",
    "INSERT INTO alarm_events (alarm_id, at, type, actor, data) SELECT id, raised_at, 'received', 'unit', '{}'"
    " FROM alarms",
    "ANALYZE",
]


async def setup(pg_url: str, activations: int, others: int) -> str:
    import asyncpg

    url = await scratch_database(pg_url, "lifeline_bench_history")
    conn = await asyncpg.connect(url)
    try:
        for statement in SETUP:
            await (conn.execute(statement, others) if "$1" in statement else conn.execute(statement))
        await conn.execute(HEAVY, activations)
        for statement in AFTER:
            await conn.execute(statement)
    finally:
        await conn.close()
    return url


def _ms(samples: list[float]) -> str:
    samples = sorted(samples)
    p95 = samples[min(len(samples) - 1, int(0.95 * len(samples)))]
    return f"median {statistics.median(samples) * 1000:6.1f} ms   p95 {p95 * 1000:6.1f} ms"


async def web(url: str, repeat: int, activations: int) -> None:
    import httpx

    from arc.app import create_app
    from arc.auth.service import create_user, generate_password, issue_session
    from arc.history.db import read_scope
    from arc.history.flags import run_evaluation
    from arc.kit.clock import Clock
    from arc.kit.db import session_scope
    from arc.kit.settings import Settings

    settings = Settings(env="test", database_url=url, mqtt_url="mqtt://unused", log_level="WARNING")
    app = create_app(settings, clock=Clock())
    async with app.router.lifespan_context(app):
        async with session_scope(app.state.sessionmaker) as s:
            user = await create_user(
                s,
                username="bench-tec",
                full_name="Bench TEC",
                role="tec",
                password=generate_password(),
                now=app.state.clock.now(),
            )
            token, _ = await issue_session(s, user, "api", app.state.clock.now())
        first_pass = time.perf_counter()
        async with (
            read_scope(app.state.read_sessionmaker) as read,
            session_scope(app.state.sessionmaker) as write,
        ):
            out = await run_evaluation(read, write, app.state.clock.now())
        first_pass = time.perf_counter() - first_pass
        print(
            f"first evaluation pass: {out['customers']} people, {first_pass:.1f} s "
            f"({first_pass / max(out['customers'], 1) * 1000:.1f} ms a person)"
        )
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://bench", headers={"Authorization": f"Bearer {token}"}
        ) as http:
            routes = {
                "history page (50 rows)": "/api/history/customers/1/calls?page_size=50",
                "history page, falls only": "/api/history/customers/1/calls?device_type=0005",
                "history last page": f"/api/history/customers/1/calls?page={activations // 50}&page_size=50",
                "chart, 26 weeks": "/api/history/customers/1/chart.svg?weeks=26",
                "chart, 260 weeks (all 10k)": "/api/history/customers/1/chart.svg?weeks=260",
                "flags of the person": "/api/history/customers/1/flags",
                "review list": "/api/history/flags",
            }
            print(f"customer with {activations} activations; {repeat} requests each, in-process ASGI")
            for label, path in routes.items():
                samples = []
                await http.get(path)  # warm-up (first use of the plan and the pool connection)
                for _ in range(repeat):
                    t0 = time.perf_counter()
                    r = await http.get(path)
                    samples.append(time.perf_counter() - t0)
                    assert r.status_code == 200, (path, r.status_code, r.text[:200])
                print(f"  {label:<28} {_ms(samples)}")
        # flag cost per activation: N new activations for N people, then one evaluation pass
        for n in (1, 50):
            async with session_scope(app.state.sessionmaker) as s:
                from sqlalchemy import text

                await s.execute(
                    text(
                        "WITH a AS (INSERT INTO alarms (cid, unit_id, customer_id, category, kind, priority, status,"
                        " ref, dty, stc, title, raised_at, last_activation_at)"
                        " SELECT (6600000 + g)::text, g + 1, g + 1, 'personal', 'activation', 20, 'queued',"
                        " 'N' || g || '-' || :tag, '0003', '0010', 'Pendant', now(), now()"
                        " FROM generate_series(1, :n) g RETURNING id, raised_at)"
                        " INSERT INTO alarm_events (alarm_id, at, type, actor, data)"
                        " SELECT id, raised_at, 'received', 'unit', '{}' FROM a"
                    ),
                    {"n": n, "tag": uuid.uuid4().hex[:6]},
                )
            t0 = time.perf_counter()
            async with (
                read_scope(app.state.read_sessionmaker) as read,
                session_scope(app.state.sessionmaker) as write,
            ):
                out = await run_evaluation(
                    read, write, app.state.clock.now(), sweep_every=timedelta(days=365)
                )
            took = time.perf_counter() - t0
            print(
                f"flag evaluation after {n:>3} new activations: {took * 1000:7.1f} ms "
                f"({took / n * 1000:.1f} ms per activation, {out['customers']} people)"
            )
        t0 = time.perf_counter()
        async with (
            read_scope(app.state.read_sessionmaker) as read,
            session_scope(app.state.sessionmaker) as write,
        ):
            await run_evaluation(read, write, app.state.clock.now(), sweep_every=timedelta(days=365))
        print(f"an idle pass (nothing new): {(time.perf_counter() - t0) * 1000:.1f} ms")


def _flat_or_shifted(rng: random.Random, rates: list[float], now: datetime):
    from arc.history.rules import Signal

    signals, n = [], 0
    for week, rate in enumerate(rates):
        t = rng.expovariate(rate)
        while t < 1:
            n += 1
            signals.append(Signal(n, now - timedelta(weeks=len(rates) - week - t), call=True, genuine=True))
            t += rng.expovariate(rate)
    return signals


def detection(seeds: int) -> None:
    """How often the trend test sees a real change six weeks after it began."""
    from arc.history.rules import evaluate
    from arc.history.thresholds import Thresholds

    t, now = Thresholds(), datetime(2026, 11, 20, tzinfo=UTC)
    print(f"detection six weeks after a change ({seeds} seeds each):")
    for before, after in ((0.5, 2.0), (1.0, 3.0), (2.0, 5.0), (3.0, 0.75), (1.0, 0.2)):
        rng = random.Random(before * 10 + after)
        kind = "trend_rising" if after > before else "trend_falling"
        found = sum(
            kind
            in {
                f.kind
                for f in evaluate(
                    _flat_or_shifted(rng, [before] * 32 + [after] * 6, now), now, now - timedelta(weeks=38), t
                )
            }
            for _ in range(seeds)
        )
        print(f"  {before} -> {after} a week: {kind} flagged in {found / seeds * 100:.0f} %")


def false_positives(seeds: int) -> None:
    """Flat Poisson series (26 baseline weeks + 12 watched), default thresholds: how often does
    the two-sided trend test flag, and the cluster test fire, when nothing changed?"""
    from arc.history.rules import Signal, evaluate
    from arc.history.thresholds import Thresholds

    t = Thresholds()
    now = datetime(2026, 11, 20, tzinfo=UTC)
    weeks = 38
    print(f"false positives on flat series ({seeds} seeds a rate, {weeks} weeks, default thresholds):")
    for rate in (0.25, 0.5, 1.0, 2.0, 4.0):
        rng = random.Random(rate)
        hits = {"trend_rising": 0, "trend_falling": 0, "cluster": 0}
        for _ in range(seeds):
            signals, n = [], 0
            tpos = rng.expovariate(rate)
            while tpos < weeks:
                n += 1
                at = now - timedelta(weeks=weeks - tpos)
                signals.append(Signal(n, at, call=True, genuine=True))
                tpos += rng.expovariate(rate)
            for f in evaluate(signals, now, now - timedelta(weeks=weeks), t):
                if f.kind in hits:
                    hits[f.kind] += 1
        trend = (hits["trend_rising"] + hits["trend_falling"]) / seeds * 100
        print(
            f"  {rate:>4} a week: trend {trend:4.1f} % (rising {hits['trend_rising'] / seeds * 100:.1f}, "
            f"falling {hits['trend_falling'] / seeds * 100:.1f}), cluster {hits['cluster'] / seeds * 100:.2f} %"
        )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--activations", type=int, default=10_000)
    parser.add_argument("--others", type=int, default=300, help="other customers (5 alarms each)")
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--seeds", type=int, default=2000)
    parser.add_argument("--pg", default=PG, help="PostgreSQL server (a scratch database is made and dropped)")
    args = parser.parse_args()
    url = asyncio.run(setup(args.pg, args.activations, args.others))
    try:
        asyncio.run(
            web(url.replace("postgresql://", "postgresql+asyncpg://", 1), args.repeat, args.activations)
        )
    finally:
        asyncio.run(drop_database(args.pg, url))
    false_positives(args.seeds)
    detection(max(args.seeds // 4, 100))
    print("2 cores shared with other developers' work while this ran")


if __name__ == "__main__":
    main()

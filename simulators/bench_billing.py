"""Billing benchmark: a quarterly run for 10,000 and 100,000 connections — time and peak memory.

    python -m simulators.bench_billing [--counts 10000 100000] [--batch 1000]

Each count runs in a fresh child process on a scratch database built by the project's
migrations: N customers with one retained connection each (installed over the last two years,
so some get part-quarter first invoices), a price change mid-quarter for a tenth of them (mobile
tariff, split lines), then ``run_quarter`` as ``lifeline billing run`` calls it (committed
batches, gap-free numbers, one durable letters job per batch), then the same run again (must
create nothing). Peak memory is the child's maximum resident set size, so it includes Python,
SQLAlchemy and the driver. Target: under 60 s for 100,000 here, memory flat as the count grows.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime
from urllib.parse import urlsplit, urlunsplit

PG = "postgresql://postgres@127.0.0.1:5432/postgres"

SETUP = [
    "INSERT INTO customers (given_name, family_name, address_line1, postcode, case_ref)"
    " SELECT 'Bench', 'Person ' || g, g || ' Bench Street', 'CB1 1AA', 'BENCH-' || g FROM generate_series(1, $1::int) g",
    "INSERT INTO connections (customer_id, install_date, status, activated_on, review_outcome, review_recorded_at,"
    " tariff_code) SELECT id, date '2027-04-01' - (id % 730)::int, 'active', date '2027-04-01' - (id % 730)::int + 42,"
    " 'retained', now(), CASE WHEN id % 10 = 0 THEN 'mobile' ELSE 'standard' END FROM customers",
    "INSERT INTO billing_tariff_prices (tariff_id, effective_from, weekly_pence)"
    " SELECT id, date '2027-05-15', 550 FROM billing_tariffs WHERE code = 'mobile'",
    "UPDATE billing_tariff_prices SET effective_from = date '2020-01-01' WHERE effective_from = date '2026-04-01'",
    "ANALYZE",
]


async def one(pg_url: str, count: int, batch: int) -> dict:
    import asyncpg

    from arc import migrate
    from arc.kit.db import make_engine, make_sessionmaker
    from billing.periods import Quarter
    from billing.runs import run_quarter
    from billing.settings import BillingSettings

    name = f"lifeline_bench_billing_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(pg_url)
    await admin.execute(f'CREATE DATABASE "{name}"')
    await admin.close()
    url = urlunsplit(urlsplit(pg_url)._replace(path=f"/{name}"))
    sa_url = url.replace("postgresql://", "postgresql+asyncpg://", 1)
    try:
        await migrate.upgrade(sa_url)
        conn = await asyncpg.connect(url)
        for statement in SETUP:
            await (conn.execute(statement, count) if "$1" in statement else conn.execute(statement))
        await conn.close()
        engine = make_engine(sa_url, pool_size=2)
        maker = make_sessionmaker(engine)
        settings = BillingSettings(run_batch_size=batch)
        now = datetime(2027, 4, 1, 6, tzinfo=UTC)
        rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        started = time.perf_counter()
        summary = await run_quarter(maker, Quarter(2027, 2), now=now, settings=settings)
        seconds = time.perf_counter() - started
        started = time.perf_counter()
        again = await run_quarter(maker, Quarter(2027, 2), now=now, settings=settings)
        rerun = time.perf_counter() - started
        await engine.dispose()
        return {
            "connections": count,
            "invoices": summary.invoices,
            "invoiced": summary.invoiced_pence,
            "seconds": round(seconds, 1),
            "per_second": round(summary.invoices / seconds),
            "rerun_seconds": round(rerun, 1),
            "rerun_invoices": again.invoices,
            "rss_before_mb": round(rss_before / 1024),
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        }
    finally:
        admin = await asyncpg.connect(pg_url)
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--counts", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--pg", default=PG)
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(asyncio.run(one(args.pg, args.one, args.batch))))
        return 0
    print(
        f"{'connections':>12} {'invoices':>9} {'run s':>7} {'inv/s':>7} {'re-run s':>9} {'new':>4} {'peak RSS MB':>12}"
    )
    for count in args.counts:
        out = subprocess.run(  # noqa: S603 - this script, with our own arguments
            [
                sys.executable,
                "-m",
                "simulators.bench_billing",
                "--one",
                str(count),
                "--batch",
                str(args.batch),
                "--pg",
                args.pg,
            ],
            capture_output=True,
            text=True,
            check=True,
        )
        r = json.loads(out.stdout.strip().splitlines()[-1])
        print(
            f"{r['connections']:>12,} {r['invoices']:>9,} {r['seconds']:>7} {r['per_second']:>7,} "
            f"{r['rerun_seconds']:>9} {r['rerun_invoices']:>4} {r['peak_rss_mb']:>12}",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

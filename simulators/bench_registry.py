"""Registry at council scale: import 20,000 customers from a file, then time the search.

    python -m simulators.bench_registry                      # 20,000 customers
    python -m simulators.bench_registry --customers 2000     # a quick look

On a scratch database (``--pg``, migrated, dropped afterwards) the script writes a CSV of
``--customers`` rows — each with a unit, one or two peripherals and one or two responders —
and runs the same import as ``lifeline registry import`` (dry run, then for real, then again
to show it is idempotent). Then it times customer searches as the TEC page sends them: fuzzy
names with a letter missing, family names, postcodes with and without the space, phone digits,
unit cids and case references, through the service function and through
``GET /api/search/customers`` (authentication and the audit row included), and prints
p50 / p95 / max. A benchmark may build its scratch service in-process (DESIGN.md).
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import io
import random
import statistics
import tempfile
import time
from pathlib import Path

from simulators.benchkit import drop_database, scratch_database

GIVEN = ("Ada Alan Alice Arthur Barbara Bernard Betty Brian Carol Colin Dennis Doris Dorothy Edith Edna Eric Frank "
         "Gladys Gordon Harold Hazel Irene Ivy Jean Joan John Joyce Kenneth Margaret Mary Maureen Norman Olive Peggy "
         "Peter Phyllis Ray Rita Ronald Ruth Sheila Stanley Sylvia Thomas Vera Walter Wendy William").split()  # fmt: skip
FAMILY = ("Adams Allen Baker Bell Brown Butler Carter Clarke Cole Cook Cooper Davies Dixon Edwards Evans Fisher Fox "
          "Green Hall Harris Hill Holmes Hughes Jackson James Johnson Jones Kelly King Knight Lee Lewis Marsh Martin "
          "Mason Mills Moore Morgan Morris Murphy Parker Patel Penrose Phillips Price Reed Roberts Robinson Shaw "
          "Simpson Smith Stevens Taylor Thomas Turner Walker Ward Watson White Williams Wilson Wood Wright Young").split()  # fmt: skip
AREAS = (
    "CB1 CB2 CB3 CB4 CB5 CB21 CB22 CB23 CB24 CB25 PE13 PE14 PE15 PE16 PE19 PE26 PE27 PE28 PE29 SG8"
).split()
LETTERS = "ABDEFGHJLNPQRSTUWXYZ"
HEADER = [
    "case_ref", "given_name", "family_name", "date_of_birth", "address_line1", "town", "postcode",
    "phone_primary", "cid", "unit_model", "peripherals", "install_date", "status",
    "responder1_name", "responder1_phone", "responder1_holds_key", "responder2_name", "responder2_phone",
]  # fmt: skip


def make_rows(n: int, seed: int = 15) -> list[dict]:
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        family = rng.choice(FAMILY)
        postcode = f"{rng.choice(AREAS)} {rng.randint(1, 9)}{rng.choice(LETTERS)}{rng.choice(LETTERS)}"
        peripherals = "P1:0003:wrist" + (";S1:0023:hall ceiling" if i % 3 == 0 else "")
        row = {
            "case_ref": f"MIG-{i + 1:06d}",
            "given_name": rng.choice(GIVEN),
            "family_name": family,
            "date_of_birth": f"19{rng.randint(25, 55)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
            "address_line1": f"{rng.randint(1, 199)} {rng.choice(FAMILY)} Road",
            "town": "Cambridge",
            "postcode": postcode,
            "phone_primary": f"01{rng.randint(200, 999)} {rng.randint(100000, 999999)}",
            "cid": str(7_700_000 + i),
            "unit_model": "Hub 4G",
            "peripherals": peripherals,
            "install_date": f"202{rng.randint(2, 5)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
            "status": "active",
            "responder1_name": f"{rng.choice(GIVEN)} {family}",
            "responder1_phone": f"07700 9{rng.randint(10000, 99999)}",
            "responder1_holds_key": "yes",
            "responder2_name": f"{rng.choice(GIVEN)} {rng.choice(FAMILY)}" if i % 2 else "",
            "responder2_phone": f"07700 8{rng.randint(10000, 99999)}" if i % 2 else "",
        }
        rows.append(row)
    return rows


def to_csv(rows: list[dict]) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=HEADER)
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode()


def typo(word: str, rng: random.Random) -> str:
    at = rng.randrange(1, len(word))
    return word[:at] + word[at + 1 :]


def queries(rows: list[dict], count: int, seed: int = 43) -> list[tuple[str, str, str]]:
    """(kind, query, case_ref that must be among the hits)"""
    rng = random.Random(seed)
    out = []
    kinds = ["fuzzy name", "family name", "postcode", "postcode no space", "phone", "cid", "case ref"]
    for i in range(count):
        row = rng.choice(rows)
        kind = kinds[i % len(kinds)]
        q = {
            "fuzzy name": f"{row['given_name']} {typo(row['family_name'], rng)}",
            "family name": row["family_name"],
            "postcode": row["postcode"],
            "postcode no space": row["postcode"].replace(" ", "").lower(),
            "phone": row["phone_primary"].replace(" ", ""),
            "cid": row["cid"],
            "case ref": row["case_ref"].lower(),
        }[kind]
        out.append((kind, q, row["case_ref"]))
    return out


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


async def run(args: argparse.Namespace) -> None:
    import httpx

    from arc.app import create_app
    from arc.auth.service import issue_session
    from arc.kit.clock import Clock
    from arc.kit.crypto import DataCipher
    from arc.kit.db import make_engine, make_sessionmaker, session_scope
    from arc.kit.settings import Settings
    from arc.registry.importer import import_customers
    from arc.registry.referral import Actor
    from arc.registry.search import search_customers, trigram_search_available
    from tests.factories import create_user

    url = await scratch_database(args.pg)
    db_url = url.replace("postgresql://", "postgresql+asyncpg://", 1)
    settings = Settings(
        env="test", database_url=db_url, mqtt_url="mqtt://unused", data_dir=Path(tempfile.mkdtemp())
    )
    cipher = DataCipher.from_settings(settings)
    engine = make_engine(db_url)
    maker = make_sessionmaker(engine)
    try:
        rows = make_rows(args.customers)
        content = to_csv(rows)
        print(f"file: {len(rows):,} customers, {len(content) / 1e6:.1f} MB CSV")
        for label, dry in (("dry run", True), ("import", False), ("again (idempotent)", False)):
            started = time.perf_counter()
            async with session_scope(maker) as session:
                report = await import_customers(
                    session, "bench.csv", content, cipher, Actor("bench"), dry_run=dry
                )
            took = time.perf_counter() - started
            print(
                f"{label:>20}: {took:7.1f} s  ({len(rows) / took:,.0f} rows/s)  created {report.created:,}, "
                f"already imported {report.already_imported:,}, problems {len(report.problems)}"
            )
        async with maker() as session:
            print(f"pg_trgm indexes: {await trigram_search_available(session)}")
            await session.execute(__import__("sqlalchemy").text("ANALYZE customers"))
        probes = queries(rows, args.queries)
        times: dict[str, list[float]] = {}
        misses: dict[str, int] = {}
        for kind, q, ref in probes:
            async with maker() as session:
                started = time.perf_counter()
                hits = await search_customers(session, q, 20)
                times.setdefault(kind, []).append((time.perf_counter() - started) * 1000)
            misses[kind] = misses.get(kind, 0) + (ref not in {h["case_ref"] for h in hits})
        every = [t for v in times.values() for t in v]
        print(
            f"\nsearch (service function), {len(probes)} queries at {len(rows):,} customers, 20 hits at most"
        )
        print(f"{'kind':>18}  p50 ms  p95 ms  max ms  wanted customer not among the hits")
        for kind, values in [*times.items(), ("all", every)]:
            missed = misses.get(kind, sum(misses.values()))
            print(
                f"{kind:>18}  {statistics.median(values):6.1f}  {pct(values, 95):6.1f}  {max(values):6.1f}"
                f"  {missed}/{len(values)}"
            )

        app = create_app(settings, clock=Clock(), components=[])
        async with app.router.lifespan_context(app), maker() as session:
            user = await create_user(session, role="tec")
            token, _ = await issue_session(session, user, "api", Clock().now())
            await session.commit()
            http_times = []
            async with httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app),
                base_url="http://bench",
                headers={"Authorization": f"Bearer {token}"},
            ) as http:
                for _, q, _ in probes:
                    started = time.perf_counter()
                    answer = await http.get("/api/search/customers", params={"q": q})
                    http_times.append((time.perf_counter() - started) * 1000)
                    assert answer.status_code == 200, answer.text
        print(
            f"\nGET /api/search/customers (auth + audit row + JSON): p50 {statistics.median(http_times):.1f} ms, "
            f"p95 {pct(http_times, 95):.1f} ms, max {max(http_times):.1f} ms"
        )
    finally:
        await engine.dispose()
        await drop_database(args.pg, url)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--pg",
        default="postgresql://postgres@127.0.0.1:5432/postgres",
        help="server for the scratch database",
    )
    parser.add_argument("--customers", type=int, default=20_000)
    parser.add_argument("--queries", type=int, default=350)
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()

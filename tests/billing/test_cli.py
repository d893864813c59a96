"""`lifeline billing ...` as finance runs it: a real process against the test database."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from datetime import date
from pathlib import Path

from openpyxl import load_workbook
from sqlalchemy import func, select

from arc.kit.clock import Clock
from billing.models import Document, Run, TariffPrice
from billing.periods import Quarter, london_date
from billing.reports import EXPORT_COLUMNS
from tests.billing.conftest import add_connection, documents

ROOT = Path(__file__).resolve().parents[2]
NEXT = Quarter.containing(london_date(Clock().now())).next()  # the latest quarter a run accepts


async def lifeline(database_url: str, *args: str, env: dict | None = None, wait: bool = True):
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "arc.cli",
        "billing",
        *args,
        cwd=ROOT,
        env={**os.environ, "LIFELINE_DATABASE_URL": database_url, "LIFELINE_ENV": "test", **(env or {})},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    if not wait:
        return proc
    out, err = await asyncio.wait_for(proc.communicate(), timeout=120)
    return proc.returncode, out.decode(), err.decode()


async def test_run_prints_a_summary_and_a_rerun_creates_nothing(maker, database_url):
    for _ in range(3):
        await add_connection(maker, date(2025, 1, 10))
    code, out, err = await lifeline(database_url, "run", "--quarter", NEXT.label, "--dry-run")
    assert code == 0, err
    assert "dry run" in out and "£195.00" in out and await documents(maker) == []
    code, out, _ = await lifeline(database_url, "run", "--quarter", NEXT.label)
    assert code == 0 and "£195.00" in out and len(await documents(maker)) == 3
    code, out, _ = await lifeline(database_url, "run", "--quarter", NEXT.label)
    assert code == 0 and len(await documents(maker)) == 3


async def test_a_run_killed_half_way_resumes_without_gap_or_duplicate(maker, database_url):
    for _ in range(20):
        await add_connection(maker, date(2025, 1, 10))
    slow = {"LIFELINE_BILLING_RUN_BATCH_SIZE": "4", "LIFELINE_BILLING_FAULT_PAUSE_BETWEEN_BATCHES_S": "0.5"}
    proc = await lifeline(database_url, "run", "--quarter", NEXT.label, env=slow, wait=False)
    async with asyncio.timeout(60):
        while len(await documents(maker)) < 8:  # noqa: ASYNC110 - polling another process via the database
            await asyncio.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    await proc.wait()
    half = await documents(maker)
    assert 8 <= len(half) < 20 and len(half) % 4 == 0  # whole batches only
    async with maker() as s:
        assert await s.scalar(select(Run.status)) == "running"
    code, out, err = await lifeline(database_url, "run", "--quarter", NEXT.label)
    assert code == 0, err
    assert "resumed" in out
    docs = await documents(maker)
    assert sorted(d.number for d in docs) == list(range(1, 21))
    assert len({d.connection_id for d in docs}) == 20


async def test_bad_input_is_a_clear_error_and_writes_nothing(maker, database_url, tmp_path):
    await add_connection(maker, date(2025, 1, 10))
    beyond = NEXT.next().label
    cases = [
        (("run", "--quarter", beyond), "beyond the next one"),
        (("run", "--quarter", "2027Q5"), "must look like 2027Q2"),
        (
            ("export", "--from", "2027-05-01", "--to", "2027-04-01", "--output", str(tmp_path / "x.csv")),
            "wrong way round",
        ),
        (("price", "--weekly", "5.50"), "--from"),
        (("price", "--weekly", "5.50", "--from", "2027-13-01"), "not a date"),
        (("price", "--weekly", "5.001", "--from", "2027-08-01"), "whole pence"),
        (("price", "--tariff", "gold", "--weekly", "6", "--from", "2027-08-01"), "no tariff 'gold'"),
    ]
    for args, message in cases:
        code, _, err = await lifeline(database_url, *args)
        assert code == 2, (args, err)
        assert message in err, (args, err)
    assert await documents(maker) == [] and not (tmp_path / "x.csv").exists()
    async with maker() as s:
        assert await s.scalar(select(func.count()).select_from(TariffPrice)) == 2  # the defaults only
        assert await s.scalar(select(func.count()).select_from(Run)) == 0


async def test_export_csv_and_xlsx_have_the_ledgers_columns(maker, database_url, tmp_path):
    await add_connection(maker, date(2025, 1, 10), case_ref="=HYPERLINK(1)")
    code, _, err = await lifeline(database_url, "run", "--quarter", NEXT.label)
    assert code == 0, err
    (doc,) = await documents(maker)
    day = doc.issue_date.isoformat()
    csv_file, xlsx_file = tmp_path / "ledger.csv", tmp_path / "ledger.xlsx"
    assert (await lifeline(database_url, "export", "--from", day, "--to", day, "--output", str(csv_file)))[
        0
    ] == 0
    lines = csv_file.read_text().splitlines()
    assert lines[0] == ",".join(EXPORT_COLUMNS)
    row = dict(zip(EXPORT_COLUMNS, lines[1].split(","), strict=True))
    assert row["document_type"] == "invoice" and row["number"] == "INV-000001"
    assert (
        row["net"] == "65.00"
        and row["gross"] == "65.00"
        and row["vat_code"] == "OS"
        and row["weeks"] == "13.00"
    )
    assert row["case_reference"].startswith("'=")  # never a formula in the ledger's spreadsheet
    assert row["nominal_code"] == "4100" and row["cost_centre"] == "TEC01"
    code, _, _ = await lifeline(
        database_url, "export", "--from", day, "--to", day, "--format", "xlsx", "--output", str(xlsx_file)
    )
    sheet = load_workbook(xlsx_file).active
    rows = list(sheet.iter_rows(values_only=True))
    assert list(rows[0]) == list(EXPORT_COLUMNS) and rows[1][1] == "INV-000001" and float(rows[1][9]) == 65.0


async def test_income_and_price_commands(maker, database_url):
    await add_connection(maker, date(2025, 1, 10))
    assert (await lifeline(database_url, "price", "--weekly", "5.50", "--from", "2030-01-01"))[0] == 0
    async with maker() as s:
        assert await s.scalar(select(func.max(TariffPrice.weekly_pence))) == 550
    assert (await lifeline(database_url, "run", "--quarter", NEXT.label))[0] == 0
    code, out, _ = await lifeline(database_url, "income", "--fy", str(NEXT.financial_year))
    assert code == 0 and NEXT.label in out and "£65.00" in out and "deferred" in out
    async with maker() as s:
        assert await s.scalar(select(func.count()).select_from(Document)) == 1

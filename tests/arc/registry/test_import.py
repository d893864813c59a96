"""Bringing existing customers over: dry run by row and column, all-or-nothing, idempotent on case_ref."""

from __future__ import annotations

import io

import pytest
from openpyxl import Workbook
from sqlalchemy import func, select

from arc.registry.models import Connection, Customer, Responder
from arc.registry.units import Peripheral

pytestmark = pytest.mark.asyncio

HEADER = (
    "case_ref,given_name,family_name,date_of_birth,address_line1,postcode,phone_primary,cid,peripherals,"
    "install_date,status,responder1_name,responder1_phone,responder1_holds_key"
)
GOOD = [
    "OLD-1,Mary,Jones,02/03/1941,1 Elm Row,CB1 1AA,01223 111111,6600001,P1:0003:wrist;S1:0023:hall,"
    "01/06/2025,active,Tom Jones,07700 900100,yes",
    "OLD-2,Peter,Smith,1936-07-08,2 Elm Row,CB1 1AB,,6600002,,2026-11-01,trial,,,",
]
BAD = "OLD-3,Ann,Lee,2090-01-01,3 Elm Row,NOT A PC,,6600001,,2026-11-01,active,Kim,,maybe"


def _csv(*rows: str) -> bytes:
    return ("\n".join([HEADER, *rows]) + "\n").encode()


async def _send(client, content: bytes, name="customers.csv", **params):
    return await client.post("/api/registry/import", params=params, files={"file": (name, content)})


async def _count(session, model) -> int:
    return await session.scalar(select(func.count()).select_from(model))


async def test_dry_run_reports_every_problem_by_row_and_column_and_writes_nothing(client_as, session):
    tec = await client_as("tec")
    report = (await _send(tec, _csv(*GOOD, BAD))).json()
    problems = {(p["row"], p["column"]) for p in report["problems"]}
    assert problems >= {
        (4, "date_of_birth"),
        (4, "postcode"),
        (4, "responder1_phone"),
        (4, "responder1_holds_key"),
    }
    assert (report["rows"], report["valid"], report["written"]) == (3, 2, False)
    assert await _count(session, Customer) == 0


async def test_a_bad_row_stops_the_import_unless_valid_rows_are_asked_for(client_as, session):
    tec = await client_as("tec")
    refused = (await _send(tec, _csv(*GOOD, BAD), dry_run=False)).json()
    assert refused["written"] is False and refused["problems"]
    assert await _count(session, Customer) == 0
    partial = (await _send(tec, _csv(*GOOD, BAD), dry_run=False, valid_only=True)).json()
    assert (partial["created"], partial["written"]) == (2, True)
    mary = await session.scalar(select(Customer).where(Customer.case_ref == "OLD-1"))
    conn = await session.scalar(select(Connection).where(Connection.customer_id == mary.id))
    assert (str(mary.date_of_birth), conn.status, str(conn.activated_on)) == (
        "1941-03-02",
        "active",
        "2025-07-13",
    )
    assert await _count(session, Peripheral) == 2 and await _count(session, Responder) == 1


async def test_importing_the_same_file_twice_imports_it_once(client_as, session):
    tec = await client_as("tec")
    first = (await _send(tec, _csv(*GOOD), dry_run=False)).json()
    second = (await _send(tec, _csv(*GOOD), dry_run=False)).json()
    assert (first["created"], second["created"], second["already_imported"]) == (2, 0, 2)
    assert await _count(session, Customer) == 2


async def test_wrong_columns_are_named(client_as):
    tec = await client_as("tec")
    report = (await _send(tec, b"case_ref,surname\nX,Y\n")).json()
    assert {(p["row"], p["column"], p["message"]) for p in report["problems"]} >= {
        (1, "surname", "unknown column"),
        (1, "family_name", "required column missing"),
    }


async def test_xlsx_files_import_like_csv(client_as, session):
    book = Workbook()
    sheet = book.active
    sheet.append(HEADER.split(","))
    for row in GOOD:
        sheet.append(row.split(","))
    buffer = io.BytesIO()
    book.save(buffer)
    tec = await client_as("tec")
    report = (await _send(tec, buffer.getvalue(), name="from-old-provider.xlsx", dry_run=False)).json()
    assert report["created"] == 2, report


async def test_not_a_spreadsheet_is_a_422_on_the_file(client_as):
    tec = await client_as("tec")
    answer = await _send(tec, b"\x00\x01", name="data.pdf")
    assert answer.status_code == 422 and answer.json()["field"] == "file"


async def test_lifeline_registry_import_command(database_url, db, session, tmp_path):
    import asyncio
    import os
    import sys

    path = tmp_path / "from-old-provider.csv"
    path.write_bytes(_csv(*GOOD, BAD))
    env = {**os.environ, "LIFELINE_DATABASE_URL": database_url, "LIFELINE_ENV": "test", "LIFELINE_MQTT_URL": "mqtt://unused"}

    async def run(*args: str) -> tuple[int, str]:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "arc.cli", "registry", "import", str(path), *args,
            env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
        )  # fmt: skip
        out, _ = await proc.communicate()
        return proc.returncode, out.decode()

    code, out = await run("--dry-run")
    assert code == 1 and '"column": "postcode"' in out
    code, out = await run()
    assert code == 1 and '"written": false' in out
    assert await _count(session, Customer) == 0
    code, out = await run("--valid-only")
    assert code == 0 and '"created": 2' in out
    assert await _count(session, Customer) == 2

"""Bring existing customers over from another provider: ``lifeline registry import FILE.csv|xlsx``
(and ``POST /api/registry/import`` from the import page).

One row per customer with their unit, peripherals and up to three responders. Every row is checked
first and every problem reported by row and column; nothing is written unless every row is valid
(or, when asked, only the valid rows are). A case reference already in the registry is skipped, so
running the same file twice imports it once. Rows go through the referral path (``stage`` / ``finish``
in arc/registry/referral.py), a batch per flush; a database refusal the checks did not foresee ends
the whole import (nothing is written).
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from datetime import date, datetime

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from arc.kit.crypto import DataCipher
from arc.kit.errors import Unprocessable
from arc.registry.journey_schemas import ReferralIn
from arc.registry.lifecycle import charging_starts_on
from arc.registry.models import Connection, Customer
from arc.registry.referral import Actor, finish, new_unit, refit, stage, unpair_all
from arc.registry.units import Unit

CUSTOMER_COLUMNS = (
    "case_ref", "given_name", "family_name", "preferred_name", "date_of_birth", "address_line1",
    "address_line2", "town", "postcode", "phone_primary", "phone_secondary", "gp_name", "gp_phone",
    "language", "communication_needs", "risk_notes", "medical_notes", "key_safe_info",
)  # fmt: skip
RESPONDER_FIELDS = {"name": "name", "phone": "phone_primary", "relationship": "relationship_to_customer",
                    "holds_key": "holds_key"}  # fmt: skip
MAX_RESPONDERS = 3
OTHER_COLUMNS = ("cid", "unit_model", "peripherals", "tariff_code", "install_date", "status", "activated_on")
COLUMNS = (
    CUSTOMER_COLUMNS
    + OTHER_COLUMNS
    + tuple(f"responder{n}_{k}" for n in range(1, MAX_RESPONDERS + 1) for k in RESPONDER_FIELDS)
)
REQUIRED = ("case_ref", "given_name", "family_name", "address_line1", "postcode", "install_date")
MAX_ROWS = 50_000
BATCH = 500  # rows staged per flush
YES = {"yes", "y", "true", "1"}
NO = {"no", "n", "false", "0", ""}


@dataclass
class Problem:
    row: int  # the spreadsheet's row number (1 = the header)
    column: str | None
    message: str


@dataclass
class ImportReport:
    rows: int = 0
    valid: int = 0
    already_imported: int = 0
    created: int = 0
    written: bool = False
    dry_run: bool = True
    problems: list[Problem] = field(default_factory=list)


@dataclass
class _Row:
    number: int
    data: ReferralIn | None
    status: str = "trial"
    activated_on: date | None = None


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def read_table(filename: str, content: bytes) -> tuple[list[str], list[list[str]]]:
    """Header and rows of a .csv (UTF-8) or .xlsx file, every cell as trimmed text."""
    name = filename.lower()
    if name.endswith(".xlsx"):
        from openpyxl import load_workbook

        try:
            sheet = load_workbook(io.BytesIO(content), read_only=True, data_only=True).worksheets[0]
        except Exception as exc:  # openpyxl raises many kinds for a file that is not a workbook
            raise Unprocessable(
                f"not a readable .xlsx workbook ({type(exc).__name__})", field="file"
            ) from None
        table = [[_cell(v) for v in row] for row in sheet.iter_rows(values_only=True)]
    elif name.endswith(".csv"):
        try:
            text = content.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise Unprocessable("the .csv file is not UTF-8 text", field="file") from None
        table = [[c.strip() for c in row] for row in csv.reader(io.StringIO(text))]
    else:
        raise Unprocessable("give a .csv or .xlsx file", field="file")
    table = [row for row in table if any(row)]
    if not table:
        raise Unprocessable("the file is empty", field="file")
    if len(table) - 1 > MAX_ROWS:
        raise Unprocessable(f"more than {MAX_ROWS} rows; split the file", field="file")
    return [h.strip().lower() for h in table[0]], table[1:]


def check_header(header: list[str]) -> list[Problem]:
    problems = [
        Problem(1, h or f"column {i + 1}", "unknown column") for i, h in enumerate(header) if h not in COLUMNS
    ]
    problems += [Problem(1, c, "required column missing") for c in REQUIRED if c not in header]
    problems += [Problem(1, h, "column appears twice") for i, h in enumerate(header) if h in header[:i]]
    return problems


def _column_of(loc: tuple) -> str | None:
    """Where a validation error points, as the file's column name."""
    if not loc:
        return None
    head = loc[0]
    if head == "customer" and len(loc) > 1:
        return str(loc[1])
    if head == "responders" and len(loc) > 2:
        short = {v: k for k, v in RESPONDER_FIELDS.items()}.get(str(loc[2]), str(loc[2]))
        return f"responder{int(loc[1]) + 1}_{short}"
    if head == "unit":
        return "unit_model" if len(loc) > 1 and loc[1] == "model" else "cid"
    return "peripherals" if head == "peripherals" else str(head)


def _flag(value: str, column: str, problems: list[Problem], number: int) -> bool:
    if value.lower() in YES:
        return True
    if value.lower() not in NO:
        problems.append(Problem(number, column, "write yes or no"))
    return False


def _peripherals(value: str, number: int, problems: list[Problem]) -> list[dict]:
    """``did:dty:location`` entries separated by ``;`` (location optional)."""
    out = []
    for item in filter(None, (part.strip() for part in value.split(";"))):
        parts = [p.strip() for p in item.split(":", 2)]
        if len(parts) < 2 or not parts[0] or not parts[1]:
            problems.append(
                Problem(number, "peripherals", f"{item!r}: write did:dty:location, e.g. P1:0003:wrist")
            )
            continue
        out.append(
            {"did": parts[0], "dty": parts[1], **({"location_text": parts[2]} if len(parts) > 2 else {})}
        )
    return out


DATE_COLUMNS = ("date_of_birth", "install_date", "activated_on")
_UK_DATE = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})$")


def _iso_dates(values: dict[str, str]) -> dict[str, str]:
    """Spreadsheets from UK systems write 05/01/2026: read it as 5 January 2026."""
    for column in DATE_COLUMNS:
        match = _UK_DATE.match(values.get(column) or "")
        if match:
            day, month, year = match.groups()
            values[column] = f"{year}-{int(month):02d}-{int(day):02d}"
    return values


def parse_row(values: dict[str, str], number: int, problems: list[Problem]) -> _Row:
    values = _iso_dates(values)
    customer = {c: values[c] for c in CUSTOMER_COLUMNS if values.get(c)}
    responders = []
    for n in range(1, MAX_RESPONDERS + 1):
        cells = {k: values.get(f"responder{n}_{k}", "") for k in RESPONDER_FIELDS}
        if not any(cells.values()):
            continue
        responder = {RESPONDER_FIELDS[k]: v for k, v in cells.items() if v and k != "holds_key"}
        responder["holds_key"] = _flag(cells["holds_key"], f"responder{n}_holds_key", problems, number)
        if not cells["phone"]:
            problems.append(Problem(number, f"responder{n}_phone", "a responder needs a phone number"))
        responders.append(responder)
    body: dict = {"customer": customer, "responders": responders, "install_date": values.get("install_date")}
    if values.get("cid"):
        body["unit"] = {
            "cid": values["cid"],
            **({"model": values["unit_model"]} if values.get("unit_model") else {}),
        }
    if values.get("peripherals"):
        body["peripherals"] = _peripherals(values["peripherals"], number, problems)
    if values.get("tariff_code"):
        body["tariff_code"] = values["tariff_code"]
    status = (values.get("status") or "trial").lower()
    if status not in ("trial", "active"):
        problems.append(Problem(number, "status", "write trial or active"))
    activated_on = None
    if values.get("activated_on"):
        try:
            activated_on = date.fromisoformat(values["activated_on"])
        except ValueError:
            problems.append(Problem(number, "activated_on", "not a date (YYYY-MM-DD)"))
    try:
        data = ReferralIn.model_validate(body)
    except ValidationError as exc:
        for err in exc.errors():
            problems.append(
                Problem(number, _column_of(tuple(err["loc"])), err["msg"].removeprefix("Value error, "))
            )
        return _Row(number, None)
    if status == "active" and activated_on is None:
        activated_on = charging_starts_on(data.install_date)
    return _Row(
        number, data, status if status == "active" else "trial", activated_on if status == "active" else None
    )


async def _existing(session: AsyncSession, column, values: list[str], *, live_cid: bool = False) -> set[str]:
    found: set[str] = set()
    for start in range(0, len(values), 5000):
        chunk = values[start : start + 5000]
        if live_cid:
            stmt = (
                select(Unit.cid)
                .join(Connection, Connection.unit_id == Unit.id)
                .where(Unit.cid.in_(chunk), Connection.status != "withdrawn")
            )
        else:
            stmt = select(column).where(column.in_(chunk))
        found.update(await session.scalars(stmt))
    return found


async def import_customers(
    session: AsyncSession,
    filename: str,
    content: bytes,
    cipher: DataCipher,
    actor: Actor,
    *,
    dry_run: bool = True,
    valid_only: bool = False,
) -> ImportReport:
    header, table = read_table(filename, content)
    report = ImportReport(rows=len(table), dry_run=dry_run)
    report.problems = check_header(header)
    if report.problems:
        return report
    rows: list[_Row] = []
    for offset, cells in enumerate(table):
        number = offset + 2
        if len(cells) > len(header) and any(cells[len(header) :]):
            report.problems.append(Problem(number, None, "more cells than the header has columns"))
        rows.append(parse_row(dict(zip(header, cells, strict=False)), number, report.problems))
    bad = {p.row for p in report.problems}
    done = await _existing(session, Customer.case_ref, [r.data.customer.case_ref for r in rows if r.data])
    busy = await _existing(
        session, None, [r.data.unit.cid for r in rows if r.data and r.data.unit], live_cid=True
    )
    seen_refs: dict[str, int] = {}
    seen_cids: dict[str, int] = {}
    todo = []
    for row in rows:
        if row.data is None:
            continue
        ref = row.data.customer.case_ref
        if ref in done:
            report.already_imported += 1
            continue
        cid = row.data.unit.cid if row.data.unit else None
        if ref in seen_refs:
            report.problems.append(Problem(row.number, "case_ref", f"also on row {seen_refs[ref]}"))
        elif cid and cid in seen_cids:
            report.problems.append(Problem(row.number, "cid", f"also on row {seen_cids[cid]}"))
        elif cid and cid in busy:
            report.problems.append(
                Problem(row.number, "cid", "this unit already serves another live connection")
            )
        elif row.number not in bad:
            todo.append(row)
        seen_refs.setdefault(ref, row.number)
        if cid:
            seen_cids.setdefault(cid, row.number)
    report.problems.sort(key=lambda p: (p.row, p.column or ""))
    report.valid = len(todo) + report.already_imported
    if dry_run or (report.problems and not valid_only):
        return report
    await write_rows(session, todo, cipher, actor)
    report.created = len(todo)
    report.written = report.created > 0
    return report


async def write_rows(session: AsyncSession, rows: list[_Row], cipher: DataCipher, actor: Actor) -> None:
    """Stage the checked rows a batch at a time through the referral path; one flush a batch."""
    cids = [row.data.unit.cid for row in rows if row.data.unit]
    stock: dict[str, Unit] = {}
    for start in range(0, len(cids), 5000):
        found = await session.scalars(select(Unit).where(Unit.cid.in_(cids[start : start + 5000])))
        stock.update({unit.cid: unit for unit in found})
    await unpair_all(session, [unit.id for unit in stock.values()])
    for start in range(0, len(rows), BATCH):
        staged = []
        for row in rows[start : start + BATCH]:
            spec = row.data.unit
            unit = None
            if spec is not None:
                unit = refit(stock[spec.cid], spec) if spec.cid in stock else new_unit(spec)
            staged.append(stage(session, row.data, unit, status=row.status, activated_on=row.activated_on))
        await session.flush()
        for item in staged:
            await finish(session, item, cipher, actor, "import")
        await session.flush()

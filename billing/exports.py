"""The finance export as CSV or XLSX (openpyxl, write-only so memory stays flat)."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path

# billing.reports (the queries, the models) is imported where the rows are written: ``FORMATS`` is
# read by ``lifeline billing export``'s parser, built by every ``lifeline`` command (the ingest too)
FORMATS = ("csv", "xlsx")
NUMERIC = {"weeks", "net", "vat", "gross"}


async def write_export(rows: AsyncIterator[dict], fmt: str, target: Path | io.BytesIO) -> int:
    """Write ``rows`` to ``target``; returns how many documents were written."""
    if fmt not in FORMATS:
        raise ValueError(f"format {fmt!r} must be one of {', '.join(FORMATS)}")
    return await (_csv(rows, target) if fmt == "csv" else _xlsx(rows, target))


async def _csv(rows, target) -> int:
    from billing.reports import EXPORT_COLUMNS

    text = io.StringIO(newline="")
    writer = csv.DictWriter(text, fieldnames=EXPORT_COLUMNS, lineterminator="\r\n")
    writer.writeheader()
    count = 0
    async for row in rows:
        writer.writerow(row)
        count += 1
    data = text.getvalue().encode("utf-8")
    if isinstance(target, Path):
        target.write_bytes(data)
    else:
        target.write(data)
    return count


async def _xlsx(rows, target) -> int:
    from openpyxl import Workbook

    from billing.reports import EXPORT_COLUMNS

    book = Workbook(write_only=True)
    sheet = book.create_sheet("documents")
    sheet.append(list(EXPORT_COLUMNS))
    count = 0
    async for row in rows:
        sheet.append([Decimal(row[c]) if c in NUMERIC else row[c] for c in EXPORT_COLUMNS])
        count += 1
    book.save(target)
    return count

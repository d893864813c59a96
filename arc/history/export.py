"""Call-history exports: CSV (UTF-8 with a BOM, so spreadsheet programs read the accents) and
XLSX (openpyxl). Times in Europe/London."""

from __future__ import annotations

import csv
import io
from datetime import datetime
from zoneinfo import ZoneInfo

from openpyxl import Workbook

COLUMNS = [
    ("alarm", "id"),
    ("raised (London)", "raised_at"),
    ("type", "type"),
    ("device", "device_type"),
    ("device id", "did"),
    ("location", "location_text"),
    ("unit reported", "reported"),
    ("activations", "activations"),
    ("outcome", "outcome"),
    ("operator", "operator"),
    ("responders", "responders"),
    ("answer (s)", "answer_s"),
    ("arrival (s)", "arrival_s"),
]
MAX_ROWS = 100_000


def _cells(row: dict, zone: ZoneInfo) -> list:
    out = []
    for _, key in COLUMNS:
        value = row.get(key)
        if key == "raised_at":
            value = datetime.fromisoformat(value).astimezone(zone).strftime("%Y-%m-%d %H:%M:%S")
        elif key == "responders":
            value = "; ".join(f"{r['who']} ({r['kind']}, {r['status']})" for r in value or [])
        out.append(value)
    return out


def _safe(value):
    """A text cell a spreadsheet would run as a formula is written as text."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@"):
        return "'" + value
    return value


def to_csv(rows: list[dict], zone: ZoneInfo) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([label for label, _ in COLUMNS])
    for row in rows:
        writer.writerow([_safe(v) for v in _cells(row, zone)])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def to_xlsx(rows: list[dict], zone: ZoneInfo) -> bytes:
    book = Workbook(write_only=True)
    sheet = book.create_sheet("calls")
    sheet.append([label for label, _ in COLUMNS])
    for row in rows:
        sheet.append([_safe(v) for v in _cells(row, zone)])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


CONTENT_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def render(rows: list[dict], fmt: str, zone: ZoneInfo) -> bytes:
    return to_csv(rows, zone) if fmt == "csv" else to_xlsx(rows, zone)

"""What finance reads: income by service period per financial year, aged debt, export rows."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import case, func, literal, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from arc.registry.models import Connection, Customer
from billing.models import Account, Document, DocumentLine, Tariff
from billing.money import pounds, weeks_shown
from billing.periods import Quarter, days_inclusive, financial_year_quarters
from billing.settings import BillingSettings


@dataclass
class IncomeRow:
    label: str
    invoiced: int = 0  # charges for service in the period
    waived: int = 0  # hardship waivers (lines and credit notes): income forgone
    credited: int = 0  # credit notes for withdrawals

    @property
    def net(self) -> int:
        return self.invoiced - self.waived - self.credited

    def add(self, other: IncomeRow) -> None:
        self.invoiced += other.invoiced
        self.waived += other.waived
        self.credited += other.credited


@dataclass
class IncomeReport:
    fy: int
    quarters: list[IncomeRow]
    total: IncomeRow
    deferred_out: int = 0  # invoiced this year for service after 31 March (next year's income)
    brought_in: int = 0  # invoiced before 1 April for service in this year
    invoiced_in_year: int = 0  # net of documents issued in the year, whatever their service period
    notes: list[str] = field(default_factory=list)


async def income(session: AsyncSession, fy: int) -> IncomeReport:
    """Income of financial year ``fy`` (1 April fy - 31 March fy+1) by service period."""
    quarters = financial_year_quarters(fy)
    start, end = quarters[0].start, quarters[-1].end
    qstart = func.date_trunc("quarter", DocumentLine.period_start).cast(DocumentLine.period_start.type)
    bucket = case(
        (DocumentLine.kind == "waiver", literal("waived")),
        ((Document.doc_type == "credit_note") & (Document.reason == "waiver"), literal("waived")),
        (Document.doc_type == "credit_note", literal("credited")),
        else_=literal("invoiced"),
    )
    sign = case((DocumentLine.kind == "waiver", -1), else_=1)
    rows = await session.execute(
        select(qstart, bucket, func.sum(sign * DocumentLine.net_pence))
        .join(Document, Document.id == DocumentLine.document_id)
        .where(DocumentLine.period_start >= start, DocumentLine.period_start <= end)
        .group_by(qstart, bucket)
    )
    by_start = {q.start: IncomeRow(q.label) for q in quarters}
    for q_start, kind, amount in rows:
        setattr(by_start[q_start], kind, getattr(by_start[q_start], kind) + int(amount))
    total = IncomeRow(f"FY {fy}/{(fy + 1) % 100:02d}")
    for row in by_start.values():
        total.add(row)
    signed = case((Document.doc_type == "credit_note", -DocumentLine.net_pence), else_=DocumentLine.net_pence)
    deferred = await session.scalar(
        select(func.coalesce(func.sum(signed), 0))
        .join(Document, Document.id == DocumentLine.document_id)
        .where(Document.issue_date.between(start, end), DocumentLine.period_start > end)
    )
    brought = await session.scalar(
        select(func.coalesce(func.sum(signed), 0))
        .join(Document, Document.id == DocumentLine.document_id)
        .where(Document.issue_date < start, DocumentLine.period_start.between(start, end))
    )
    issued = await session.scalar(
        select(func.coalesce(func.sum(signed), 0))
        .join(Document, Document.id == DocumentLine.document_id)
        .where(Document.issue_date.between(start, end))
    )
    return IncomeReport(fy, list(by_start.values()), total, int(deferred), int(brought), int(issued))


AGE_BUCKETS = ("0-30", "31-60", "61-90", "90+")


def age_bucket(days: int) -> str:
    return "0-30" if days <= 30 else "31-60" if days <= 60 else "61-90" if days <= 90 else "90+"


def outstanding_query():
    """Invoices not paid, with what is still owed after their credit notes."""
    credit = aliased(Document)
    credited = (
        select(func.coalesce(func.sum(credit.gross_pence), 0))
        .where(credit.original_id == Document.id)
        .scalar_subquery()
    )
    owed = (Document.gross_pence - credited).label("owed")
    return (
        select(Document, owed)
        .where(Document.doc_type == "invoice", Document.payment_state.in_(("unpaid", "failed")))
        .where(Document.gross_pence - credited > 0)
    )


async def aged_debt(session: AsyncSession, today: date) -> dict:
    """Outstanding invoices by age since issue: {"buckets": {...}, "total": pence, "count": n}."""
    sub = outstanding_query().subquery()
    age = today - sub.c.issue_date
    bucket = case((age <= 30, "0-30"), (age <= 60, "31-60"), (age <= 90, "61-90"), else_="90+")
    rows = await session.execute(select(bucket, func.count(), func.sum(sub.c.owed)).group_by(bucket))
    buckets = {b: {"count": 0, "owed_pence": 0} for b in AGE_BUCKETS}
    for name, count, owed in rows:
        buckets[name] = {"count": int(count), "owed_pence": int(owed)}
    return {
        "buckets": buckets,
        "count": sum(b["count"] for b in buckets.values()),
        "owed_pence": sum(b["owed_pence"] for b in buckets.values()),
    }


EXPORT_COLUMNS = (
    "document_type",
    "number",
    "original_number",
    "customer_account",
    "case_reference",
    "payer",
    "period_start",
    "period_end",
    "weeks",
    "net",
    "vat_code",
    "vat",
    "gross",
    "nominal_code",
    "cost_centre",
    "issue_date",
    "due_date",
)
VAT_CODES = {"outside_scope": "OS", "exempt": "E", "zero_rated": "Z", "standard": "S"}


def _cell(text: str | None) -> str:
    """Text a spreadsheet will not run as a formula."""
    text = text or ""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def check_range(start: date | None, end: date | None) -> None:
    if start is None or end is None:
        raise ValueError("an export needs both --from and --to dates")
    if end < start:
        raise ValueError(f"the export range is the wrong way round: --from {start} is after --to {end}")


def document_weeks(quarter: str, start: date, end: date):
    q = Quarter.parse(quarter)
    return weeks_shown(days_inclusive(start, end), full_quarter=(start, end) == (q.start, q.end))


async def export_rows(
    session: AsyncSession, start: date, end: date, settings: BillingSettings, batch: int = 2000
) -> AsyncIterator[dict]:
    """One dict per document issued from ``start`` to ``end`` inclusive, in the export's columns.
    Credit notes carry positive amounts; ``document_type`` says they are credits."""
    check_range(start, end)
    original = aliased(Document)
    stmt = (
        select(Document, Account.account_number, Customer.case_ref, original.number, Tariff.nominal_code)
        .join(Account, Account.id == Document.account_id)
        .join(Customer, Customer.id == Document.customer_id)
        .join(Connection, Connection.id == Document.connection_id)
        .outerjoin(Tariff, Tariff.code == Connection.tariff_code)
        .outerjoin(original, original.id == Document.original_id)
        .where(Document.issue_date.between(start, end))
        .order_by(Document.issue_date, Document.doc_type, Document.number)
        .execution_options(yield_per=batch)
    )
    result = await session.stream(stmt)
    async for doc, account, case_ref, original_number, nominal in result:
        yield {
            "document_type": doc.doc_type,
            "number": doc.display_number,
            "original_number": f"INV-{original_number:06d}" if original_number else "",
            "customer_account": account,
            "case_reference": _cell(case_ref),
            "payer": _cell(doc.payer_name),
            "period_start": doc.period_start.isoformat(),
            "period_end": doc.period_end.isoformat(),
            "weeks": str(document_weeks(doc.quarter, doc.period_start, doc.period_end)),
            "net": pounds(doc.net_pence),
            "vat_code": VAT_CODES[doc.vat_treatment],
            "vat": pounds(doc.vat_pence),
            "gross": pounds(doc.gross_pence),
            "nominal_code": nominal or settings.nominal_code,
            "cost_centre": settings.cost_centre,
            "issue_date": doc.issue_date.isoformat(),
            "due_date": doc.due_date.isoformat(),
        }

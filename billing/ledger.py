"""The one issuer: every invoice and credit note is written here, with its number.

A document is a row only once it is issued. Its number is taken in the same transaction by an
upsert on ``billing_sequences`` (which row-locks the counter until commit), so numbers are
sequential and gap-free per document type: a rolled-back or killed transaction gives its
numbers back. Totals are the sums of the lines; each line was rounded once (billing/money.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from sqlalchemy import insert, text
from sqlalchemy.ext.asyncio import AsyncSession

from arc.kit.jobs import TaskSpec, enqueue
from billing.models import Document, DocumentLine

VAT_CODES = {"outside_scope": "OS", "exempt": "E", "zero_rated": "Z", "standard": "S"}
VAT_STATEMENTS = {
    "outside_scope": "This charge is outside the scope of VAT.",
    "exempt": "This charge is exempt from VAT.",
    "zero_rated": "This charge is zero-rated for VAT: the customer's eligibility declaration is on file.",
    "standard": "VAT is charged at the standard rate.",
}


@dataclass
class DraftLine:
    kind: str  # charge | waiver | credit
    description: str
    period_start: date
    period_end: date
    days: int
    weeks: Decimal
    weekly_pence: int
    net_pence: int
    vat_rate_bp: int
    vat_pence: int
    source_line_id: int | None = None


@dataclass
class DraftDocument:
    doc_type: str
    reason: str
    account_id: int
    customer_id: int
    connection_id: int
    quarter: str
    issue_date: date
    due_date: date
    vat_treatment: str
    payer_name: str
    payer_address: str
    payment_method: str
    lines: list[DraftLine] = field(default_factory=list)
    original_id: int | None = None
    waiver_id: int | None = None
    stripe_state: str = "off"

    @property
    def net_pence(self) -> int:
        return sum(line.net_pence for line in self.lines)

    @property
    def vat_pence(self) -> int:
        return sum(line.vat_pence for line in self.lines)

    @property
    def gross_pence(self) -> int:
        return self.net_pence + self.vat_pence

    @property
    def period_start(self) -> date:
        return min(line.period_start for line in self.lines)

    @property
    def period_end(self) -> date:
        return max(line.period_end for line in self.lines)


def display_number(doc_type: str, number: int) -> str:
    return f"{'INV' if doc_type == 'invoice' else 'CN'}-{number:06d}"


async def take_numbers(session: AsyncSession, doc_type: str, count: int) -> range:
    """Reserve ``count`` consecutive numbers of ``doc_type`` in this transaction."""
    last = await session.scalar(
        text(
            "INSERT INTO billing_sequences (doc_type, last_number) VALUES (:t, :n) "
            "ON CONFLICT (doc_type) DO UPDATE SET last_number = billing_sequences.last_number + :n "
            "RETURNING last_number"
        ),
        {"t": doc_type, "n": count},
    )
    return range(last - count + 1, last + 1)


async def issue(
    session: AsyncSession,
    drafts: list[DraftDocument],
    run_id: int | None = None,
    send: TaskSpec | None = None,
) -> list[int]:
    """Issue ``drafts`` (numbers in list order per type); returns the new document ids. Flushes only.
    ``send``: the durable task (billing/tasks.py ``SEND_DOCUMENTS``) that prints and sends them."""
    drafts = [d for d in drafts if d.lines]
    if not drafts:
        return []
    numbers: dict[str, iter] = {}
    for doc_type in ("invoice", "credit_note"):
        wanted = sum(1 for d in drafts if d.doc_type == doc_type)
        if wanted:
            numbers[doc_type] = iter(await take_numbers(session, doc_type, wanted))
    rows = [
        {
            "doc_type": d.doc_type,
            "number": next(numbers[d.doc_type]),
            "reason": d.reason,
            "account_id": d.account_id,
            "customer_id": d.customer_id,
            "connection_id": d.connection_id,
            "original_id": d.original_id,
            "waiver_id": d.waiver_id,
            "run_id": run_id,
            "quarter": d.quarter,
            "period_start": d.period_start,
            "period_end": d.period_end,
            "issue_date": d.issue_date,
            "due_date": d.due_date,
            "net_pence": d.net_pence,
            "vat_pence": d.vat_pence,
            "gross_pence": d.gross_pence,
            "vat_treatment": d.vat_treatment,
            "payer_name": d.payer_name,
            "payer_address": d.payer_address,
            "payment_method": d.payment_method,
            "payment_state": "unpaid" if d.doc_type == "invoice" and d.gross_pence > 0 else "none",
            "letter_state": "pending",
            "stripe_state": d.stripe_state,
        }
        for d in drafts
    ]
    result = await session.execute(
        insert(Document).returning(Document.id, sort_by_parameter_order=True), rows
    )
    ids = [row[0] for row in result]
    line_rows = [
        {"document_id": doc_id, "position": pos, **vars(line)}
        for doc_id, d in zip(ids, drafts, strict=True)
        for pos, line in enumerate(d.lines, start=1)
    ]
    await session.execute(insert(DocumentLine), line_rows)
    if send is not None:  # letters and Stripe, durably: the job commits with the documents
        await enqueue(session, send, document_ids=ids)
    return ids

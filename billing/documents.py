"""Reading the ledger: search, one document with its lines, and the letter of a document."""

from __future__ import annotations

import re
from datetime import date

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from arc.kit.errors import NotFound
from arc.registry.models import Customer
from billing.ledger import VAT_STATEMENTS, display_number
from billing.letters import Letter, LetterLine
from billing.models import Account, Document, DocumentLine
from billing.reports import document_weeks
from billing.schemas import DocumentOut, DocumentSummary, LineOut

_NUMBER = re.compile(r"^(INV|CN)?-?0*(\d{1,12})$", re.IGNORECASE)


def _base():
    original = aliased(Document)
    credit = aliased(Document)
    credited = (
        select(func.coalesce(func.sum(credit.gross_pence), 0))
        .where(credit.original_id == Document.id)
        .scalar_subquery()
    )
    stmt = (
        select(
            Document,
            Customer.given_name,
            Customer.family_name,
            Customer.case_ref,
            Account.account_number,
            original.number.label("original_number"),
            credited.label("credited"),
        )
        .join(Customer, Customer.id == Document.customer_id)
        .join(Account, Account.id == Document.account_id)
        .outerjoin(original, original.id == Document.original_id)
    )
    return stmt


def _summary(row) -> dict:
    doc = row[0]
    owed = 0
    if doc.doc_type == "invoice" and doc.payment_state in ("unpaid", "failed"):
        owed = max(0, doc.gross_pence - int(row.credited))
    return dict(
        id=doc.id,
        doc_type=doc.doc_type,
        number=doc.display_number,
        original_number=display_number("invoice", row.original_number) if row.original_number else None,
        reason=doc.reason,
        customer_id=doc.customer_id,
        connection_id=doc.connection_id,
        customer_name=f"{row.given_name} {row.family_name}",
        case_reference=row.case_ref,
        account_number=row.account_number,
        payer_name=doc.payer_name,
        quarter=doc.quarter,
        period_start=doc.period_start,
        period_end=doc.period_end,
        weeks=document_weeks(doc.quarter, doc.period_start, doc.period_end),
        issue_date=doc.issue_date,
        due_date=doc.due_date,
        net_pence=doc.net_pence,
        vat_pence=doc.vat_pence,
        gross_pence=doc.gross_pence,
        vat_treatment=doc.vat_treatment,
        payment_state=doc.payment_state,
        owed_pence=owed,
    )


async def search_documents(
    session: AsyncSession,
    *,
    q: str | None,
    doc_type: str | None,
    payment_state: str | None,
    quarter: str | None,
    issued_from: date | None,
    issued_to: date | None,
    limit: int,
    offset: int,
) -> tuple[list[DocumentSummary], int]:
    stmt = _base()
    if q:
        text = q.strip()
        match = _NUMBER.match(text.replace(" ", ""))
        like = f"%{text}%"
        conds = [
            Customer.family_name.ilike(like),
            Customer.case_ref.ilike(like),
            Document.payer_name.ilike(like),
            Account.account_number.ilike(like),
        ]
        if match:
            kind = {"INV": "invoice", "CN": "credit_note"}.get((match.group(1) or "").upper())
            number = int(match.group(2))
            conds.append(
                (Document.number == number) & (Document.doc_type == kind)
                if kind
                else Document.number == number
            )
        stmt = stmt.where(or_(*conds))
    if doc_type:
        stmt = stmt.where(Document.doc_type == doc_type)
    if payment_state:
        stmt = stmt.where(Document.payment_state == payment_state)
    if quarter:
        stmt = stmt.where(Document.quarter == quarter)
    if issued_from:
        stmt = stmt.where(Document.issue_date >= issued_from)
    if issued_to:
        stmt = stmt.where(Document.issue_date <= issued_to)
    total = await session.scalar(select(func.count()).select_from(stmt.subquery()))
    rows = await session.execute(
        stmt.order_by(Document.issue_date.desc(), Document.doc_type, Document.number.desc())
        .limit(limit)
        .offset(offset)
    )
    return [DocumentSummary(**_summary(r)) for r in rows], int(total or 0)


async def get_document(session: AsyncSession, document_id: int) -> tuple[DocumentOut, Document]:
    row = (await session.execute(_base().where(Document.id == document_id))).first()
    if row is None:
        raise NotFound("no such document")
    doc = row[0]
    lines = (
        await session.scalars(
            select(DocumentLine).where(DocumentLine.document_id == doc.id).order_by(DocumentLine.position)
        )
    ).all()
    credits = (
        await session.scalars(
            select(Document.number).where(Document.original_id == doc.id).order_by(Document.number)
        )
    ).all()
    out = DocumentOut(
        **_summary(row),
        payer_address=doc.payer_address,
        payment_method=doc.payment_method,
        vat_statement=VAT_STATEMENTS[doc.vat_treatment],
        letter_state=doc.letter_state,
        stripe_state=doc.stripe_state,
        lines=[LineOut.model_validate(li) for li in lines],
        credit_notes=[display_number("credit_note", n) for n in credits],
    )
    return out, doc


async def letter_of(session: AsyncSession, document_id: int) -> tuple[Letter, bool]:
    """The letter of a document, and whether its account asked for large print."""
    out, doc = await get_document(session, document_id)
    account = await session.get(Account, doc.account_id)
    letter = Letter(
        doc_type=doc.doc_type,
        number=doc.number,
        original_number=int(out.original_number.split("-")[1]) if out.original_number else None,
        reason=doc.reason,
        payer_name=doc.payer_name,
        payer_address=doc.payer_address,
        customer_name=out.customer_name,
        account_number=out.account_number,
        period_start=doc.period_start,
        period_end=doc.period_end,
        weeks=str(out.weeks),
        issue_date=doc.issue_date,
        due_date=doc.due_date,
        net_pence=doc.net_pence,
        vat_pence=doc.vat_pence,
        gross_pence=doc.gross_pence,
        vat_treatment=doc.vat_treatment,
        payment_method=doc.payment_method,
        mandate_reference=account.mandate_reference if account else None,
        lines=[LetterLine(li.description, li.net_pence) for li in out.lines],
    )
    return letter, bool(account and account.large_print)

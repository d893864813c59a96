"""The billing API for finance (``/api/billing``) and the signed Stripe webhook.

Mounted by the composition layer: ``app.include_router(billing.api.router, prefix="/api")``.
"""

from __future__ import annotations

import io
from datetime import date
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from sqlalchemy import select

from arc.audit.service import record
from arc.auth.deps import require_roles
from arc.auth.models import User
from arc.kit.db import Session
from arc.kit.errors import NotFound, Unprocessable
from arc.registry.models import Customer
from billing import schemas
from billing.accounts import accounts_for
from billing.documents import get_document, letter_of, search_documents
from billing.exports import write_export
from billing.letters import render_letter
from billing.models import Account, Run, Tariff, TariffPrice, Waiver
from billing.periods import london_date
from billing.reports import aged_debt, check_range, export_rows, income
from billing.settings import BillingSettings, get_billing_settings
from billing.stripe_sync import router as stripe_router
from billing.tariffs import set_price
from billing.waivers import decide_waiver, request_waiver

router = APIRouter(prefix="/billing", tags=["billing"])
router.include_router(stripe_router)
Finance = Annotated[User, Depends(require_roles("finance"))]
Requester = Annotated[User, Depends(require_roles("finance", "tec", "supervisor"))]
Approver = Annotated[User, Depends(require_roles("finance", "supervisor", "admin"))]
PriceSetter = Annotated[User, Depends(require_roles("finance", "admin"))]
DocType = Literal["invoice", "credit_note"]
PaymentState = Literal["unpaid", "paid", "failed", "uncollectible", "refunded", "none"]
PDF = {200: {"content": {"application/pdf": {}}, "description": "the letter as PDF"}}


def billing_settings(request: Request) -> BillingSettings:
    return getattr(request.app.state, "billing_settings", None) or get_billing_settings()


def _today(request: Request) -> date:
    return london_date(request.app.state.clock.now())


@router.get("/documents", response_model=schemas.DocumentPage)
async def list_documents(
    session: Session,
    user: Finance,
    q: Annotated[str | None, Query(max_length=100, pattern=r"^[^\x00]*$")] = None,
    doc_type: DocType | None = None,
    payment_state: PaymentState | None = None,
    quarter: Annotated[str | None, Query(pattern=r"^\d{4}Q[1-4]$")] = None,
    issued_from: date | None = None,
    issued_to: date | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=10**9)] = 0,
):
    if issued_from and issued_to and issued_to < issued_from:
        raise Unprocessable("issued_to is before issued_from", field="issued_to")
    items, total = await search_documents(
        session,
        q=q,
        doc_type=doc_type,
        payment_state=payment_state,
        quarter=quarter,
        issued_from=issued_from,
        issued_to=issued_to,
        limit=limit,
        offset=offset,
    )
    return schemas.DocumentPage(items=items, total=total, limit=limit, offset=offset)


@router.get("/documents/{document_id}", response_model=schemas.DocumentOut)
async def show_document(request: Request, session: Session, user: Finance, document_id: int):
    out, doc = await get_document(session, _id(document_id))
    await record(
        session,
        actor=user,
        action="view",
        object_type="billing_document",
        object_id=doc.id,
        customer_id=doc.customer_id,
        request=request,
    )
    return out


@router.get("/documents/{document_id}/pdf", response_class=Response, responses=PDF)
async def document_pdf(
    request: Request, session: Session, user: Finance, document_id: int, large_print: bool | None = None
):
    letter, account_large = await letter_of(session, _id(document_id))
    pdf = render_letter(
        letter, billing_settings(request), large_print=account_large if large_print is None else large_print
    )
    name = f"{'INV' if letter.doc_type == 'invoice' else 'CN'}-{letter.number:06d}.pdf"
    return Response(
        pdf, media_type="application/pdf", headers={"Content-Disposition": f'inline; filename="{name}"'}
    )


def _id(value: int) -> int:
    if not 1 <= value <= 2**63 - 1:
        raise NotFound("no such document")
    return value


@router.get("/waivers", response_model=list[schemas.WaiverOut])
async def list_waivers(
    session: Session, user: Requester, status: Literal["requested", "approved", "rejected"] | None = None
):
    stmt = (
        select(Waiver, Customer.given_name, Customer.family_name)
        .join(Customer, Customer.id == Waiver.customer_id)
        .order_by(Waiver.requested_at.desc(), Waiver.id.desc())
        .limit(500)
    )
    if status:
        stmt = stmt.where(Waiver.status == status)
    out = []
    for waiver, given, family in await session.execute(stmt):
        item = schemas.WaiverOut.model_validate(waiver)
        item.customer_name = f"{given} {family}"
        out.append(item)
    return out


@router.post("/waivers", response_model=schemas.WaiverOut, status_code=201)
async def create_waiver(request: Request, session: Session, user: Requester, body: schemas.WaiverIn):
    waiver = await request_waiver(
        session,
        user,
        body.connection_id,
        body.start_date,
        body.end_date,
        body.reason,
        request.app.state.clock.now(),
    )
    await record(
        session,
        actor=user,
        action="create",
        object_type="billing_waiver",
        object_id=waiver.id,
        customer_id=waiver.customer_id,
        request=request,
    )
    return schemas.WaiverOut.model_validate(waiver)


@router.post("/waivers/{waiver_id}/decision", response_model=schemas.WaiverOut)
async def decide(
    request: Request, session: Session, user: Approver, waiver_id: int, body: schemas.WaiverDecision
):
    if not 1 <= waiver_id <= 2**63 - 1:
        raise NotFound("no such waiver")
    waiver, credits = await decide_waiver(
        session,
        user,
        waiver_id,
        body.approve,
        request.app.state.clock.now(),
        _today(request),
        billing_settings(request),
    )
    await record(
        session,
        actor=user,
        action="update",
        object_type="billing_waiver",
        object_id=waiver.id,
        customer_id=waiver.customer_id,
        request=request,
        detail={"decision": waiver.status},
    )
    out = schemas.WaiverOut.model_validate(waiver)
    out.credit_notes = [f"{len(credits)} credit note(s)"] if credits else []
    return out


@router.get("/aged-debt", response_model=schemas.AgedDebtOut)
async def get_aged_debt(request: Request, session: Session, user: Finance):
    today = _today(request)
    return schemas.AgedDebtOut(as_of=today, **await aged_debt(session, today))


@router.get("/runs", response_model=list[schemas.RunOut])
async def list_runs(session: Session, user: Finance):
    rows = (
        await session.scalars(select(Run).order_by(Run.started_at.desc(), Run.id.desc()).limit(100))
    ).all()
    return [schemas.RunOut.model_validate(r) for r in rows]


@router.get("/income", response_model=schemas.IncomeOut)
async def get_income(session: Session, user: Finance, fy: Annotated[int, Query(ge=2000, le=2200)]):
    report = await income(session, fy)

    def row(r):
        return schemas.IncomeRowOut(
            label=r.label, invoiced=r.invoiced, credited=r.credited, waived=r.waived, net=r.net
        )

    return schemas.IncomeOut(
        fy=fy,
        quarters=[row(r) for r in report.quarters],
        total=row(report.total),
        brought_in=report.brought_in,
        deferred_out=report.deferred_out,
        invoiced_in_year=report.invoiced_in_year,
    )


EXPORT_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


@router.get(
    "/export",
    response_class=Response,
    responses={
        200: {"content": {t: {} for t in EXPORT_TYPES.values()}, "description": "one row per document"}
    },
)
async def export(
    request: Request,
    session: Session,
    user: Finance,
    start: Annotated[date, Query(alias="from")],
    end: Annotated[date, Query(alias="to")],
    format: schemas.Format = "csv",
):
    try:
        check_range(start, end)
    except ValueError as exc:
        raise Unprocessable(str(exc), field="to") from None
    buffer = io.BytesIO()
    await write_export(export_rows(session, start, end, billing_settings(request)), format, buffer)
    name = f"lifeline-billing-{start}-{end}.{format}"
    return Response(
        buffer.getvalue(),
        media_type=EXPORT_TYPES[format],
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@router.get("/tariffs", response_model=list[schemas.TariffOut])
async def list_tariffs(session: Session, user: PriceSetter):
    tariffs = (await session.scalars(select(Tariff).order_by(Tariff.code))).all()
    prices = (await session.execute(select(TariffPrice).order_by(TariffPrice.effective_from))).scalars().all()
    return [
        schemas.TariffOut(
            code=t.code,
            name=t.name,
            vat_treatment=t.vat_treatment,
            prices=[
                schemas.PriceOut(tariff=t.code, effective_from=p.effective_from, weekly_pence=p.weekly_pence)
                for p in prices
                if p.tariff_id == t.id
            ],
        )
        for t in tariffs
    ]


@router.post("/tariffs/{code}/prices", response_model=schemas.PriceOut, status_code=201)
async def add_price(
    session: Session,
    user: PriceSetter,
    code: Annotated[str, Path(pattern=r"^[a-z0-9_-]{1,32}$")],
    body: schemas.PriceIn,
):
    price = await set_price(session, code, body.weekly_pence, body.effective_from)
    return schemas.PriceOut(tariff=code, effective_from=price.effective_from, weekly_pence=price.weekly_pence)


@router.get("/vat/missing-declarations", response_model=list[schemas.MissingDeclaration])
async def missing_declarations(session: Session, user: Finance):
    """Accounts set to zero-rated VAT without the customer's eligibility declaration (charged at
    the standard rate until it is recorded)."""
    rows = await session.execute(
        select(Account.customer_id, Account.account_number, Customer.given_name, Customer.family_name)
        .join(Customer, Customer.id == Account.customer_id)
        .where(Account.vat_treatment == "zero_rated", Account.vat_declaration_on.is_(None))
        .order_by(Account.account_number)
    )
    return [
        schemas.MissingDeclaration(customer_id=cid, account_number=num, customer_name=f"{g} {f}")
        for cid, num, g, f in rows
    ]


@router.get("/accounts/{customer_id}", response_model=schemas.AccountOut)
async def get_account(session: Session, user: Finance, customer_id: Annotated[int, Path(ge=1, le=2**63 - 1)]):
    if await session.get(Customer, customer_id) is None:
        raise NotFound("no such customer", field="customer_id")
    accounts = await accounts_for(session, [customer_id])
    return schemas.AccountOut.model_validate(accounts[customer_id])


@router.put("/accounts/{customer_id}", response_model=schemas.AccountOut)
async def put_account(
    request: Request,
    session: Session,
    user: Finance,
    customer_id: Annotated[int, Path(ge=1, le=2**63 - 1)],
    body: schemas.AccountIn,
):
    """Who pays and how, and the customer's VAT position. Documents already issued keep the payer
    they were issued to; the next ones use this."""
    if await session.get(Customer, customer_id) is None:
        raise NotFound("no such customer", field="customer_id")
    if body.payment_method == "direct_debit" and not body.mandate_reference:
        raise Unprocessable("a Direct Debit needs its mandate_reference", field="mandate_reference")
    if body.payer_name and not body.payer_address:
        raise Unprocessable("a payer other than the customer needs an address", field="payer_address")
    account = (await accounts_for(session, [customer_id]))[customer_id]
    for field, value in body.model_dump().items():
        setattr(account, field, value)
    await session.flush()
    await record(
        session,
        actor=user,
        action="update",
        object_type="billing_account",
        object_id=account.id,
        customer_id=customer_id,
        request=request,
    )
    return schemas.AccountOut.model_validate(account)

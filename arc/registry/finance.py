"""The finance team's narrow view of a customer: who to bill and where. No health, risk or call data."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, ConfigDict
from sqlalchemy import or_, select

from arc.audit.service import record, record_many_views
from arc.auth.deps import require_roles
from arc.auth.models import User
from arc.kit.db import Session
from arc.registry.crud import get_or_404, paginate
from arc.registry.models import Customer
from arc.registry.schemas import Page

router = APIRouter(prefix="/finance", tags=["finance"])
FinanceUser = Annotated[User, Depends(require_roles("finance"))]


class BillingCustomerOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    case_ref: str | None
    given_name: str
    family_name: str
    address_line1: str
    address_line2: str | None
    town: str | None
    postcode: str


@router.get("/customers", response_model=Page[BillingCustomerOut])
async def list_billing_customers(
    request: Request,
    session: Session,
    user: FinanceUser,
    q: Annotated[str | None, Query(max_length=100)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
):
    stmt = select(Customer).order_by(Customer.family_name, Customer.given_name, Customer.id)
    if q:
        like = f"%{q.strip()}%"
        stmt = stmt.where(or_(Customer.case_ref.ilike(like), Customer.family_name.ilike(like)))
    rows, total = await paginate(session, stmt, limit, offset)
    await record_many_views(
        session,
        actor=user,
        object_type="customer_billing",
        customer_ids=[c.id for c in rows],
        request=request,
        detail={"via": "list"},
    )
    return Page(
        items=[BillingCustomerOut.model_validate(c) for c in rows], total=total, limit=limit, offset=offset
    )


@router.get("/customers/{customer_id}", response_model=BillingCustomerOut)
async def get_billing_customer(request: Request, session: Session, user: FinanceUser, customer_id: int):
    customer = await get_or_404(session, Customer, customer_id, what="customer")
    await record(
        session,
        actor=user,
        action="view",
        object_type="customer_billing",
        object_id=customer_id,
        customer_id=customer_id,
        request=request,
    )
    return BillingCustomerOut.model_validate(customer)

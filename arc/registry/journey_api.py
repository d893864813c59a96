"""Routes of the customer journey (TEC / business support): referral, review, changes, withdrawal, search.

``tec`` changes everything; operators and supervisors read. Admins (who see no customer record,
docs/security.md) may work the connection side: the 6-week review, withdrawal, unit swaps and
returns, peripherals and the install test call.
"""

from __future__ import annotations

import time
from typing import Annotated

from fastapi import APIRouter, Depends, File, Query, Request, UploadFile, status

from arc.audit.service import record, record_customer
from arc.auth.deps import require_roles
from arc.auth.models import User
from arc.kit.db import Session
from arc.registry import changes, lifecycle, overview, schemas
from arc.registry import journey_schemas as js
from arc.registry.importer import ImportReport, import_customers
from arc.registry.referral import Actor, create_referral
from arc.registry.search import search_customers

router = APIRouter(tags=["customer journey"])
EDITORS = ("tec", "admin")  # the connection side
Editor = Annotated[User, Depends(require_roles(*EDITORS))]
CustomerEditor = Annotated[User, Depends(require_roles("tec"))]
CustomerViewer = Annotated[User, Depends(require_roles("operator", "supervisor", "tec"))]
Reader = Annotated[User, Depends(require_roles("operator", "supervisor", "tec", "admin"))]


def _today(request: Request):
    return request.app.state.clock.now().astimezone(request.app.state.settings.zone).date()


def _actor(user: User, request: Request) -> Actor:
    return Actor(user, request)


@router.post("/referrals", status_code=status.HTTP_201_CREATED, response_model=js.ReferralOut)
async def create(request: Request, session: Session, user: CustomerEditor, body: js.ReferralIn):
    """Customer, responders, key safe, unit, peripherals and connection in one transaction."""
    conn = await create_referral(session, body, request.app.state.data_cipher, _actor(user, request))
    return js.ReferralOut(customer_id=conn.customer_id, connection_id=conn.id, unit_id=conn.unit_id)


@router.get("/search/customers", response_model=js.SearchOut)
async def search(
    request: Request,
    session: Session,
    user: CustomerViewer,
    q: Annotated[str, Query(min_length=1, max_length=100)],
    limit: Annotated[int, Query(ge=1, le=50)] = 20,
):
    started = time.perf_counter()
    hits = await search_customers(session, q, limit)
    took = (time.perf_counter() - started) * 1000
    await record(
        session,
        actor=user,
        action="search",
        object_type="customer",
        request=request,
        detail={"customer_ids": [h["id"] for h in hits]},
    )
    return js.SearchOut(items=[js.SearchHit(**h) for h in hits], took_ms=round(took, 1))


@router.get("/customers/{customer_id}/overview", response_model=js.CustomerView)
async def customer_page(request: Request, session: Session, user: CustomerViewer, customer_id: int):
    view = await overview.customer_view(session, customer_id, _today(request), may_edit=user.has_role("tec"))
    await record_customer(session, request, user, "view", customer_id, via="overview")
    return view


@router.get("/reviews", response_model=list[js.ReviewItem])
async def review_list(
    request: Request,
    session: Session,
    user: Reader,
    within_days: Annotated[
        int, Query(ge=0, le=42, description="include reviews due this many days ahead")
    ] = 14,
):
    return await overview.reviews_due(session, _today(request), within_days)


@router.post("/connections/{connection_id}/review", response_model=schemas.ConnectionOut)
async def review(request: Request, session: Session, user: Editor, connection_id: int, body: js.ReviewIn):
    now = request.app.state.clock.now()
    return await lifecycle.record_review(
        session, connection_id, body, _today(request), now, _actor(user, request)
    )


@router.post("/connections/{connection_id}/withdraw", response_model=schemas.ConnectionOut)
async def withdraw(request: Request, session: Session, user: Editor, connection_id: int, body: js.WithdrawIn):
    return await lifecycle.withdraw(session, connection_id, body, _today(request), _actor(user, request))


@router.post("/connections/{connection_id}/unit-return", response_model=schemas.ConnectionOut)
async def unit_return(
    request: Request, session: Session, user: Editor, connection_id: int, body: js.UnitReturnIn
):
    return await lifecycle.record_unit_return(session, connection_id, body, _actor(user, request))


@router.post("/connections/{connection_id}/swap-unit", response_model=schemas.ConnectionOut)
async def swap_unit(request: Request, session: Session, user: Editor, connection_id: int, body: js.SwapIn):
    return await lifecycle.swap_unit(session, connection_id, body, _today(request), _actor(user, request))


@router.post(
    "/connections/{connection_id}/peripherals",
    status_code=status.HTTP_201_CREATED,
    response_model=schemas.PeripheralOut,
)
async def add_peripheral(
    request: Request, session: Session, user: Editor, connection_id: int, body: schemas.PeripheralCreate
):
    return await changes.add_peripheral(session, connection_id, body, _actor(user, request))


@router.patch(
    "/connections/{connection_id}/peripherals/{peripheral_id}", response_model=schemas.PeripheralOut
)
async def move_peripheral(
    request: Request,
    session: Session,
    user: Editor,
    connection_id: int,
    peripheral_id: int,
    body: js.PeripheralMove,
):
    return await changes.move_peripheral(session, connection_id, peripheral_id, body, _actor(user, request))


@router.delete("/connections/{connection_id}/peripherals/{peripheral_id}", status_code=204)
async def remove_peripheral(
    request: Request, session: Session, user: Editor, connection_id: int, peripheral_id: int
):
    await changes.remove_peripheral(session, connection_id, peripheral_id, _actor(user, request))


@router.put("/customers/{customer_id}/responders/order", response_model=list[schemas.ResponderOut])
async def reorder(
    request: Request, session: Session, user: CustomerEditor, customer_id: int, body: js.ResponderOrder
):
    return await changes.reorder_responders(session, customer_id, body, _actor(user, request))


@router.delete("/responders/{responder_id}", status_code=204)
async def remove_responder(request: Request, session: Session, user: CustomerEditor, responder_id: int):
    await changes.remove_responder(session, responder_id, _actor(user, request))


@router.post("/customers/{customer_id}/absences", status_code=201, response_model=js.AbsenceOut)
async def add_absence(
    request: Request, session: Session, user: CustomerEditor, customer_id: int, body: js.AbsenceIn
):
    return await changes.add_absence(session, customer_id, body, _actor(user, request))


@router.patch("/absences/{absence_id}", response_model=js.AbsenceOut)
async def end_absence(
    request: Request, session: Session, user: CustomerEditor, absence_id: int, body: js.AbsenceEnd
):
    return await changes.end_absence(session, absence_id, body, _actor(user, request))


@router.post("/customers/{customer_id}/move", response_model=schemas.CustomerOut)
async def move_house(
    request: Request, session: Session, user: CustomerEditor, customer_id: int, body: js.MoveIn
):
    return await changes.move_house(session, customer_id, body, _actor(user, request))


@router.post("/registry/import", response_model=ImportReport)
async def import_file(
    request: Request,
    session: Session,
    user: CustomerEditor,
    file: Annotated[UploadFile, File(description=".csv or .xlsx, one customer a row")],
    dry_run: bool = True,
    valid_only: Annotated[bool, Query(description="write the valid rows even if some are not")] = False,
):
    """Check (``dry_run``, the default) or import customers from another provider's file."""
    content = await file.read()
    return await import_customers(
        session,
        file.filename or "",
        content,
        request.app.state.data_cipher,
        _actor(user, request),
        dry_run=dry_run,
        valid_only=valid_only,
    )

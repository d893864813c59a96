"""Routes: call histories per customer, unit and peripheral, and their exports. Read through the
read-only session; every view and export is audited through the request session."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from arc.audit.service import record
from arc.auth.deps import require_roles
from arc.auth.models import User
from arc.history import export
from arc.history.calls import Scope, all_calls, call_history
from arc.history.db import ReadSession
from arc.history.params import CallFilters, Page, PageSize, require_customer, require_unit
from arc.history.schemas import CallHistory, file_answer
from arc.kit.db import Session

HistoryReader = Annotated[User, Depends(require_roles("tec", "supervisor"))]
Did = Annotated[str | None, Query(min_length=1, max_length=64, pattern=r"^[\x21-\x7e]+$")]
Format = Annotated[Literal["csv", "xlsx"], Query(description="csv or xlsx")]

router = APIRouter(prefix="/history", tags=["history"])
EXPORT = file_answer(*export.CONTENT_TYPES.values(), description="one row per call, newest first")


async def _audit(session, request, user, object_type, object_id, customer_id, **detail) -> None:
    await record(
        session,
        actor=user,
        action="view",
        object_type=object_type,
        object_id=object_id,
        customer_id=customer_id,
        request=request,
        detail=detail or None,
    )


@router.get(
    "/customers/{customer_id}/calls",
    summary="A customer's call history (filters, paging)",
    response_model=CallHistory,
)
async def customer_calls(
    request: Request,
    session: Session,
    read: ReadSession,
    user: HistoryReader,
    customer_id: int,
    f: CallFilters,
    page: Page = 1,
    page_size: PageSize = 50,
) -> dict:
    await require_customer(read, customer_id)
    out = await call_history(
        read,
        Scope(customer_id=customer_id),
        f,
        request.app.state.settings.zone,
        page=page,
        page_size=page_size,
    )
    await _audit(session, request, user, "history", customer_id, customer_id, page=page)
    return out


@router.get(
    "/customers/{customer_id}/calls/export",
    response_class=Response,
    responses=EXPORT,
    summary="CSV or XLSX export",
)
async def customer_calls_export(
    request: Request,
    session: Session,
    read: ReadSession,
    user: HistoryReader,
    customer_id: int,
    f: CallFilters,
    format: Format = "csv",
) -> Response:
    await require_customer(read, customer_id)
    zone = request.app.state.settings.zone
    rows = await all_calls(read, Scope(customer_id=customer_id), f, zone, limit=export.MAX_ROWS)
    await _audit(session, request, user, "history", customer_id, customer_id, export=format, rows=len(rows))
    return _file(export.render(rows, format, zone), format, f"customer-{customer_id}-calls")


def _file(body: bytes, fmt: str, stem: str) -> Response:
    return Response(
        body,
        media_type=export.CONTENT_TYPES[fmt],
        headers={"Content-Disposition": f'attachment; filename="{stem}.{fmt}"'},
    )


@router.get(
    "/units/{unit_id}/calls",
    summary="A unit's (or one peripheral's, with did) call history",
    response_model=CallHistory,
)
async def unit_calls(
    request: Request,
    session: Session,
    read: ReadSession,
    user: HistoryReader,
    unit_id: int,
    f: CallFilters,
    did: Did = None,
    page: Page = 1,
    page_size: PageSize = 50,
) -> dict:
    await require_unit(read, unit_id)
    scope = Scope(unit_id=unit_id, did=did)
    out = await call_history(read, scope, f, request.app.state.settings.zone, page=page, page_size=page_size)
    await _audit(session, request, user, "unit_history", unit_id, None, did=did, page=page)
    return out


@router.get(
    "/units/{unit_id}/calls/export", response_class=Response, responses=EXPORT, summary="CSV or XLSX export"
)
async def unit_calls_export(
    request: Request,
    session: Session,
    read: ReadSession,
    user: HistoryReader,
    unit_id: int,
    f: CallFilters,
    format: Format = "csv",
    did: Did = None,
) -> Response:
    await require_unit(read, unit_id)
    zone = request.app.state.settings.zone
    rows = await all_calls(read, Scope(unit_id=unit_id, did=did), f, zone, limit=export.MAX_ROWS)
    await _audit(
        session, request, user, "unit_history", unit_id, None, did=did, export=format, rows=len(rows)
    )
    return _file(export.render(rows, format, zone), format, f"unit-{unit_id}-calls")

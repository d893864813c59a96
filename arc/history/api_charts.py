"""Routes: a person's chart (SVG), the service overview (JSON and SVG)."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from arc.audit.service import record
from arc.auth.deps import require_roles
from arc.auth.models import User
from arc.history.api_calls import HistoryReader
from arc.history.charts import customer_svg, monday, overview, overview_svg, weekly
from arc.history.db import ReadSession
from arc.history.params import FromDate, ToDate, dates, require_customer
from arc.history.schemas import Overview, file_answer
from arc.kit.db import Session
from arc.kit.errors import Unprocessable

router = APIRouter(prefix="/history", tags=["charts"])
Manager = Annotated[User, Depends(require_roles("tec", "supervisor", "admin"))]
SVG = "image/svg+xml"
MAX_DAYS = 366


def _svg(body: str) -> Response:
    return Response(body, media_type=SVG, headers={"Cache-Control": "no-store"})


@router.get(
    "/customers/{customer_id}/chart.svg",
    response_class=Response,
    responses=file_answer(SVG, description="the chart, with a text description for screen readers"),
    summary="Activations per week (SVG)",
)
async def customer_chart(
    request: Request,
    session: Session,
    read: ReadSession,
    user: HistoryReader,
    customer_id: int,
    weeks: Annotated[int, Query(ge=4, le=260, description="weeks shown, ending this week")] = 26,
) -> Response:
    customer = await require_customer(read, customer_id)
    zone = request.app.state.settings.zone
    today = request.app.state.clock.now().astimezone(zone).date()
    first = monday(today) - timedelta(weeks=weeks - 1)
    data = await weekly(read, customer_id, first, weeks, zone)
    await record(
        session,
        actor=user,
        action="view",
        object_type="history_chart",
        object_id=customer_id,
        customer_id=customer_id,
        request=request,
        detail={"weeks": weeks},
    )
    return _svg(customer_svg(data, f"{customer.given_name} {customer.family_name}", zone))


def _period(request: Request, first, last):
    first, last = dates(first, last)
    zone = request.app.state.settings.zone
    today = request.app.state.clock.now().astimezone(zone).date()
    last = last or today
    first = first or last - timedelta(days=29)
    if last < first:
        raise Unprocessable("to must not be before from", field="to")
    if (last - first).days >= MAX_DAYS:
        raise Unprocessable(f"at most {MAX_DAYS} days at a time", field="to")
    return first, last, zone


@router.get(
    "/overview",
    summary="Service overview: calls, false-alarm rate, answer times, flagged people per day",
    response_model=Overview,
)
async def service_overview(
    request: Request, read: ReadSession, user: Manager, from_: FromDate = None, to: ToDate = None
) -> dict:
    first, last, zone = _period(request, from_, to)
    return await overview(read, first, last, zone)


@router.get(
    "/overview.svg",
    response_class=Response,
    responses=file_answer(SVG, description="four charts in one SVG document"),
    summary="The service overview as pictures (SVG)",
)
async def service_overview_svg(
    request: Request, read: ReadSession, user: Manager, from_: FromDate = None, to: ToDate = None
) -> Response:
    first, last, zone = _period(request, from_, to)
    return _svg(overview_svg(await overview(read, first, last, zone)))

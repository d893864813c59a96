"""The read side's routes: ``GET /api/kpis`` here (call-handling KPIs per day, shift or operator),
and the call histories, flags, charts and reports included from their modules."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request

from arc.auth.deps import require_roles
from arc.history import api_calls, api_charts, api_flags, api_reports
from arc.history.db import ReadSession
from arc.history.queries import kpis
from arc.history.schemas import Kpis
from arc.kit.errors import Unprocessable

router = APIRouter(tags=["kpi"])
MAX_DAYS = 366
EARLIEST, LATEST = date(1970, 1, 1), date(9999, 12, 30)  # beyond these the period's instants overflow


@router.get(
    "/kpis",
    dependencies=[Depends(require_roles("operator", "supervisor", "admin"))],
    summary="Time to answer, % answered within 60 s / 180 s, time to arrival",
    response_model=Kpis,
)
async def get_kpis(
    request: Request,
    session: ReadSession,
    from_: Annotated[
        date | None, Query(alias="from", description="first London date (default today)")
    ] = None,
    to: Annotated[date | None, Query(description="last London date, inclusive (default = from)")] = None,
    group: Literal["day", "shift", "operator"] = "day",
) -> dict:
    zone = request.app.state.settings.zone
    today = request.app.state.clock.now().astimezone(zone).date()
    first = from_ or today
    last = to or first
    for name, day in (("from", first), ("to", last)):
        if not EARLIEST <= day <= LATEST:
            raise Unprocessable(f"{name} must be between {EARLIEST} and {LATEST}", field=name)
    if last < first:
        raise Unprocessable("to must not be before from", field="to")
    if (last - first).days >= MAX_DAYS:
        raise Unprocessable(f"at most {MAX_DAYS} days at a time", field="to")
    return await kpis(session, first, last, group, zone)


router.include_router(api_calls.router)
router.include_router(api_flags.router)
router.include_router(api_charts.router)
router.include_router(api_reports.router)

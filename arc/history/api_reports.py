"""Routes: the monthly service report (JSON, PDF) and people supported per financial year
(JSON, CSV). Aggregates only; each request is audited."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from arc.audit.service import record
from arc.history.api_charts import Manager
from arc.history.db import ReadSession
from arc.history.pdf import monthly_pdf
from arc.history.reports import monthly_report, people_csv, people_supported
from arc.history.schemas import MonthlyReport, PeopleSupported, file_answer
from arc.kit.db import Session
from arc.kit.errors import Unprocessable

router = APIRouter(prefix="/history/reports", tags=["reports"])
Month = Annotated[str, Query(pattern=r"^[0-9]{4}-[0-9]{2}$", description="YYYY-MM")]
Year = Annotated[int, Query(ge=2000, le=2100, description="financial year starting 1 April")]


def _month(value: str) -> tuple[int, int]:
    year, month = int(value[:4]), int(value[5:])
    if not 1 <= month <= 12 or not 2000 <= year <= 2100:
        raise Unprocessable("month must be YYYY-MM between 2000-01 and 2100-12", field="month")
    return year, month


async def _audit(session, request, user, what: str, period: str) -> None:
    await record(
        session,
        actor=user,
        action="view",
        object_type="report",
        object_id=what,
        request=request,
        detail={"period": period},
    )


@router.get("/monthly", summary="Monthly service report", response_model=MonthlyReport)
async def monthly(request: Request, session: Session, read: ReadSession, user: Manager, month: Month) -> dict:
    year, m = _month(month)
    await _audit(session, request, user, "monthly", month)
    return await monthly_report(read, year, m, request.app.state.settings.zone)


@router.get(
    "/monthly.pdf",
    response_class=Response,
    responses=file_answer("application/pdf", description="the report as a PDF"),
    summary="Monthly service report (PDF)",
)
async def monthly_as_pdf(
    request: Request, session: Session, read: ReadSession, user: Manager, month: Month
) -> Response:
    year, m = _month(month)
    report = await monthly_report(read, year, m, request.app.state.settings.zone)
    await _audit(session, request, user, "monthly", month)
    return Response(
        monthly_pdf(report),
        media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="service-report-{month}.pdf"'},
    )


@router.get(
    "/people-supported",
    summary="People supported in a financial year, by age band",
    response_model=PeopleSupported,
)
async def people(request: Request, session: Session, read: ReadSession, user: Manager, year: Year) -> dict:
    await _audit(session, request, user, "people_supported", str(year))
    return await people_supported(read, year)


@router.get(
    "/people-supported.csv",
    response_class=Response,
    responses=file_answer("text/csv; charset=utf-8", description="one row per age band, then all"),
    summary="People supported (CSV)",
)
async def people_as_csv(
    request: Request, session: Session, read: ReadSession, user: Manager, year: Year
) -> Response:
    data = await people_supported(read, year)
    await _audit(session, request, user, "people_supported", str(year))
    return Response(
        people_csv(data),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="people-supported-{data["year"]}.csv"'},
    )

"""The read side's answers, typed (``response_model``). Field order is the JSON order.

Built from the views' dicts (``calls.py``, ``flags.py``, ``charts.py``, ``reports.py``,
``queries.py``); times and dates are the ISO strings those views make. Keys named ``from`` are
declared by alias. File answers (SVG, PDF, CSV, XLSX) are declared by media type: ``FILES``.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from arc.kit.openapi import Out

Instant = str  # ISO 8601 with offset, e.g. 2026-12-01T08:00:00+00:00
Day = str  # ISO date, e.g. 2026-12-01


def _body(media_type: str) -> dict[str, str]:
    text = media_type.startswith(("text/", "image/svg"))
    return {"type": "string"} if text else {"type": "string", "format": "binary"}


def file_answer(*media_types: str, description: str) -> dict[int | str, dict[str, Any]]:
    """``responses=`` for a route answering a file: its media types, each a text or binary body."""
    return {200: {"description": description, "content": {t: {"schema": _body(t)} for t in media_types}}}


# --- KPIs (``queries.kpis``) ---


class KpiFigures(Out):
    alarms: int
    answered: int
    answered_60s_pct: float | None
    answered_180s_pct: float | None
    median_answer_s: float | None
    p90_answer_s: float | None
    median_arrival_s: float | None


class _Keyed(Out):
    key: str = Field(description="the day, the shift or the operator")


class KpiRow(KpiFigures, _Keyed):  # key first, then the figures
    pass


class Kpis(Out):
    rows: list[KpiRow]
    totals: KpiFigures
    targets: dict[str, float] = Field(description="the targets, % answered within 60 s / 180 s")


# --- call histories (``calls.call_history``) ---


class CallResponder(Out):
    kind: str
    who: str | None
    status: str


class CallRow(Out):
    id: int
    raised_at: Instant
    category: str
    kind: str
    type: str = Field(description="genuine, false, technical or other")
    dty: str | None
    device_type: str | None
    did: str | None
    location_text: str | None
    reported: str | None = Field(description="what the unit reported (status code, named)")
    title: str | None
    activations: int
    status: str
    outcome_code: str | None
    outcome: str | None
    operator: str | None
    responders: list[CallResponder]
    answer_s: float | None
    arrival_s: float | None


class CallHistory(Out):
    total: int
    page: int
    page_size: int
    rows: list[CallRow]


# --- flags (``flags.flag_view``, ``api_flags``) ---


class FlagOut(Out):
    id: int
    customer_id: int
    kind: str
    label: str
    severity: str
    status: str
    reason: str
    summary: str
    window_start: Instant
    window_end: Instant
    alarm_ids: list[int]
    numbers: dict[str, Any] = Field(description="the figures behind the flag, by kind")
    raised_at: Instant
    updated_at: Instant
    cleared_at: Instant | None
    resolved_at: Instant | None


class ListedFlag(FlagOut):
    last_reviewed_at: Instant | None


class FlaggedCustomer(Out):
    customer_id: int
    name: str | None
    case_ref: str | None
    severity: str = Field(description="the most severe of this person's flags")
    flags: list[ListedFlag]


class ReviewList(Out):
    status: str
    total: int
    page: int
    page_size: int
    customers: list[FlaggedCustomer]


class ReviewOut(Out):
    id: int
    flag_id: int
    at: Instant
    status: str
    action: str | None
    note: str | None
    reviewer: str | None


class ReviewedFlag(FlagOut):
    reviews: list[ReviewOut]


class CustomerFlags(Out):
    open: list[ReviewedFlag] = Field(description="most severe first")
    past: list[ReviewedFlag] = Field(description="cleared or resolved, newest first")


class ReviewAdded(Out):
    flag: FlagOut
    review: ReviewOut


# --- service overview (``charts.overview``) ---


class OverviewDay(Out):
    day: Day
    calls: int
    false_alarm_pct: float | None
    answered_60s_pct: float | None
    answered_180s_pct: float | None
    flagged_customers: int


class Overview(Out):
    from_: Day = Field(alias="from")
    to: Day
    days: list[OverviewDay]
    targets: dict[str, float] = Field(description="the targets, % answered within 60 s / 180 s")


# --- reports (``reports.monthly_report``, ``reports.people_supported``) ---


class MonthlyReport(Out):
    month: str = Field(description="YYYY-MM")
    from_: Day = Field(alias="from")
    to: Day
    calls: int
    by_device_type: dict[str, int] = Field(description="most calls first")
    by_outcome: dict[str, int] = Field(description="most calls first")
    answer_kpis: KpiFigures
    targets: dict[str, float]
    ers_attendances: int
    calls_999: int
    calls_999_avoided: int


class PeopleCounts(Out):
    supported: int
    new: int
    ended: int


class PeopleSupported(Out):
    year: str = Field(description="financial year, e.g. 2026-27")
    from_: Day = Field(alias="from")
    to: Day
    age_bands: dict[str, PeopleCounts]
    totals: PeopleCounts

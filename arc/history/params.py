"""Query parameters shared by the read side's routes, validated once: bad input is a 422 naming
the field, never a 500 (unknown customer: 404)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from fastapi import Depends, Query
from sqlalchemy.ext.asyncio import AsyncSession

from arc.history.calls import Filters
from arc.kit.errors import NotFound, Unprocessable
from arc.registry.models import Customer
from arc.registry.units import Unit

EARLIEST, LATEST = date(1970, 1, 1), date(9999, 12, 30)

FromDate = Annotated[date | None, Query(alias="from", description="first London date, inclusive")]
ToDate = Annotated[date | None, Query(description="last London date, inclusive")]
DeviceType = Annotated[str | None, Query(pattern=r"^[0-9]{4}$", description="device type code, e.g. 0005")]
Outcome = Annotated[str | None, Query(pattern=r"^[a-z0-9_]{1,32}$", description="outcome code")]
CallType = Annotated[
    Literal["genuine", "false", "technical", "other"] | None,
    Query(description="genuine calls, false alarms, technical faults, other (tests...)"),
]
Page = Annotated[int, Query(ge=1, le=100_000)]
PageSize = Annotated[int, Query(ge=1, le=500, description="rows per page, at most 500")]


def dates(first: date | None, last: date | None) -> tuple[date | None, date | None]:
    for name, day in (("from", first), ("to", last)):
        if day is not None and not EARLIEST <= day <= LATEST:
            raise Unprocessable(f"{name} must be between {EARLIEST} and {LATEST}", field=name)
    if first is not None and last is not None and last < first:
        raise Unprocessable("to must not be before from", field="to")
    return first, last


def call_filters(
    from_: FromDate = None,
    to: ToDate = None,
    device_type: DeviceType = None,
    outcome: Outcome = None,
    type: CallType = None,
) -> Filters:
    """The call-history filters every history route takes (each one still its own query parameter
    in the OpenAPI: FastAPI documents a dependency's parameters as the route's)."""
    first, last = dates(from_, to)
    return Filters(first=first, last=last, device_type=device_type, outcome=outcome, type=type)


CallFilters = Annotated[Filters, Depends(call_filters)]


async def require_customer(session: AsyncSession, customer_id: int) -> Customer:
    customer = await session.get(Customer, customer_id) if 0 < customer_id < 2**63 else None
    if customer is None:
        raise NotFound(f"customer {customer_id} not found")
    return customer


async def require_unit(session: AsyncSession, unit_id: int) -> Unit:
    unit = await session.get(Unit, unit_id) if 0 < unit_id < 2**63 else None
    if unit is None:
        raise NotFound(f"unit {unit_id} not found")
    return unit

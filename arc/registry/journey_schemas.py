"""Bodies of the customer-journey routes: referral, 6-week review, changes, withdrawal, search."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, Field, StringConstraints, model_validator

from arc.registry.models import ABSENCE_KINDS, WITHDRAWAL_REASONS
from arc.registry.schemas import (
    Cid,
    ConnectionOut,
    CustomerCreate,
    CustomerOut,
    Input,
    Name,
    Output,
    PeripheralCreate,
    PeripheralOut,
    Phone,
    Postcode,
    ResponderCreate,
    ResponderOut,
    Text,
    UnitOut,
)

TariffCode = Annotated[str, StringConstraints(pattern=r"^[a-z0-9_-]{1,32}$")]
WithdrawalReason = Literal[WITHDRAWAL_REASONS]  # type: ignore[valid-type]
AbsenceKind = Literal[ABSENCE_KINDS]  # type: ignore[valid-type]
SWAP_REASONS = ("faulty", "damaged", "upgrade", "other")


class UnitIn(Input):
    cid: Cid
    model: Name | None = None
    heartbeat_interval_minutes: Annotated[int, Field(ge=1, le=1440)] | None = None


class ReferralIn(Input):
    """Everything the install visit needs, saved in one transaction (or not at all)."""

    customer: CustomerCreate
    responders: list[ResponderCreate] = Field(default_factory=list, max_length=20)
    unit: UnitIn | None = None
    peripherals: list[PeripheralCreate] = Field(default_factory=list, max_length=30)
    tariff_code: TariffCode = "standard"
    install_date: date

    @model_validator(mode="after")
    def _consistent(self) -> ReferralIn:
        if self.peripherals and self.unit is None:
            raise ValueError("peripherals need a unit (give unit.cid)")
        dids = [p.did for p in self.peripherals]
        if len(set(dids)) != len(dids):
            raise ValueError("two peripherals have the same did")
        return self


class ReferralOut(BaseModel):
    customer_id: int
    connection_id: int
    unit_id: int | None


class ReviewIn(Input):
    outcome: Literal["retained", "not_retained"]
    reason: Text | None = Field(default=None, description="required when not retained")
    reviewed_on: date | None = Field(default=None, description="default today (Europe/London)")

    @model_validator(mode="after")
    def _reason_when_not_retained(self) -> ReviewIn:
        if self.outcome == "not_retained" and not self.reason:
            raise ValueError("give the reason the service was not retained")
        return self


class ReviewItem(BaseModel):
    connection_id: int
    customer_id: int
    name: str
    case_ref: str | None
    postcode: str
    install_date: date
    review_due_on: date  # day 42
    days_left: int  # negative: overdue


class WithdrawIn(Input):
    reason: WithdrawalReason
    withdrawn_on: date | None = Field(default=None, description="default today (Europe/London)")
    unit_returned_on: date | None = None


class UnitReturnIn(Input):
    returned_on: date


class SwapIn(Input):
    unit: UnitIn
    reason: Literal[SWAP_REASONS]  # type: ignore[valid-type]
    swapped_on: date | None = None
    old_unit_returned_on: date | None = None
    move_peripherals: bool = True


class PeripheralMove(Input):
    location_text: Text


class AbsenceIn(Input):
    kind: AbsenceKind
    starts_on: date
    ends_on: date | None = None
    note: Text | None = None

    @model_validator(mode="after")
    def _order(self) -> AbsenceIn:
        if self.ends_on is not None and self.ends_on < self.starts_on:
            raise ValueError("ends_on is before starts_on")
        return self


class AbsenceEnd(Input):
    ends_on: date


class AbsenceOut(Output):
    id: int
    customer_id: int
    kind: str
    starts_on: date
    ends_on: date | None
    note: str | None


class MoveIn(Input):
    address_line1: Text
    address_line2: Text | None = None
    town: Name | None = None
    postcode: Postcode
    phone_primary: Phone | None = None
    moved_on: date


class ResponderOrder(Input):
    responder_ids: list[int] = Field(min_length=1, max_length=50)


class AssignmentOut(Output):
    unit_id: int
    cid: str = ""
    assigned_on: date
    ended_on: date | None
    end_reason: str | None
    returned_on: date | None


class ConnectionView(ConnectionOut):
    review_due_on: date
    unit: UnitOut | None = None
    peripherals: list[PeripheralOut] = Field(default_factory=list)
    units_history: list[AssignmentOut] = Field(default_factory=list)


class TimelineItem(BaseModel):
    at: datetime
    actor: str
    action: str
    object_type: str
    text: str


class CustomerView(BaseModel):
    """The customer page: everything about one person."""

    customer: CustomerOut
    connections: list[ConnectionView]
    responders: list[ResponderOut]
    absences: list[AbsenceOut]
    away: AbsenceOut | None = None
    timeline: list[TimelineItem]
    may_edit: bool


class SearchHit(BaseModel):
    id: int
    name: str
    date_of_birth: date | None
    postcode: str
    case_ref: str | None
    phone_primary: str | None
    cid: str | None
    status: str | None
    score: float


class SearchOut(BaseModel):
    items: list[SearchHit]
    took_ms: float

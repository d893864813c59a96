"""Request and response bodies of the registry API.

Input models forbid unknown fields, so a typo is a 422 naming the field rather
than a silently ignored value.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Annotated, Generic, Literal, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
)

from devices.protocol.codes import normalise_code

T = TypeVar("T")

_POSTCODE = re.compile(r"^[A-Z]{1,2}[0-9][A-Z0-9]? ?[0-9][A-Z]{2}$")
_PHONE = re.compile(r"^\+?[0-9 ()-]{6,20}$")
_HHMM = re.compile(r"^([01][0-9]|2[0-3]):[0-5][0-9]$")


def _postcode(value: str) -> str:
    text = " ".join(value.upper().split())
    if not _POSTCODE.match(text):
        raise ValueError("not a UK postcode (e.g. CB2 1TN)")
    if " " not in text:
        text = f"{text[:-3]} {text[-3:]}"
    return text


def _phone(value: str) -> str:
    if not _PHONE.match(value):
        raise ValueError("not a phone number (digits, spaces, +, -, brackets; 6-20 characters)")
    return value


def storable(value: str) -> str:
    """PostgreSQL cannot store NUL or lone surrogates: refuse them here, naming the field."""
    if "\x00" in value:
        raise ValueError("must not contain NUL (\\u0000) characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("is not valid Unicode text (lone surrogate)") from None
    return value


def bounded_text(max_length: int, *, min_length: int = 1):
    """Trimmed text no longer than its column (``max_length`` must match the model's String(n))."""
    return Annotated[
        str,
        StringConstraints(strip_whitespace=True, min_length=min_length, max_length=max_length),
        AfterValidator(storable),
    ]


Text = bounded_text(200)
Name = bounded_text(100)  # String(100) columns: names, town, unit model, relationship
Short = bounded_text(50)  # String(50) columns: firmware, language
LongText = bounded_text(10_000, min_length=0)
KeySafeText = bounded_text(2_000, min_length=0)  # the same limit as PUT /customers/{id}/key-safe
EARLIEST_BIRTH = date(1900, 1, 1)
UnitNotes = bounded_text(2000, min_length=0)  # units.notes is String(2000)
Postcode = Annotated[str, StringConstraints(max_length=10), AfterValidator(_postcode)]
Phone = Annotated[str, StringConstraints(strip_whitespace=True), AfterValidator(_phone)]
Cid = Annotated[str, StringConstraints(pattern=r"^[0-9]{1,32}$")]
Dty = Annotated[str | int, AfterValidator(normalise_code)]


class Input(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Output(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class Page(BaseModel, Generic[T]):
    items: list[T]
    total: int
    limit: int
    offset: int


# --- customers -------------------------------------------------------------


class CustomerFields(Input):
    case_ref: bounded_text(64) | None = None
    preferred_name: Name | None = None
    date_of_birth: date | None = None
    address_line2: Text | None = None
    town: Name | None = None
    phone_primary: Phone | None = None
    phone_secondary: Phone | None = None
    key_safe_info: KeySafeText | None = None
    risk_notes: LongText | None = None
    medical_notes: LongText | None = None
    medical_notes_shareable: bool | None = None
    gp_name: Text | None = None
    gp_phone: Phone | None = None
    language: Short | None = None
    communication_needs: Text | None = None

    @field_validator("date_of_birth")
    @classmethod
    def _plausible_birth(cls, value: date | None) -> date | None:
        if value is not None and value > date.today():
            raise ValueError("date_of_birth is in the future")
        if value is not None and value < EARLIEST_BIRTH:
            raise ValueError(f"date_of_birth is before {EARLIEST_BIRTH.isoformat()}")
        return value


class CustomerCreate(CustomerFields):
    given_name: Name
    family_name: Name
    address_line1: Text
    postcode: Postcode


class CustomerUpdate(CustomerFields):
    given_name: Name | None = None
    family_name: Name | None = None
    address_line1: Text | None = None
    postcode: Postcode | None = None


class CustomerOut(Output):
    id: int
    case_ref: str | None
    given_name: str
    family_name: str
    preferred_name: str | None
    date_of_birth: date | None
    address_line1: str
    address_line2: str | None
    town: str | None
    postcode: str
    phone_primary: str | None
    phone_secondary: str | None
    risk_notes: str | None
    medical_notes: str | None
    medical_notes_shareable: bool = False
    gp_name: str | None
    gp_phone: str | None
    language: str | None
    communication_needs: str | None = None
    has_key_safe_info: bool = False
    created_at: datetime
    updated_at: datetime


# --- units and peripherals -------------------------------------------------


class UnitCreate(Input):
    cid: Cid
    model: Name | None = None
    firmware: Short | None = None
    is_mobile: bool = False
    heartbeat_interval_minutes: Annotated[int, Field(ge=1, le=1440)] | None = None
    notes: UnitNotes | None = None


class UnitUpdate(Input):
    model: Name | None = None
    firmware: Short | None = None
    is_mobile: bool | None = None
    heartbeat_interval_minutes: Annotated[int, Field(ge=1, le=1440)] | None = None
    notes: UnitNotes | None = None


class UnitOut(Output):
    id: int
    cid: str
    model: str | None
    firmware: str | None
    is_mobile: bool
    heartbeat_interval_minutes: int | None
    last_heard_at: datetime | None
    comms_state: str
    ip_link: str
    mobile_link: str
    mains: str
    battery_low: bool
    tamper: bool
    notes: str | None
    created_at: datetime


class PeripheralCreate(Input):
    did: bounded_text(64)
    dty: Dty
    location_text: Text | None = None


class PeripheralUpdate(Input):
    dty: Dty | None = None
    location_text: Text | None = None


class PeripheralOut(Output):
    id: int
    unit_id: int
    did: str
    dty: str
    device_type: str = ""
    location_text: str | None
    battery_low: bool
    last_seen_at: datetime | None


# --- connections -----------------------------------------------------------

ConnectionStatus = Literal["trial", "active", "withdrawn"]


class ConnectionCreate(Input):
    customer_id: int
    unit_id: int | None = None
    tariff_code: Annotated[str, StringConstraints(pattern=r"^[a-z0-9_-]{1,32}$")] = "standard"
    install_date: date


class ConnectionUpdate(Input):
    unit_id: int | None = None
    tariff_code: Annotated[str, StringConstraints(pattern=r"^[a-z0-9_-]{1,32}$")] | None = None
    status: ConnectionStatus | None = None
    activated_on: date | None = None
    withdrawn_on: date | None = None
    withdrawal_reason: Text | None = None


class ConnectionOut(Output):
    id: int
    customer_id: int
    unit_id: int | None
    tariff_code: str
    install_date: date
    status: str
    activated_on: date | None
    withdrawn_on: date | None
    withdrawal_reason: str | None
    review_outcome: str | None = None
    review_reason: str | None = None
    review_recorded_at: datetime | None = None
    unit_returned_on: date | None = None
    created_at: datetime


# --- responders ------------------------------------------------------------


class AvailabilityWindow(Input):
    days: list[Annotated[int, Field(ge=0, le=6)]] = Field(min_length=1, description="0 = Monday")
    start: Annotated[str, StringConstraints(pattern=_HHMM.pattern)]
    end: Annotated[str, StringConstraints(pattern=_HHMM.pattern)]


class ResponderFields(Input):
    relationship_to_customer: Name | None = None
    phone_secondary: Phone | None = None
    holds_key: bool = False
    availability: list[AvailabilityWindow] = Field(default_factory=list, description="empty = any time")
    notes: LongText | None = None


class ResponderCreate(ResponderFields):
    position: Annotated[int, Field(ge=1, le=50)] | None = Field(
        default=None, description="place in the call order; default last"
    )
    name: Text
    phone_primary: Phone


class ResponderUpdate(Input):
    position: Annotated[int, Field(ge=1, le=50)] | None = None
    name: Text | None = None
    phone_primary: Phone | None = None
    relationship_to_customer: Name | None = None
    phone_secondary: Phone | None = None
    holds_key: bool | None = None
    availability: list[AvailabilityWindow] | None = None
    notes: LongText | None = None


class ResponderOut(Output):
    id: int
    customer_id: int
    position: int
    name: str
    relationship_to_customer: str | None
    phone_primary: str
    phone_secondary: str | None
    holds_key: bool
    availability: list[dict]
    notes: str | None

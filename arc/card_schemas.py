"""The alarm card's answer, typed (``response_model`` of ``GET /api/alarms/{id}``).

Field order is the JSON order of ``arc.card.build_card``; times are ``isoformat()`` strings.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from arc.alarms.schemas import AlarmEventOut, AlarmSummary, Geo, Instant, OutcomeOut
from arc.dispatch.schemas import TaskOut
from arc.kit.openapi import Out


class CardAway(Out):
    kind: str
    starts_on: str = Field(description="ISO date")
    ends_on: str | None = Field(description="ISO date")


class CardCustomer(Out):
    id: int
    name: str
    preferred_name: str | None
    date_of_birth: str | None = Field(description="ISO date")
    age: int | None
    address_line1: str | None
    address_line2: str | None
    town: str | None
    postcode: str | None
    phone_primary: str | None
    phone_secondary: str | None
    risk_notes: str | None
    medical_notes: str | None
    gp_name: str | None
    gp_phone: str | None
    language: str | None
    communication_needs: str | None
    away: CardAway | None = Field(description="a hospital stay or holiday going on today")


class CardUnit(Out):
    cid: str
    model: str | None
    comms_state: str | None
    ip_link: str | None
    mobile_link: str | None
    mains: str | None
    battery_low: bool
    last_heard_at: Instant | None


class CardPeripheral(Out):
    did: str
    dty: str | None
    device_type: str | None
    location_text: str | None


class MappedGeo(Geo):
    map_url: str


class CardTrigger(Out):
    did: str | None
    device_type: str | None
    status_text: str | None
    location_text: str | None
    geo: MappedGeo | None


class CardResponder(Out):
    id: int
    position: int
    name: str | None
    relationship: str | None
    phone_primary: str | None
    phone_secondary: str | None
    holds_key: bool
    available_now: bool


class CardCaller(Out):
    caller_ids: list[str]
    callback_requested: bool


class CardActivation(Out):
    at: Instant | None
    device_type: str | None
    status_text: str | None
    did: str | None
    location_text: str | None
    ref: str | None


class CardClosing(Out):
    outcome_code: str | None
    outcome_label: str | None
    note: str | None
    closed_at: Instant | None
    closed_by: str | None


class AlarmCard(Out):
    """Everything about the person and the event on one page (``arc.card.build_card``)."""

    alarm: AlarmSummary
    customer: CardCustomer | None
    key_safe: str | None = Field(description="only for the operator holding the open alarm")
    key_safe_state: str = Field(description="why there is or is not a value (e.g. unreadable, not_holder)")
    caller: CardCaller
    activations: list[CardActivation]
    closing: CardClosing | None
    unit: CardUnit | None
    peripherals: list[CardPeripheral]
    trigger: CardTrigger
    responders: list[CardResponder]
    history: list[AlarmSummary]
    flags: list[dict[str, Any]]
    script: str
    outcomes: list[OutcomeOut]
    events: list[AlarmEventOut]
    tasks: list[TaskOut]

"""The alarm API's answers, typed (``response_model``). Field order is the JSON order.

Times are ISO 8601 strings made by ``datetime.isoformat()`` (``+00:00``), as the pages and the
live stream have always read them; the models type them without re-formatting them.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from arc.kit.openapi import Out

Instant = str  # ISO 8601 with offset, e.g. 2026-12-01T08:00:00+00:00


class Person(Out):
    id: int
    name: str


class AlarmCustomer(Person):
    postcode: str | None


class Geo(Out):
    lat: float | int
    lon: float | int
    at: Instant | None


class AlarmSummary(Out):
    """Queue-row view (``arc/alarms/views.py``): enough to sort, show and pick; no health data."""

    id: int
    status: str
    priority: int
    category: str
    hazard: str | None = Field(description="fire or fall, marked at a glance in the queue")
    kind: str
    title: str
    cid: str
    unknown_unit: bool
    device_type: str | None
    status_text: str | None
    did: str | None
    location_text: str | None
    geo: Geo | None
    customer: AlarmCustomer | None
    raised_at: Instant | None
    last_activation_at: Instant | None
    activation_count: int
    reset_at_unit_at: Instant | None
    accepted_by: Person | None
    accepted_at: Instant | None
    closed_at: Instant | None
    outcome_code: str | None


class AlarmQueue(Out):
    items: list[AlarmSummary]
    now: Instant = Field(description="the server's clock, so the page shows waiting times from it")


class AlarmEventOut(Out):
    at: Instant
    type: str
    actor: str | None
    data: dict[str, Any] = Field(description="what happened, by event type")


class OutcomeOut(Out):
    code: str
    label: str


class OutcomeAdminOut(OutcomeOut):
    position: int
    active: bool


class ScriptOut(Out):
    id: int
    match: str
    text: str

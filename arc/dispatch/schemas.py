"""The dispatch API's answers, typed (``response_model``). Field order is the JSON order."""

from __future__ import annotations

from arc.alarms.schemas import AlarmSummary, Instant
from arc.kit.openapi import Out


class DeliveryOut(Out):
    at: Instant | None
    channel: str
    outcome: str
    status_code: int | None
    detail: str | None


class TaskOut(Out):
    """A response task (``arc/dispatch/views.py``): who was asked, what they answered, when."""

    id: int
    alarm_id: int
    kind: str
    responder_id: int | None
    responder_name: str | None
    ers_user_id: int | None
    service: str | None
    reference: str | None
    status: str
    requested_at: Instant | None
    accepted_at: Instant | None
    en_route_at: Instant | None
    arrived_at: Instant | None
    done_at: Instant | None
    ended_at: Instant | None
    escalate_at: Instant | None
    note: str | None
    deliveries: list[DeliveryOut]


class JobAddress(Out):
    name: str
    address_line1: str | None
    address_line2: str | None
    town: str | None
    postcode: str | None
    phone_primary: str | None


class ErsJobOut(TaskOut):
    """An ERS responder's job: the task, its alarm, where to go and (on the job) the key safe."""

    alarm: AlarmSummary
    alarm_closed: bool
    address: JobAddress | None
    key_safe: str | None
    key_safe_state: str | None
    risk_notes: str | None
    medical_notes: str | None = None  # only those the council marked shareable, once accepted


class ErsJobs(Out):
    items: list[ErsJobOut]

"""The one JSON shape of an alarm in the queue, the API and the live stream."""

from __future__ import annotations

from datetime import datetime

from arc.alarms.models import Alarm
from arc.auth.models import User
from arc.registry.models import Customer
from devices.protocol.codes import device_type_name, status_name


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


FALL_DEVICE = "0005"


def hazard(alarm: Alarm) -> str | None:
    """What the queue marks at a glance: ``fire`` (smoke, heat, CO: category environmental) or
    ``fall`` (a fall detector raised it or joined it)."""
    if alarm.category == "environmental":
        return "fire"
    if alarm.dty == FALL_DEVICE or "fall detector" in (alarm.title or "").lower():
        return "fall"
    return None


def alarm_summary(alarm: Alarm, customer: Customer | None = None, accepted_by: User | None = None) -> dict:
    """Queue-row view: enough to sort, show and pick an alarm; no health data."""
    return {
        "id": alarm.id,
        "status": alarm.status,
        "priority": alarm.priority,
        "category": alarm.category,
        "hazard": hazard(alarm),
        "kind": alarm.kind,
        "title": alarm.title,
        "cid": alarm.cid,
        "unknown_unit": alarm.unknown_unit,
        "device_type": device_type_name(alarm.dty) if alarm.dty else None,
        "status_text": status_name(alarm.stc) if alarm.stc else None,
        "did": alarm.did,
        "location_text": alarm.location_text,
        "geo": (
            {"lat": alarm.geo_lat, "lon": alarm.geo_lon, "at": _iso(alarm.geo_at)}
            if alarm.geo_lat is not None and alarm.geo_lon is not None
            else None
        ),
        "customer": (
            {
                "id": customer.id,
                "name": f"{customer.given_name} {customer.family_name}",
                "postcode": customer.postcode,
            }
            if customer is not None
            else None
        ),
        "raised_at": _iso(alarm.raised_at),
        "last_activation_at": _iso(alarm.last_activation_at),
        "activation_count": alarm.activation_count,
        "reset_at_unit_at": _iso(alarm.reset_at_unit_at),
        "accepted_by": {"id": accepted_by.id, "name": accepted_by.full_name} if accepted_by else None,
        "accepted_at": _iso(alarm.accepted_at),
        "closed_at": _iso(alarm.closed_at),
        "outcome_code": alarm.outcome_code,
    }

"""The alarm card: everything an operator needs about the person and the event, on one page.

It gathers from every domain (alarms, registry, dispatch, and later the read side's flags),
so it lives in the composition layer. Key-safe information is read through
``arc.alarms.keysafe.read_key_safe`` only, and only for the operator holding the alarm.
"""

from __future__ import annotations

from datetime import date, datetime
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from arc.alarms import outcomes, scripts
from arc.alarms.keysafe import read_key_safe
from arc.alarms.models import Alarm, AlarmEvent
from arc.alarms.service import event_view, get_alarm
from arc.alarms.views import alarm_summary
from arc.audit.service import record_customer
from arc.auth.deps import Operator
from arc.auth.models import User
from arc.dispatch.plan import available_now
from arc.dispatch.views import alarm_tasks, task_views
from arc.kit.db import Session
from arc.registry.changes import current_absence
from arc.registry.models import Absence, Customer, Responder
from arc.registry.units import Peripheral, Unit
from devices.protocol.codes import device_type_name, status_name

HISTORY_SIZE = 10


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def age_on(born: date | None, today: date) -> int | None:
    if born is None:
        return None
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


def map_url(lat: float, lon: float) -> str:
    return "https://www.openstreetmap.org/?" + urlencode({"mlat": lat, "mlon": lon}) + f"#map=17/{lat}/{lon}"


def customer_view(customer: Customer, today: date) -> dict:
    return {
        "id": customer.id,
        "name": f"{customer.given_name} {customer.family_name}",
        "preferred_name": customer.preferred_name,
        "date_of_birth": customer.date_of_birth.isoformat() if customer.date_of_birth else None,
        "age": age_on(customer.date_of_birth, today),
        "address_line1": customer.address_line1,
        "address_line2": customer.address_line2,
        "town": customer.town,
        "postcode": customer.postcode,
        "phone_primary": customer.phone_primary,
        "phone_secondary": customer.phone_secondary,
        "risk_notes": customer.risk_notes,
        "medical_notes": customer.medical_notes,
        "gp_name": customer.gp_name,
        "gp_phone": customer.gp_phone,
        "language": customer.language,
        "communication_needs": customer.communication_needs,
    }


def away_view(absence: Absence | None) -> dict | None:
    """A hospital stay or holiday going on today: the alarm is still handled, the operator is told."""
    if absence is None:
        return None
    return {
        "kind": absence.kind,
        "starts_on": absence.starts_on.isoformat(),
        "ends_on": absence.ends_on.isoformat() if absence.ends_on else None,
    }


def unit_view(unit: Unit) -> dict:
    return {
        "cid": unit.cid,
        "model": unit.model,
        "comms_state": unit.comms_state,
        "ip_link": unit.ip_link,
        "mobile_link": unit.mobile_link,
        "mains": unit.mains,
        "battery_low": unit.battery_low,
        "last_heard_at": _iso(unit.last_heard_at),
    }


def trigger_view(alarm: Alarm, peripherals: list[Peripheral]) -> dict:
    device = next((p for p in peripherals if alarm.did and p.did == alarm.did), None)
    geo = None
    if alarm.geo_lat is not None and alarm.geo_lon is not None:
        geo = {
            "lat": alarm.geo_lat,
            "lon": alarm.geo_lon,
            "at": _iso(alarm.geo_at),
            "map_url": map_url(alarm.geo_lat, alarm.geo_lon),
        }
    dty = alarm.dty or (device.dty if device else None)
    return {
        "did": alarm.did,
        "device_type": device_type_name(dty) if dty else None,
        "status_text": status_name(alarm.stc) if alarm.stc else None,
        "location_text": alarm.location_text or (device.location_text if device else None),
        "geo": geo,
    }


def responder_view(responder: Responder, now: datetime, zone: ZoneInfo) -> dict:
    return {
        "id": responder.id,
        "position": responder.position,
        "name": responder.name,
        "relationship": responder.relationship_to_customer,
        "phone_primary": responder.phone_primary,
        "phone_secondary": responder.phone_secondary,
        "holds_key": responder.holds_key,
        "available_now": available_now(responder.availability, now, zone),
    }


async def _history(session: AsyncSession, alarm: Alarm) -> list[dict]:
    """The last alarms of the same person (or, for an unregistered unit, the same cid)."""
    same = Alarm.customer_id == alarm.customer_id if alarm.customer_id else Alarm.cid == alarm.cid
    rows = await session.execute(
        select(Alarm, Customer, User)
        .outerjoin(Customer, Customer.id == Alarm.customer_id)
        .outerjoin(User, User.id == Alarm.accepted_by_id)
        .where(same, Alarm.id != alarm.id)
        .order_by(Alarm.raised_at.desc(), Alarm.id.desc())
        .limit(HISTORY_SIZE)
    )
    return [alarm_summary(a, c, u) for a, c, u in rows]


async def build_card(
    session: AsyncSession, alarm_id: int, user: User, now: datetime, zone: ZoneInfo, *, request: Request
) -> dict:
    alarm = await get_alarm(session, alarm_id)
    customer = await session.get(Customer, alarm.customer_id) if alarm.customer_id else None
    holder = await session.get(User, alarm.accepted_by_id) if alarm.accepted_by_id else None
    unit = await session.get(Unit, alarm.unit_id) if alarm.unit_id else None
    if unit is None and not alarm.unknown_unit:
        unit = await session.scalar(select(Unit).where(Unit.cid == alarm.cid))
    peripherals = (
        list(
            await session.scalars(
                select(Peripheral).where(Peripheral.unit_id == unit.id).order_by(Peripheral.id)
            )
        )
        if unit
        else []
    )
    responders = (
        list(
            await session.scalars(
                select(Responder).where(Responder.customer_id == customer.id).order_by(Responder.position)
            )
        )
        if customer
        else []
    )
    holds_it = alarm.status != "closed" and alarm.accepted_by_id == user.id
    if customer is not None:  # the card shows medical and risk notes: every look is audited
        await record_customer(session, request, user, "view", customer.id, via=f"alarm card {alarm.id}")
    events = await session.scalars(
        select(AlarmEvent).where(AlarmEvent.alarm_id == alarm.id).order_by(AlarmEvent.id)
    )
    return {
        "alarm": alarm_summary(alarm, customer, holder),
        "customer": (
            {
                **customer_view(customer, now.astimezone(zone).date()),
                "away": away_view(await current_absence(session, customer.id, now.astimezone(zone).date())),
            }
            if customer
            else None
        ),
        "key_safe": (
            await read_key_safe(session, customer, user, purpose=f"alarm {alarm.id}", request=request)
            if customer is not None and holds_it
            else None
        ),
        "unit": unit_view(unit) if unit else None,
        "peripherals": [
            {
                "did": p.did,
                "dty": p.dty,
                "device_type": device_type_name(p.dty),
                "location_text": p.location_text,
            }
            for p in peripherals
        ],
        "trigger": trigger_view(alarm, peripherals),
        "responders": [responder_view(r, now, zone) for r in responders],
        "history": await _history(session, alarm),
        "flags": [],  # TEC flags (frequent caller, clusters, trends) arrive with the history issue
        "script": await scripts.script_for(session, alarm.dty, alarm.stc, alarm.kind),
        "outcomes": [outcomes.view(o) for o in await outcomes.list_outcomes(session)],
        "events": [event_view(e) for e in events],
        "tasks": await task_views(session, await alarm_tasks(session, alarm.id)),
    }


router = APIRouter(tags=["alarms"])


@router.get("/alarms/{alarm_id}", summary="The alarm card")
async def alarm_card(request: Request, session: Session, user: Operator, alarm_id: int) -> dict:
    state = request.app.state
    return await build_card(session, alarm_id, user, state.clock.now(), state.settings.zone, request=request)

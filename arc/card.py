"""The alarm card: everything an operator needs about the person and the event, on one page.

It gathers from every domain (alarms, registry, dispatch) and the read side's flags,
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
from arc.audit.service import ViewId, record_customer, seen_in_view
from arc.auth.deps import Operator
from arc.auth.models import User
from arc.card_schemas import AlarmCard
from arc.dispatch.plan import available_now
from arc.dispatch.views import alarm_tasks, task_views
from arc.history.flags import flags_for_customer
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


ACTIVATION_EVENTS = ("received", "activation", "repeat")


def activations_view(alarm: Alarm, events: list[AlarmEvent], peripherals: list[Peripheral]) -> list[dict]:
    """Each activation of the alarm, first to last: when, which device, what it reported.

    Read from the alarm's log (``received`` / ``activation`` / ``repeat`` events carry the device
    and status, ``arc/alarms/intake.py``); an alarm with no such event (raised by the system, or
    made before activations were logged) shows its own trigger as its one activation."""
    where = {p.did: p.location_text for p in peripherals if p.did}
    out = []
    for event in events:
        data = event.data or {}
        if event.type not in ACTIVATION_EVENTS or not (data.get("device_type") or data.get("status_text")):
            continue
        did = data.get("did")
        out.append(
            {
                "at": _iso(event.at),
                "device_type": data.get("device_type"),
                "status_text": data.get("status_text"),
                "did": did,
                "location_text": data.get("location_text") or where.get(did),
                "ref": data.get("ref"),
            }
        )
    if not out and (alarm.dty or alarm.stc):
        trigger = trigger_view(alarm, peripherals)
        out.append(
            {
                "at": _iso(alarm.raised_at),
                **{k: trigger[k] for k in ("device_type", "status_text", "did", "location_text")},
                "ref": alarm.ref,
            }
        )
    return out


def closing_view(alarm: Alarm, outcome_labels: dict[str, str], closed_by: User | None) -> dict | None:
    if alarm.status != "closed":
        return None
    return {
        "outcome_code": alarm.outcome_code,
        "outcome_label": outcome_labels.get(alarm.outcome_code or "", alarm.outcome_code),
        "note": alarm.outcome_note,
        "closed_at": _iso(alarm.closed_at),
        "closed_by": closed_by.full_name if closed_by else None,
    }


async def _key_safe(session, alarm: Alarm, customer: Customer | None, user: User, holds_it: bool, **kw):
    """(value, state): the value only for the operator holding the open alarm; ``unreadable``
    when it cannot be decrypted (the card still loads, a supervisor is told)."""
    if customer is None:
        return None, "no_customer"
    if not holds_it:
        return None, "not_holder"
    found = await read_key_safe(session, customer, user, purpose=f"alarm {alarm.id}", alarm_id=alarm.id, **kw)
    return found.value, found.state


async def build_card(
    session: AsyncSession,
    alarm_id: int,
    user: User,
    now: datetime,
    zone: ZoneInfo,
    *,
    request: Request,
    view: str | None = None,
) -> dict:
    """The card. ``view``: the page's id for one opening of this card, repeated on its refreshes;
    what the person looked at is audited once per view (``arc.audit.service.seen_in_view``)."""
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
    # the card shows medical and risk notes: every look is audited, once per view of the card
    if customer is not None and not await seen_in_view(session, user, "customer", customer.id, view, now=now):
        extra = {"view": view} if view else {}
        await record_customer(
            session, request, user, "view", customer.id, via=f"alarm card {alarm.id}", **extra
        )
    events = list(
        await session.scalars(
            select(AlarmEvent).where(AlarmEvent.alarm_id == alarm.id).order_by(AlarmEvent.id)
        )
    )
    outcome_rows = await outcomes.list_outcomes(session, include_inactive=True)
    closed_by = await session.get(User, alarm.closed_by_id) if alarm.closed_by_id else None
    key_safe, key_safe_state = await _key_safe(
        session, alarm, customer, user, holds_it, request=request, view=view
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
        "key_safe": key_safe,
        "key_safe_state": key_safe_state,
        "caller": {
            "caller_ids": list(alarm.caller_ids or []),
            "callback_requested": alarm.callback_requested,
        },
        "activations": activations_view(alarm, events, peripherals),
        "closing": closing_view(alarm, {o.code: o.label for o in outcome_rows}, closed_by),
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
        "flags": await flags_for_customer(session, customer.id) if customer else [],
        "script": await scripts.script_for(session, alarm.dty, alarm.stc, alarm.kind),
        "outcomes": [outcomes.view(o) for o in outcome_rows if o.active],
        "events": [event_view(e) for e in events],
        "tasks": await task_views(session, await alarm_tasks(session, alarm.id)),
    }


router = APIRouter(tags=["alarms"])


@router.get("/alarms/{alarm_id}", summary="The alarm card", response_model=AlarmCard)
async def alarm_card(
    request: Request, session: Session, user: Operator, alarm_id: int, view: ViewId = None
) -> dict:
    state = request.app.state
    return await build_card(
        session, alarm_id, user, state.clock.now(), state.settings.zone, request=request, view=view
    )

"""The fleet in one look (digital switchover): every unit's model, firmware, last heard, interval,
path (IP / mobile) and the state of each link, mains and battery, open technical alarms; filters;
counts by state; a unit's comms history. Read-only, for supervisors, admins and the TEC team.

It reads the registry's units, the alarms' technical alarms and the ingest's inbox, so it lives
in the composition layer (``arc.web``)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel
from sqlalchemy import and_, case, func, or_, select

from arc.alarms.models import Alarm
from arc.auth.deps import require_roles
from arc.ingest.models import InboxMessage
from arc.kit.db import Session
from arc.kit.errors import NotFound
from arc.registry.units import Peripheral, Unit
from devices.protocol.codes import device_type_name, status_name

router = APIRouter(tags=["fleet"], dependencies=[Depends(require_roles("supervisor", "admin", "tec"))])
PERSONAL_KINDS = ("activation", "unknown_unit")
HISTORY = 50


class FleetUnit(BaseModel):
    cid: str
    model: str | None
    firmware: str | None
    is_mobile: bool
    last_heard_at: datetime | None
    heartbeat_interval_minutes: int | None
    comms_state: str
    path: str
    ip_link: str
    mobile_link: str
    mains: str
    battery_low: bool
    open_technical: list[str]


class FleetOut(BaseModel):
    now: datetime
    counts: dict[str, int]
    total: int
    items: list[FleetUnit]


class CommsEvent(BaseModel):
    at: datetime
    what: str
    detail: str | None = None
    answer: int | None = None


class UnitComms(BaseModel):
    unit: FleetUnit
    peripherals: list[dict]
    technical_alarms: list[dict]
    messages: list[CommsEvent]


def _path(unit: Unit) -> str:
    """How the unit reaches us now: ``ip``, ``mobile`` (IP failed, mobile up), ``none`` or ``unknown``."""
    if unit.ip_link == "ok":
        return "ip"
    if unit.mobile_link == "ok":
        return "mobile"
    if unit.ip_link == "failed" and unit.mobile_link in ("failed", "unknown"):
        return "none"
    return "unknown"


MOBILE_ONLY = and_(Unit.ip_link != "ok", Unit.mobile_link == "ok")


def _open_technical():
    return (
        select(Alarm.cid, func.array_agg(func.distinct(Alarm.kind)).label("kinds"))
        .where(Alarm.status != "closed", Alarm.kind.not_in(PERSONAL_KINDS))
        .group_by(Alarm.cid)
        .subquery()
    )


def _view(unit: Unit, kinds: list[str] | None) -> FleetUnit:
    return FleetUnit(
        cid=unit.cid,
        model=unit.model,
        firmware=unit.firmware,
        is_mobile=unit.is_mobile,
        last_heard_at=unit.last_heard_at,
        heartbeat_interval_minutes=unit.heartbeat_interval_minutes,
        comms_state=unit.comms_state,
        path=_path(unit),
        ip_link=unit.ip_link,
        mobile_link=unit.mobile_link,
        mains=unit.mains,
        battery_low=unit.battery_low,
        open_technical=sorted(kinds or []),
    )


@router.get("/fleet", response_model=FleetOut, summary="Every unit's comms state, with counts by state")
async def fleet(
    request: Request,
    session: Session,
    silent_hours: Annotated[
        float | None, Query(gt=0, le=24 * 365, description="not heard for more than N hours")
    ] = None,
    mobile_only: bool = False,
    battery_low: bool = False,
    never_heard: bool = False,
    mains_failed: bool = False,
    technical: Annotated[bool, Query(description="only units with an open technical alarm")] = False,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> FleetOut:
    now = request.app.state.clock.now()
    open_tech = _open_technical()
    counts_row = (
        await session.execute(
            select(
                func.count().label("units"),
                func.count().filter(Unit.comms_state == "ok").label("heard"),
                func.count().filter(Unit.comms_state == "no_comms").label("no_comms"),
                func.count().filter(Unit.last_heard_at.is_(None)).label("never_heard"),
                func.count().filter(MOBILE_ONLY).label("mobile_only"),
                func.count().filter(Unit.mains == "failed").label("mains_failed"),
                func.count().filter(Unit.battery_low).label("battery_low"),
                func.count().filter(Unit.last_heard_at < now - timedelta(hours=24)).label("silent_24h"),
                func.count(open_tech.c.cid).label("technical"),
            ).outerjoin(open_tech, open_tech.c.cid == Unit.cid)
        )
    ).one()
    where = []
    if silent_hours is not None:
        where.append(
            or_(Unit.last_heard_at.is_(None), Unit.last_heard_at < now - timedelta(hours=silent_hours))
        )
    if mobile_only:
        where.append(MOBILE_ONLY)
    if battery_low:
        where.append(Unit.battery_low)
    if never_heard:
        where.append(Unit.last_heard_at.is_(None))
    if mains_failed:
        where.append(Unit.mains == "failed")
    if technical:
        where.append(open_tech.c.cid.is_not(None))
    base = select(Unit, open_tech.c.kinds).outerjoin(open_tech, open_tech.c.cid == Unit.cid).where(*where)
    total = await session.scalar(select(func.count()).select_from(base.subquery()))
    rows = await session.execute(
        base.order_by(
            case((Unit.last_heard_at.is_(None), 0), else_=1), Unit.last_heard_at.asc().nulls_first(), Unit.cid
        )
        .limit(limit)
        .offset(offset)
    )
    return FleetOut(
        now=now,
        counts=dict(counts_row._mapping),
        total=total or 0,
        items=[_view(unit, kinds) for unit, kinds in rows],
    )


def _message(row: InboxMessage) -> CommsEvent:
    msg = row.message or {}
    stc = msg.get("stc")
    what = {"HB": "heartbeat", "AL": "alarm", "ST": "status", "RE": "reset", "IN": "information"}.get(
        row.mty, row.mty
    )
    detail = status_name(str(stc)) if stc else None
    if msg.get("dty") and row.mty != "HB":
        detail = f"{device_type_name(str(msg['dty']))}{f' — {detail}' if detail else ''}"
    return CommsEvent(at=row.received_at, what=what, detail=detail, answer=row.snu)


@router.get(
    "/fleet/units/{cid}", response_model=UnitComms, summary="One unit: state, peripherals, comms history"
)
async def unit_comms(session: Session, cid: str) -> UnitComms:
    unit = await session.scalar(select(Unit).where(Unit.cid == cid))
    if unit is None:
        raise NotFound(f"unit {cid} not found")
    peripherals = await session.scalars(
        select(Peripheral).where(Peripheral.unit_id == unit.id).order_by(Peripheral.id)
    )
    alarms = await session.scalars(
        select(Alarm)
        .where(Alarm.cid == cid, Alarm.kind.not_in(PERSONAL_KINDS))
        .order_by(Alarm.raised_at.desc(), Alarm.id.desc())
        .limit(HISTORY)
    )
    messages = await session.scalars(
        select(InboxMessage)
        .where(InboxMessage.cid == cid)
        .order_by(InboxMessage.received_at.desc(), InboxMessage.id.desc())
        .limit(HISTORY)
    )
    open_kinds = await session.scalars(
        select(Alarm.kind).where(
            Alarm.cid == cid, Alarm.status != "closed", Alarm.kind.not_in(PERSONAL_KINDS)
        )
    )
    return UnitComms(
        unit=_view(unit, list(set(open_kinds))),
        peripherals=[
            {
                "did": p.did,
                "device_type": device_type_name(p.dty),
                "location_text": p.location_text,
                "battery_low": p.battery_low,
                "last_seen_at": p.last_seen_at.isoformat() if p.last_seen_at else None,
            }
            for p in peripherals
        ],
        technical_alarms=[
            {
                "id": a.id,
                "kind": a.kind,
                "title": a.title,
                "status": a.status,
                "raised_at": a.raised_at.isoformat(),
                "closed_at": a.closed_at.isoformat() if a.closed_at else None,
                "outcome_code": a.outcome_code,
            }
            for a in alarms
        ],
        messages=[_message(m) for m in messages],
    )

"""The install visit's test call: has the new unit been heard since the installer started, with a
heartbeat and with a test activation? Composition layer: it reads the ingest's inbox and the alarms
on behalf of a registry page (the registry may not import them)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel
from sqlalchemy import select

from arc.alarms.models import Alarm
from arc.auth.deps import require_roles
from arc.ingest.models import InboxMessage
from arc.kit.db import Session
from arc.kit.errors import Conflict, ErrorCode
from arc.registry import assignments
from arc.registry.crud import get_or_404
from arc.registry.models import Connection
from arc.registry.units import Unit
from devices.protocol.codes import device_type_name, status_name

router = APIRouter(tags=["customer journey"], dependencies=[Depends(require_roles("tec", "admin"))])


class Arrival(BaseModel):
    at: datetime
    what: str
    alarm_id: int | None = None
    alarm_status: str | None = None


class TestCallOut(BaseModel):
    connection_id: int
    cid: str
    since: datetime
    heartbeat: Arrival | None
    activation: Arrival | None
    passed: bool


def _describe(message: dict) -> str:
    dty, stc = message.get("dty"), message.get("stc")
    parts = [device_type_name(dty) if dty else None, status_name(stc) if stc else None]
    return " — ".join(p for p in parts if p) or "activation"


@router.get("/connections/{connection_id}/test-call", response_model=TestCallOut)
async def test_call(
    session: Session,
    connection_id: int,
    since: Annotated[
        datetime | None,
        Query(description="from when (UTC); default: when the unit was put on the connection"),
    ] = None,
):
    """The first heartbeat and the first activation from the connection's unit since ``since``."""
    conn = await get_or_404(session, Connection, connection_id, what="connection")
    if conn.unit_id is None:
        raise Conflict("this connection has no unit to test", code=ErrorCode.NO_UNIT)
    unit = await session.get(Unit, conn.unit_id)
    if since is None:
        placed = await assignments.current(session, conn.id)
        since = placed.created_at if placed else conn.created_at
    first = (
        select(InboxMessage)
        .where(InboxMessage.cid == unit.cid, InboxMessage.received_at >= since)
        .order_by(InboxMessage.received_at, InboxMessage.id)
        .limit(1)
    )
    beat = await session.scalar(first.where(InboxMessage.mty == "PI"))
    press = await session.scalar(first.where(InboxMessage.mty == "ME"))
    heartbeat = Arrival(at=beat.received_at, what="heartbeat") if beat else None
    activation = None
    if press is not None:
        alarm = await session.get(Alarm, press.alarm_id) if press.alarm_id else None
        activation = Arrival(
            at=press.received_at,
            what=_describe(press.message or {}),
            alarm_id=press.alarm_id,
            alarm_status=alarm.status if alarm else None,
        )
    return TestCallOut(
        connection_id=conn.id,
        cid=unit.cid,
        since=since,
        heartbeat=heartbeat,
        activation=activation,
        passed=heartbeat is not None and activation is not None,
    )

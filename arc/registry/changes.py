"""Changes after the install: peripherals, responders, hospital stays / holidays, moving house.

Each one is audited against the customer, so it shows on their timeline.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from arc.kit.errors import Conflict, ErrorCode, NotFound, Unprocessable
from arc.registry.crud import get_or_404
from arc.registry.journey_schemas import AbsenceEnd, AbsenceIn, MoveIn, PeripheralMove, ResponderOrder
from arc.registry.models import Absence, Connection, Customer, Responder
from arc.registry.referral import Actor, pair_peripheral
from arc.registry.schemas import PeripheralCreate
from arc.registry.units import Peripheral, Unit


async def _unit_of(session: AsyncSession, connection_id: int) -> tuple[Connection, Unit]:
    conn = await get_or_404(session, Connection, connection_id, what="connection")
    if conn.status == "withdrawn":
        raise Conflict("this connection is withdrawn", code=ErrorCode.WITHDRAWN)
    if conn.unit_id is None:
        raise Conflict("this connection has no unit yet", code=ErrorCode.NO_UNIT)
    return conn, await session.get(Unit, conn.unit_id)


async def add_peripheral(
    session: AsyncSession, connection_id: int, data: PeripheralCreate, actor: Actor
) -> Peripheral:
    conn, unit = await _unit_of(session, connection_id)
    peripheral = await pair_peripheral(session, unit, data, "did")
    await session.flush()
    await actor.audit(
        session, "create", "peripheral", peripheral.id, conn.customer_id, unit_id=unit.id, dty=peripheral.dty
    )
    return peripheral


async def move_peripheral(
    session: AsyncSession, connection_id: int, peripheral_id: int, data: PeripheralMove, actor: Actor
) -> Peripheral:
    conn, unit = await _unit_of(session, connection_id)
    peripheral = await session.get(Peripheral, peripheral_id)
    if peripheral is None or peripheral.unit_id != unit.id:
        raise NotFound(f"peripheral {peripheral_id} is not on this connection's unit")
    peripheral.location_text = data.location_text
    await session.flush()
    await actor.audit(
        session, "update", "peripheral", peripheral.id, conn.customer_id, fields=["location_text"]
    )
    return peripheral


async def remove_peripheral(
    session: AsyncSession, connection_id: int, peripheral_id: int, actor: Actor
) -> None:
    conn, unit = await _unit_of(session, connection_id)
    gone = await session.execute(
        delete(Peripheral).where(Peripheral.id == peripheral_id, Peripheral.unit_id == unit.id)
    )
    if not gone.rowcount:
        raise NotFound(f"peripheral {peripheral_id} is not on this connection's unit")
    await actor.audit(session, "deactivate", "peripheral", peripheral_id, conn.customer_id, unit_id=unit.id)


async def remove_responder(session: AsyncSession, responder_id: int, actor: Actor) -> int:
    responder = await get_or_404(session, Responder, responder_id, what="responder")
    customer_id = responder.customer_id
    await session.delete(responder)
    await session.flush()
    await _renumber(session, customer_id, None)
    await actor.audit(session, "deactivate", "responder", responder_id, customer_id)
    return customer_id


async def _renumber(session: AsyncSession, customer_id: int, order: list[int] | None) -> list[Responder]:
    rows = list(
        await session.scalars(
            select(Responder).where(Responder.customer_id == customer_id).order_by(Responder.position)
        )
    )
    if order is not None:
        if sorted(order) != sorted(r.id for r in rows):
            raise Unprocessable("give every responder of this customer exactly once", field="responder_ids")
        by_id = {r.id: r for r in rows}
        rows = [by_id[i] for i in order]
    for r in rows:  # out of the way first: (customer_id, position) is unique
        r.position = r.position + 1000
    await session.flush()
    for place, r in enumerate(rows, start=1):
        r.position = place
    await session.flush()
    return rows


async def reorder_responders(
    session: AsyncSession, customer_id: int, data: ResponderOrder, actor: Actor
) -> list[Responder]:
    await get_or_404(session, Customer, customer_id, what="customer")
    rows = await _renumber(session, customer_id, data.responder_ids)
    await actor.audit(session, "update", "responders", customer_id, customer_id, order=data.responder_ids)
    return rows


async def add_absence(session: AsyncSession, customer_id: int, data: AbsenceIn, actor: Actor) -> Absence:
    await get_or_404(session, Customer, customer_id, what="customer")
    absence = Absence(customer_id=customer_id, **data.model_dump())
    session.add(absence)
    await session.flush()
    await actor.audit(
        session, "create", "absence", absence.id, customer_id, kind=data.kind, starts_on=str(data.starts_on)
    )
    return absence


async def end_absence(session: AsyncSession, absence_id: int, data: AbsenceEnd, actor: Actor) -> Absence:
    absence = await get_or_404(session, Absence, absence_id, what="absence")
    if data.ends_on < absence.starts_on:
        raise Unprocessable("ends_on is before the absence started", field="ends_on")
    absence.ends_on = data.ends_on
    await session.flush()
    await actor.audit(
        session,
        "update",
        "absence",
        absence.id,
        absence.customer_id,
        kind=absence.kind,
        ends_on=str(data.ends_on),
    )
    return absence


async def current_absence(session: AsyncSession, customer_id: int, today: date) -> Absence | None:
    """The hospital stay or holiday going on today, if any (alarms are still handled)."""
    return await session.scalar(
        select(Absence)
        .where(
            Absence.customer_id == customer_id,
            Absence.starts_on <= today,
            (Absence.ends_on.is_(None)) | (Absence.ends_on >= today),
        )
        .order_by(Absence.starts_on.desc())
        .limit(1)
    )


async def move_house(session: AsyncSession, customer_id: int, data: MoveIn, actor: Actor) -> Customer:
    customer = await get_or_404(session, Customer, customer_id, what="customer")
    if customer.erased_at is not None:
        raise Conflict("this customer's personal data was erased", code=ErrorCode.ERASED)
    fields = data.model_dump(exclude={"moved_on"}, exclude_unset=True)
    fields.setdefault("address_line2", None)
    fields.setdefault("town", None)
    for field, value in fields.items():
        setattr(customer, field, value)
    await session.flush()
    await actor.audit(
        session,
        "update",
        "customer",
        customer.id,
        customer.id,
        change="moved_house",
        moved_on=str(data.moved_on),
    )
    return customer

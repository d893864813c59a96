"""Referral -> install: a customer, responders, key safe, unit, peripherals and connection in one go.

The page and the import (arc/registry/importer.py) both come through here, so the rules are the
same whichever way a customer arrives: ``stage`` adds the rows (linked by relationships, nothing
flushed), ``finish`` stores the key safe, starts the unit's history and audits once the ids exist.
``create_referral`` is the two with the checks a single referral needs; the import checks a whole
file first and flushes a batch of staged rows at a time. Flushes only; the caller commits.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from fastapi import Request
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from arc.audit.service import record
from arc.auth.models import User
from arc.kit.crypto import DataCipher
from arc.kit.errors import Conflict, ErrorCode
from arc.registry.journey_schemas import ReferralIn, UnitIn
from arc.registry.models import Connection, Customer, Responder, UnitAssignment
from arc.registry.service import set_key_safe
from arc.registry.units import Peripheral, Unit


@dataclass(frozen=True)
class Actor:
    """Who is doing it, and through which request (None from the CLI)."""

    user: User | str
    request: Request | None = None

    async def audit(
        self,
        session: AsyncSession,
        action: str,
        object_type: str,
        object_id,
        customer_id,
        *,
        flush=True,
        **detail,
    ):
        await record(
            session,
            actor=self.user,
            action=action,
            object_type=object_type,
            object_id=object_id,
            customer_id=customer_id,
            request=self.request,
            detail=detail or None,
            flush=flush,
        )


@dataclass
class Staged:
    data: ReferralIn
    customer: Customer
    connection: Connection


async def live_connection_of_unit(session: AsyncSession, unit_id: int) -> int | None:
    return await session.scalar(
        select(Connection.id).where(Connection.unit_id == unit_id, Connection.status != "withdrawn").limit(1)
    )


def new_unit(data: UnitIn) -> Unit:
    return Unit(cid=data.cid, model=data.model, heartbeat_interval_minutes=data.heartbeat_interval_minutes)


def refit(unit: Unit, data: UnitIn) -> Unit:
    """A unit back from stock: take the model and interval given."""
    if data.model:
        unit.model = data.model
    if data.heartbeat_interval_minutes:
        unit.heartbeat_interval_minutes = data.heartbeat_interval_minutes
    return unit


async def free_unit(session: AsyncSession, data: UnitIn, field: str) -> Unit:
    """The unit with this cid (registered now if new); 409 naming ``field`` if it serves someone."""
    unit = await session.scalar(select(Unit).where(Unit.cid == data.cid))
    if unit is None:
        unit = new_unit(data)
        session.add(unit)
        await session.flush()
        return unit
    other = await live_connection_of_unit(session, unit.id)
    if other is not None:
        raise Conflict(
            f"unit {data.cid} already serves another live connection ({other})",
            code=ErrorCode.UNIT_IN_USE,
            field=field,
        )
    return refit(unit, data)


async def pair_peripheral(session: AsyncSession, unit: Unit, data, field: str) -> Peripheral:
    taken = await session.scalar(
        select(Peripheral.id).where(Peripheral.unit_id == unit.id, Peripheral.did == data.did)
    )
    if taken is not None:
        raise Conflict(
            f"did {data.did!r} is already paired with unit {unit.cid}", code=ErrorCode.DUPLICATE, field=field
        )
    peripheral = Peripheral(unit_id=unit.id, **data.model_dump())
    session.add(peripheral)
    return peripheral


async def unpair_all(session: AsyncSession, unit_ids: list[int]) -> None:
    """Units back from stock are paired afresh with the new home's peripherals."""
    if unit_ids:
        await session.execute(delete(Peripheral).where(Peripheral.unit_id.in_(unit_ids)))


def check_call_order(data: ReferralIn) -> None:
    positions = [r.position for r in data.responders if r.position is not None]
    if len(set(positions)) != len(positions):
        raise Conflict(
            "two responders have the same place in the call order",
            code=ErrorCode.DUPLICATE,
            field="responders",
        )


def stage(
    session: AsyncSession, data: ReferralIn, unit: Unit | None, *, status: str, activated_on: date | None
) -> Staged:
    """Add the person, their responders, the unit's peripherals and the connection (not flushed)."""
    customer = Customer(**data.customer.model_dump(exclude={"key_safe_info"}))
    session.add(customer)
    taken = {r.position for r in data.responders if r.position is not None}
    free = iter(p for p in range(1, 100) if p not in taken)
    for responder in data.responders:
        fields = responder.model_dump(mode="json", exclude={"position"})
        session.add(Responder(customer=customer, **fields, position=responder.position or next(free)))
    for peripheral in data.peripherals:
        session.add(Peripheral(unit=unit, **peripheral.model_dump()))
    connection = Connection(
        customer=customer,
        unit=unit,
        tariff_code=data.tariff_code,
        install_date=data.install_date,
        status=status,
        activated_on=activated_on,
    )
    session.add(connection)
    if unit is not None:
        session.add(UnitAssignment(connection=connection, unit=unit, assigned_on=data.install_date))
    return Staged(data, customer, connection)


async def finish(session: AsyncSession, staged: Staged, cipher: DataCipher, actor: Actor, via: str) -> None:
    """After the flush: encrypt the key safe (its context is the customer's id) and audit."""
    data, customer, connection = staged.data, staged.customer, staged.connection
    if data.customer.key_safe_info:
        set_key_safe(customer, data.customer.key_safe_info, cipher)
    await actor.audit(
        session,
        "create",
        "customer",
        customer.id,
        customer.id,
        flush=False,
        via=via,
        connection_id=connection.id,
        unit_id=connection.unit_id,
        responders=len(data.responders),
        peripherals=len(data.peripherals),
        key_safe=bool(data.customer.key_safe_info),
    )


async def create_referral(
    session: AsyncSession, data: ReferralIn, cipher: DataCipher, actor: Actor, *, via: str = "referral"
) -> Connection:
    case_ref = data.customer.case_ref
    if case_ref and await session.scalar(select(Customer.id).where(Customer.case_ref == case_ref)):
        raise Conflict(
            f"case reference {case_ref!r} is already in use",
            code=ErrorCode.DUPLICATE,
            field="customer.case_ref",
        )
    check_call_order(data)
    unit = await free_unit(session, data.unit, "unit.cid") if data.unit else None
    if unit is not None:
        await unpair_all(session, [unit.id])
    staged = stage(session, data, unit, status="trial", activated_on=None)
    await session.flush()
    await finish(session, staged, cipher, actor, via)
    await session.flush()
    return staged.connection

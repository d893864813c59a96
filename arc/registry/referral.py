"""Referral -> install: a customer, responders, key safe, unit, peripherals and connection in one go.

The page and the import (arc/registry/importer.py) both come through ``create_referral``, so
the rules are the same whichever way a customer arrives. Flushes only; the caller commits.
"""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Request
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from arc.audit.service import record
from arc.auth.models import User
from arc.kit.crypto import DataCipher
from arc.kit.errors import Conflict
from arc.registry import assignments
from arc.registry.journey_schemas import ReferralIn, UnitIn
from arc.registry.models import Connection, Customer, Responder
from arc.registry.service import set_key_safe
from arc.registry.units import Peripheral, Unit


@dataclass(frozen=True)
class Actor:
    """Who is doing it, and through which request (None from the CLI)."""

    user: User | str
    request: Request | None = None

    async def audit(
        self, session: AsyncSession, action: str, object_type: str, object_id, customer_id, **detail
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
        )


async def live_connection_of_unit(session: AsyncSession, unit_id: int) -> int | None:
    return await session.scalar(
        select(Connection.id).where(Connection.unit_id == unit_id, Connection.status != "withdrawn").limit(1)
    )


async def free_unit(session: AsyncSession, data: UnitIn, field: str) -> Unit:
    """The unit with this cid (registered now if new); 409 naming ``field`` if it serves someone."""
    unit = await session.scalar(select(Unit).where(Unit.cid == data.cid))
    if unit is None:
        unit = Unit(
            cid=data.cid, model=data.model, heartbeat_interval_minutes=data.heartbeat_interval_minutes
        )
        session.add(unit)
        await session.flush()
        return unit
    other = await live_connection_of_unit(session, unit.id)
    if other is not None:
        raise Conflict(
            f"unit {data.cid} already serves another live connection ({other})",
            code="unit_in_use",
            field=field,
        )
    if data.model:
        unit.model = data.model
    if data.heartbeat_interval_minutes:
        unit.heartbeat_interval_minutes = data.heartbeat_interval_minutes
    return unit


async def pair_peripheral(session: AsyncSession, unit: Unit, data, field: str) -> Peripheral:
    taken = await session.scalar(
        select(Peripheral.id).where(Peripheral.unit_id == unit.id, Peripheral.did == data.did)
    )
    if taken is not None:
        raise Conflict(
            f"did {data.did!r} is already paired with unit {unit.cid}", code="duplicate", field=field
        )
    peripheral = Peripheral(unit_id=unit.id, **data.model_dump())
    session.add(peripheral)
    return peripheral


async def create_referral(
    session: AsyncSession,
    data: ReferralIn,
    cipher: DataCipher,
    actor: Actor,
    *,
    status: str = "trial",
    activated_on=None,
    via: str = "referral",
) -> Connection:
    case_ref = data.customer.case_ref
    if case_ref and await session.scalar(select(Customer.id).where(Customer.case_ref == case_ref)):
        raise Conflict(
            f"case reference {case_ref!r} is already in use", code="duplicate", field="customer.case_ref"
        )
    customer = Customer(**data.customer.model_dump(exclude={"key_safe_info"}))
    session.add(customer)
    await session.flush()
    if data.customer.key_safe_info:
        set_key_safe(customer, data.customer.key_safe_info, cipher)
    positions = [r.position for r in data.responders if r.position is not None]
    if len(set(positions)) != len(positions):
        raise Conflict(
            "two responders have the same place in the call order", code="duplicate", field="responders"
        )
    free = iter(p for p in range(1, 100) if p not in positions)
    for responder in data.responders:
        session.add(
            Responder(
                customer_id=customer.id,
                **responder.model_dump(mode="json", exclude={"position"}),
                position=responder.position or next(free),
            )
        )
    unit = await free_unit(session, data.unit, "unit.cid") if data.unit else None
    if unit is not None:  # a unit back from stock is paired afresh with this home's peripherals
        await session.execute(delete(Peripheral).where(Peripheral.unit_id == unit.id))
    for i, peripheral in enumerate(data.peripherals):
        await pair_peripheral(session, unit, peripheral, f"peripherals.{i}.did")
    connection = Connection(
        customer_id=customer.id,
        unit_id=unit.id if unit else None,
        tariff_code=data.tariff_code,
        install_date=data.install_date,
        status=status,
        activated_on=activated_on,
    )
    session.add(connection)
    await session.flush()
    await assignments.start(session, connection.id, connection.unit_id, connection.install_date)
    await actor.audit(
        session,
        "create",
        "customer",
        customer.id,
        customer.id,
        via=via,
        connection_id=connection.id,
        unit_id=connection.unit_id,
        responders=len(data.responders),
        peripherals=len(data.peripherals),
        key_safe=bool(data.customer.key_safe_info),
    )
    await session.flush()
    return connection

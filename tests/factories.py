"""Small async factories: make a valid record with sensible defaults, override what the test cares about."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from arc.alarms.models import Alarm
from arc.auth.models import User
from arc.auth.passwords import hash_password
from arc.registry.models import Connection, Customer, Responder
from arc.registry.units import Peripheral, Unit

_seq = itertools.count(1)


async def create_customer(session: AsyncSession, **kw) -> Customer:
    n = next(_seq)
    fields = dict(
        given_name="Ada",
        family_name=f"Tester{n}",
        address_line1=f"{n} Test Street",
        postcode="CB1 1AA",
        case_ref=f"CASE-{n:05d}",
    )
    fields.update(kw)
    customer = Customer(**fields)
    session.add(customer)
    await session.flush()
    return customer


async def create_unit(session: AsyncSession, **kw) -> Unit:
    fields = dict(cid=str(7_000_000 + next(_seq)), model="TestHub")
    fields.update(kw)
    unit = Unit(**fields)
    session.add(unit)
    await session.flush()
    return unit


async def create_peripheral(session: AsyncSession, unit: Unit, **kw) -> Peripheral:
    fields = dict(did=f"D{next(_seq)}", dty="0003", location_text="worn on wrist")
    fields.update(kw)
    peripheral = Peripheral(unit_id=unit.id, **fields)
    session.add(peripheral)
    await session.flush()
    return peripheral


async def create_connection(session: AsyncSession, customer: Customer, unit: Unit | None, **kw) -> Connection:
    fields = dict(install_date=date(2026, 1, 5), status="active", activated_on=date(2026, 1, 5))
    fields.update(kw)
    connection = Connection(customer_id=customer.id, unit_id=unit.id if unit else None, **fields)
    session.add(connection)
    await session.flush()
    return connection


async def create_responder(session: AsyncSession, customer: Customer, **kw) -> Responder:
    fields = dict(position=1, name="Rita Responder", phone_primary="07700 900123", holds_key=True)
    fields.update(kw)
    responder = Responder(customer_id=customer.id, **fields)
    session.add(responder)
    await session.flush()
    return responder


async def create_customer_with_unit(session: AsyncSession, **kw) -> tuple[Customer, Unit, Connection]:
    """The usual arrangement: a customer with an active connection to a registered unit."""
    customer = await create_customer(session, **kw)
    unit = await create_unit(session)
    connection = await create_connection(session, customer, unit)
    return customer, unit, connection


_HASHES: dict[str, str] = {}


async def create_user(
    session: AsyncSession, role: str = "operator", password: str = "correct horse battery", **kw
) -> User:
    n = next(_seq)
    if password not in _HASHES:  # argon2 is slow on purpose; hash each test password once
        _HASHES[password] = hash_password(password)
    fields = dict(
        username=f"{role}{n}", full_name=f"{role.title()} {n}", role=role, password_hash=_HASHES[password]
    )
    fields.update(kw)
    user = User(**fields)
    session.add(user)
    await session.flush()
    return user


async def create_alarm(
    session: AsyncSession, *, customer: Customer | None = None, unit: Unit | None = None, **kw
) -> Alarm:
    """A queued pendant alarm (as the ingest would open it); pass ``raised_at=clock.now()`` etc."""
    n = next(_seq)
    raised = kw.pop("raised_at", datetime(2026, 11, 22, 12, 0, tzinfo=UTC))
    fields = dict(
        cid=unit.cid if unit else str(7_900_000 + n),
        unit_id=unit.id if unit else None,
        customer_id=customer.id if customer else None,
        unknown_unit=unit is None and customer is None,
        category="personal",
        kind="activation",
        priority=20,
        status="queued",
        ref=f"R{n}",
        dty="0003",
        stc="0010",
        title="Pendant alarm",
        raised_at=raised,
        last_activation_at=raised,
    )
    fields.update(kw)
    alarm = Alarm(**fields)
    session.add(alarm)
    await session.flush()
    return alarm

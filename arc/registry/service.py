"""Registry business rules. Services flush; the caller's scope commits."""

from __future__ import annotations

from datetime import date

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from arc.kit.crypto import DataCipher, key_safe_context
from arc.kit.errors import Conflict, ErrorCode, Unprocessable
from arc.registry import assignments, schemas
from arc.registry.crud import apply_changes, get_or_404, paginate
from arc.registry.models import Connection, Customer, Responder
from arc.registry.units import Peripheral, Unit


async def _ensure_unique(session: AsyncSession, model, field: str, value, *, exclude_id: int | None = None):
    if value is None:
        return
    stmt = select(model.id).where(getattr(model, field) == value)
    if exclude_id is not None:
        stmt = stmt.where(model.id != exclude_id)
    if await session.scalar(stmt.limit(1)) is not None:
        raise Conflict(f"{field} {value!r} is already in use", code=ErrorCode.DUPLICATE, field=field)


# --- customers -------------------------------------------------------------


def set_key_safe(customer: Customer, plaintext: str | None, cipher: DataCipher) -> None:
    """Store key-safe information encrypted (the customer must have an id: flush first)."""
    if not plaintext:
        customer.key_safe_ciphertext = None
        return
    customer.key_safe_ciphertext = cipher.encrypt(plaintext, context=key_safe_context(customer.id))


def read_key_safe(customer: Customer, cipher: DataCipher) -> str | None:
    if customer.key_safe_ciphertext is None:
        return None
    return cipher.decrypt(customer.key_safe_ciphertext, context=key_safe_context(customer.id))


async def create_customer(
    session: AsyncSession, data: schemas.CustomerCreate, cipher: DataCipher | None = None
) -> Customer:
    await _ensure_unique(session, Customer, "case_ref", data.case_ref)
    customer = Customer(**data.model_dump(exclude={"key_safe_info"}))
    session.add(customer)
    await session.flush()
    if data.key_safe_info:
        if cipher is None:
            raise ValueError("a cipher is needed to store key-safe information")
        set_key_safe(customer, data.key_safe_info, cipher)
        await session.flush()
    return customer


async def update_customer(
    session: AsyncSession, customer_id: int, data: schemas.CustomerUpdate, cipher: DataCipher | None = None
) -> Customer:
    customer = await get_or_404(session, Customer, customer_id, what="customer")
    await _ensure_unique(session, Customer, "case_ref", data.case_ref, exclude_id=customer_id)
    for required in ("given_name", "family_name", "address_line1", "postcode"):
        if required in data.model_fields_set and getattr(data, required) is None:
            raise Unprocessable(f"{required} cannot be empty", field=required)
    if customer.erased_at is not None:
        raise Conflict("this customer's personal data was erased under the retention policy", code=ErrorCode.ERASED)
    changes = data.model_copy()
    if "key_safe_info" in data.model_fields_set:
        if cipher is None:
            raise ValueError("a cipher is needed to store key-safe information")
        set_key_safe(customer, data.key_safe_info, cipher)
        changes = schemas.CustomerUpdate.model_validate(
            data.model_dump(exclude_unset=True, exclude={"key_safe_info"})
        )
    apply_changes(customer, changes)
    await session.flush()
    return customer


async def list_customers(session: AsyncSession, q: str | None, limit: int, offset: int):
    stmt = select(Customer).order_by(Customer.family_name, Customer.given_name, Customer.id)
    if q:
        like = f"%{q.strip()}%"
        compact = q.replace(" ", "").upper()
        stmt = stmt.where(
            or_(
                Customer.given_name.ilike(like),
                Customer.family_name.ilike(like),
                (Customer.given_name + " " + Customer.family_name).ilike(like),
                Customer.case_ref.ilike(like),
                func.replace(Customer.postcode, " ", "").like(f"%{compact}%"),
                Customer.phone_primary.ilike(like),
            )
        )
    return await paginate(session, stmt, limit, offset)


# --- units and peripherals -------------------------------------------------


async def create_unit(session: AsyncSession, data: schemas.UnitCreate) -> Unit:
    await _ensure_unique(session, Unit, "cid", data.cid)
    unit = Unit(**data.model_dump())
    session.add(unit)
    await session.flush()
    return unit


async def update_unit(session: AsyncSession, unit_id: int, data: schemas.UnitUpdate) -> Unit:
    unit = await get_or_404(session, Unit, unit_id, what="unit")
    apply_changes(unit, data)
    await session.flush()
    return unit


async def list_units(session: AsyncSession, q: str | None, comms_state: str | None, limit: int, offset: int):
    stmt = select(Unit).order_by(Unit.cid)
    if q:
        stmt = stmt.where(Unit.cid.like(f"%{q.strip()}%"))
    if comms_state:
        stmt = stmt.where(Unit.comms_state == comms_state)
    return await paginate(session, stmt, limit, offset)


async def create_peripheral(
    session: AsyncSession, unit_id: int, data: schemas.PeripheralCreate
) -> Peripheral:
    await get_or_404(session, Unit, unit_id, what="unit")
    taken = await session.scalar(
        select(Peripheral.id).where(Peripheral.unit_id == unit_id, Peripheral.did == data.did)
    )
    if taken is not None:
        raise Conflict(
            f"did {data.did!r} is already paired with unit {unit_id}", code=ErrorCode.DUPLICATE, field="did"
        )
    peripheral = Peripheral(unit_id=unit_id, **data.model_dump())
    session.add(peripheral)
    await session.flush()
    return peripheral


async def update_peripheral(session: AsyncSession, peripheral_id: int, data: schemas.PeripheralUpdate):
    peripheral = await get_or_404(session, Peripheral, peripheral_id, what="peripheral")
    if "dty" in data.model_fields_set and data.dty is None:
        raise Unprocessable("dty cannot be empty", field="dty")
    apply_changes(peripheral, data)
    await session.flush()
    return peripheral


async def list_peripherals(session: AsyncSession, unit_id: int) -> list[Peripheral]:
    await get_or_404(session, Unit, unit_id, what="unit")
    rows = await session.scalars(
        select(Peripheral).where(Peripheral.unit_id == unit_id).order_by(Peripheral.id)
    )
    return list(rows)


# --- connections -----------------------------------------------------------


async def _ensure_unit_free(
    session: AsyncSession, unit_id: int | None, exclude_id: int | None = None
) -> None:
    if unit_id is None:
        return
    await get_or_404(session, Unit, unit_id, what="unit")
    stmt = select(Connection.id).where(Connection.unit_id == unit_id, Connection.status != "withdrawn")
    if exclude_id is not None:
        stmt = stmt.where(Connection.id != exclude_id)
    other = await session.scalar(stmt.limit(1))
    if other is not None:
        raise Conflict(
            f"unit {unit_id} already serves connection {other}", code=ErrorCode.UNIT_IN_USE, field="unit_id"
        )


async def create_connection(session: AsyncSession, data: schemas.ConnectionCreate) -> Connection:
    await get_or_404(session, Customer, data.customer_id, what="customer")
    await _ensure_unit_free(session, data.unit_id)
    connection = Connection(**data.model_dump(), status="trial")
    session.add(connection)
    await session.flush()
    await assignments.start(session, connection.id, connection.unit_id, connection.install_date)
    await session.flush()
    return connection


_TRANSITIONS = {
    "trial": {"trial", "active", "withdrawn"},
    "active": {"active", "withdrawn"},
    "withdrawn": {"withdrawn"},
}


async def update_connection(
    session: AsyncSession, connection_id: int, data: schemas.ConnectionUpdate, today: date
) -> Connection:
    conn = await get_or_404(session, Connection, connection_id, what="connection")
    if conn.status == "withdrawn":
        raise Conflict("connection is withdrawn; start a new connection instead", code=ErrorCode.WITHDRAWN)
    target = data.status or conn.status
    if target not in _TRANSITIONS[conn.status]:
        raise Conflict(f"cannot move a connection from {conn.status} to {target}", code=ErrorCode.BAD_TRANSITION)
    if "unit_id" in data.model_fields_set:
        await _ensure_unit_free(session, data.unit_id, exclude_id=conn.id)
    for field in ("tariff_code", "activated_on", "withdrawn_on"):  # an explicit null is not "today"
        if field in data.model_fields_set and getattr(data, field) is None:
            raise Unprocessable(f"{field} cannot be empty", field=field)
    changes = data.model_dump(exclude_unset=True, exclude={"status"})
    if target == "active" and conn.status == "trial":
        changes.setdefault("activated_on", today)
    if target == "withdrawn":
        if not data.withdrawal_reason:
            raise Unprocessable("withdrawal_reason is required to withdraw", field="withdrawal_reason")
        changes.setdefault("withdrawn_on", today)
        if changes["withdrawn_on"] < conn.install_date:
            raise Unprocessable("withdrawn_on is before install_date", field="withdrawn_on")
    elif data.withdrawn_on or data.withdrawal_reason:
        raise Unprocessable("withdrawn_on and withdrawal_reason need status 'withdrawn'", field="status")
    if "unit_id" in changes and changes["unit_id"] != conn.unit_id:
        await assignments.end(session, conn.id, today, "unit changed")
        await assignments.start(session, conn.id, changes["unit_id"], max(today, conn.install_date))
    if target == "withdrawn":
        await assignments.end(session, conn.id, changes["withdrawn_on"], "withdrawn")
    for field, value in changes.items():
        setattr(conn, field, value)
    conn.status = target
    await session.flush()
    return conn


async def list_connections(session: AsyncSession, customer_id: int | None, status: str | None, limit, offset):
    stmt = select(Connection).order_by(Connection.id)
    if customer_id is not None:
        stmt = stmt.where(Connection.customer_id == customer_id)
    if status:
        stmt = stmt.where(Connection.status == status)
    return await paginate(session, stmt, limit, offset)


# --- responders ------------------------------------------------------------


def _check_windows(windows) -> None:
    for window in windows or []:
        if window.start == window.end:
            raise Unprocessable("availability window has the same start and end", field="availability")


async def create_responder(
    session: AsyncSession, customer_id: int, data: schemas.ResponderCreate
) -> Responder:
    await get_or_404(session, Customer, customer_id, what="customer")
    _check_windows(data.availability)
    position = data.position
    if position is None:
        last = await session.scalar(
            select(func.max(Responder.position)).where(Responder.customer_id == customer_id)
        )
        position = (last or 0) + 1
    taken = await session.scalar(
        select(Responder.id).where(Responder.customer_id == customer_id, Responder.position == position)
    )
    if taken is not None:
        raise Conflict(f"position {position} is already taken", code=ErrorCode.DUPLICATE, field="position")
    responder = Responder(
        customer_id=customer_id, **data.model_dump(mode="json", exclude={"position"}), position=position
    )
    session.add(responder)
    await session.flush()
    return responder


async def update_responder(
    session: AsyncSession, responder_id: int, data: schemas.ResponderUpdate
) -> Responder:
    responder = await get_or_404(session, Responder, responder_id, what="responder")
    _check_windows(data.availability)
    if data.position is not None and data.position != responder.position:
        taken = await session.scalar(
            select(Responder.id).where(
                Responder.customer_id == responder.customer_id, Responder.position == data.position
            )
        )
        if taken is not None:
            raise Conflict(f"position {data.position} is already taken", code=ErrorCode.DUPLICATE, field="position")
    for required in ("name", "phone_primary", "position", "holds_key", "availability"):
        if required in data.model_fields_set and getattr(data, required) is None:
            raise Unprocessable(f"{required} cannot be empty", field=required)
    for field, value in data.model_dump(mode="json", exclude_unset=True).items():
        setattr(responder, field, value)
    await session.flush()
    return responder


async def list_responders(session: AsyncSession, customer_id: int) -> list[Responder]:
    await get_or_404(session, Customer, customer_id, what="customer")
    rows = await session.scalars(
        select(Responder).where(Responder.customer_id == customer_id).order_by(Responder.position)
    )
    return list(rows)

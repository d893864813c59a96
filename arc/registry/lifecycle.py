"""A connection's life after the install: the 6-week review, unit swaps, withdrawal, the unit's return.

Day 1 is the install date; the 42 free days end on install_date + 41 (``review_due_on``). A
connection retained at the review is charged from day 43 (``activated_on`` = install_date + 42);
one not retained is withdrawn on the review date with reason ``not_retained`` and never invoiced.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from arc.kit.errors import Conflict, ErrorCode, Unprocessable
from arc.registry import assignments
from arc.registry.crud import get_or_404
from arc.registry.journey_schemas import ReviewIn, SwapIn, UnitReturnIn, WithdrawIn
from arc.registry.models import Connection
from arc.registry.referral import Actor, free_unit
from arc.registry.units import Peripheral, Unit

FREE_DAYS = 42


def review_due_on(install_date: date) -> date:
    return install_date + timedelta(days=FREE_DAYS - 1)


def charging_starts_on(install_date: date) -> date:
    return install_date + timedelta(days=FREE_DAYS)


async def _live(session: AsyncSession, connection_id: int) -> Connection:
    conn = await get_or_404(session, Connection, connection_id, what="connection")
    if conn.status == "withdrawn":
        raise Conflict("this connection is withdrawn", code=ErrorCode.WITHDRAWN)
    return conn


def _not_before_install(conn: Connection, day: date, field: str) -> None:
    if day < conn.install_date:
        raise Unprocessable(
            f"{field} is before the install date ({conn.install_date.isoformat()})", field=field
        )


async def record_review(
    session: AsyncSession, connection_id: int, data: ReviewIn, today: date, now: datetime, actor: Actor
) -> Connection:
    conn = await _live(session, connection_id)
    if conn.review_outcome is not None or conn.status != "trial":
        raise Conflict("the 6-week review of this connection is already recorded", code=ErrorCode.ALREADY_REVIEWED)
    reviewed_on = data.reviewed_on or today
    _not_before_install(conn, reviewed_on, "reviewed_on")
    if reviewed_on > today:
        raise Unprocessable("reviewed_on is in the future", field="reviewed_on")
    conn.review_outcome = data.outcome
    conn.review_reason = data.reason
    conn.review_recorded_at = now
    if data.outcome == "retained":
        conn.status = "active"
        conn.activated_on = charging_starts_on(conn.install_date)
    else:
        conn.status = "withdrawn"
        conn.withdrawn_on = reviewed_on
        conn.withdrawal_reason = "not_retained"
        await assignments.end(session, conn.id, reviewed_on, "withdrawn")
    await session.flush()
    await actor.audit(
        session,
        "update",
        "review",
        conn.id,
        conn.customer_id,
        outcome=data.outcome,
        reviewed_on=str(reviewed_on),
    )
    return conn


async def withdraw(
    session: AsyncSession, connection_id: int, data: WithdrawIn, today: date, actor: Actor
) -> Connection:
    conn = await _live(session, connection_id)
    withdrawn_on = data.withdrawn_on or today
    _not_before_install(conn, withdrawn_on, "withdrawn_on")
    if data.unit_returned_on is not None:
        if conn.unit_id is None:
            raise Unprocessable("this connection has no unit to return", field="unit_returned_on")
        _not_before_install(conn, data.unit_returned_on, "unit_returned_on")
    conn.status = "withdrawn"
    conn.withdrawn_on = withdrawn_on
    conn.withdrawal_reason = data.reason
    conn.unit_returned_on = data.unit_returned_on
    await assignments.end(session, conn.id, withdrawn_on, "withdrawn", data.unit_returned_on)
    await session.flush()
    await actor.audit(
        session,
        "update",
        "withdrawal",
        conn.id,
        conn.customer_id,
        reason=data.reason,
        withdrawn_on=str(withdrawn_on),
        unit_returned=data.unit_returned_on is not None,
    )
    return conn


async def record_unit_return(
    session: AsyncSession, connection_id: int, data: UnitReturnIn, actor: Actor
) -> Connection:
    conn = await get_or_404(session, Connection, connection_id, what="connection")
    if conn.status != "withdrawn" or conn.unit_id is None:
        raise Conflict("only a withdrawn connection's unit comes back", code=ErrorCode.NOT_WITHDRAWN)
    _not_before_install(conn, data.returned_on, "returned_on")
    conn.unit_returned_on = data.returned_on
    history = await assignments.for_connection(session, conn.id)
    if history:
        history[-1].returned_on = data.returned_on
    await session.flush()
    await actor.audit(session, "update", "unit_return", conn.id, conn.customer_id, unit_id=conn.unit_id)
    return conn


async def swap_unit(
    session: AsyncSession, connection_id: int, data: SwapIn, today: date, actor: Actor
) -> Connection:
    """Put a different unit on the connection; the old one keeps its history (and its alarms)."""
    conn = await _live(session, connection_id)
    swapped_on = data.swapped_on or today
    _not_before_install(conn, swapped_on, "swapped_on")
    old = await session.get(Unit, conn.unit_id) if conn.unit_id else None
    if old is not None and old.cid == data.unit.cid:
        raise Unprocessable("the new unit is the one already installed", field="unit.cid")
    new = await free_unit(session, data.unit, "unit.cid")
    moved = 0
    if old is not None:
        await assignments.end(session, conn.id, swapped_on, f"swap:{data.reason}", data.old_unit_returned_on)
        if data.move_peripherals:
            peripherals = await session.scalars(select(Peripheral).where(Peripheral.unit_id == old.id))
            for peripheral in peripherals:
                peripheral.unit_id = new.id
                moved += 1
    conn.unit_id = new.id
    await session.flush()
    await assignments.start(session, conn.id, new.id, swapped_on)
    await session.flush()
    await actor.audit(
        session,
        "update",
        "unit_swap",
        conn.id,
        conn.customer_id,
        old_unit_id=old.id if old else None,
        new_unit_id=new.id,
        reason=data.reason,
        peripherals_moved=moved,
    )
    return conn

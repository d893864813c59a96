"""Which unit served which connection, and when (a swapped or returned unit keeps its history)."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from arc.registry.models import UnitAssignment


async def current(session: AsyncSession, connection_id: int) -> UnitAssignment | None:
    return await session.scalar(
        select(UnitAssignment)
        .where(UnitAssignment.connection_id == connection_id, UnitAssignment.ended_on.is_(None))
        .order_by(UnitAssignment.id.desc())
        .limit(1)
    )


async def end(
    session: AsyncSession, connection_id: int, on: date, reason: str, returned_on: date | None = None
) -> UnitAssignment | None:
    """Close the connection's open assignment (if any) on ``on``."""
    row = await current(session, connection_id)
    if row is not None:
        row.ended_on = max(on, row.assigned_on)
        row.end_reason = reason
        row.returned_on = returned_on
    return row


async def start(session: AsyncSession, connection_id: int, unit_id: int | None, on: date) -> None:
    if unit_id is not None:
        session.add(UnitAssignment(unit_id=unit_id, connection_id=connection_id, assigned_on=on))


async def for_units(session: AsyncSession, unit_ids: list[int]) -> list[UnitAssignment]:
    rows = await session.scalars(
        select(UnitAssignment)
        .where(UnitAssignment.unit_id.in_(unit_ids))
        .order_by(UnitAssignment.assigned_on, UnitAssignment.id)
    )
    return list(rows)


async def for_connection(session: AsyncSession, connection_id: int) -> list[UnitAssignment]:
    rows = await session.scalars(
        select(UnitAssignment)
        .where(UnitAssignment.connection_id == connection_id)
        .order_by(UnitAssignment.assigned_on, UnitAssignment.id)
    )
    return list(rows)

"""Hardship waivers: requested by one person, approved (or refused) by another.

An approved waiver shows as a negative line on invoices raised afterwards; for periods already
invoiced, approval raises the credit notes in the same transaction."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from arc.auth.models import User
from arc.kit.errors import Conflict, ErrorCode, Forbidden, NotFound, Unprocessable
from arc.registry.models import Connection
from billing.ledger import DraftDocument
from billing.models import Waiver
from billing.periods import overlap
from billing.runs import issue_due_credits
from billing.settings import BillingSettings


async def request_waiver(
    session: AsyncSession, user: User, connection_id: int, start: date, end: date, reason: str, now: datetime
) -> Waiver:
    if end < start:
        raise Unprocessable(f"end_date {end} is before start_date {start}", field="end_date")
    conn = await session.get(Connection, connection_id, with_for_update=True)
    if conn is None:
        raise NotFound("no such connection", field="connection_id")
    if start < conn.install_date:
        raise Unprocessable(
            f"start_date {start} is before the install date {conn.install_date}", field="start_date"
        )
    others = await session.scalars(
        select(Waiver).where(Waiver.connection_id == conn.id, Waiver.status.in_(("requested", "approved")))
    )
    for other in others:
        if overlap(start, end, other.start_date, other.end_date):
            raise Unprocessable(
                f"overlaps waiver {other.id} ({other.start_date} to {other.end_date}, {other.status})",
                field="start_date",
            )
    waiver = Waiver(
        connection_id=conn.id,
        customer_id=conn.customer_id,
        start_date=start,
        end_date=end,
        reason=reason,
        status="requested",
        requested_by_id=user.id,
        requested_at=now,
    )
    session.add(waiver)
    await session.flush()
    return waiver


async def decide_waiver(
    session: AsyncSession,
    user: User,
    waiver_id: int,
    approve: bool,
    now: datetime,
    today: date,
    settings: BillingSettings,
) -> tuple[Waiver, list[DraftDocument]]:
    waiver = await session.get(Waiver, waiver_id, with_for_update=True)
    if waiver is None:
        raise NotFound("no such waiver")
    if waiver.status != "requested":
        raise Conflict(f"waiver {waiver.id} is already {waiver.status}", code=ErrorCode.ALREADY_DECIDED)
    if waiver.requested_by_id == user.id:
        raise Forbidden(
            "a waiver must be decided by someone other than the person who requested it", code=ErrorCode.FOUR_EYES
        )
    waiver.status = "approved" if approve else "rejected"
    waiver.decided_by_id, waiver.decided_at = user.id, now
    await session.flush()
    credits = await issue_due_credits(session, settings, today) if approve else []
    return waiver, credits

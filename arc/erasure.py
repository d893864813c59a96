"""Retention: erase the personal and health data of customers withdrawn longer ago than
``LIFELINE_RETENTION_DAYS``, keeping what finance must keep.

Erasing means: the customer row keeps its id, case reference and connections (the
billing records hang off them) but loses name, date of birth, address, phones,
GP, notes and key-safe information; nominated responders (other people's data)
are deleted; alarms keep their times and codes (KPIs) but lose free text. Other
domains register their own erasers in ``ERASERS`` (call notes, histories...).
The audit log keeps the record that the erasure happened. Idempotent.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from arc.alarms.models import Alarm
from arc.audit.service import record
from arc.auth.service import forget_old_failures
from arc.kit.settings import Settings
from arc.registry.models import Connection, Customer, Responder

Eraser = Callable[[AsyncSession, int], Awaitable[None]]
# other packages append ``async def erase(session, customer_id)`` here for their own tables
ERASERS: list[Eraser] = []

ERASED_FIELDS = {
    "given_name": "Erased",
    "preferred_name": None,
    "date_of_birth": None,
    "address_line1": "(erased)",
    "address_line2": None,
    "town": None,
    "postcode": "-",
    "phone_primary": None,
    "phone_secondary": None,
    "key_safe_ciphertext": None,
    "risk_notes": None,
    "medical_notes": None,
    "gp_name": None,
    "gp_phone": None,
    "language": None,
}


@dataclass
class PurgeReport:
    cutoff: str
    customer_ids: list[int] = field(default_factory=list)
    login_failures_forgotten: int = 0


async def due_for_erasure(session: AsyncSession, now: datetime, settings: Settings) -> tuple[list[int], str]:
    """Customers whose every connection is withdrawn, the last more than the retention period ago."""
    cutoff = (now.astimezone(settings.zone) - timedelta(days=settings.retention_days)).date()
    live = select(Connection.customer_id).where(Connection.status != "withdrawn")
    stmt = (
        select(Connection.customer_id)
        .join(Customer, Customer.id == Connection.customer_id)
        .where(Customer.erased_at.is_(None), Connection.customer_id.not_in(live))
        .group_by(Connection.customer_id)
        .having(func.max(Connection.withdrawn_on) < cutoff)
        .order_by(Connection.customer_id)
    )
    return list((await session.scalars(stmt)).all()), cutoff.isoformat()


async def erase_customer(session: AsyncSession, customer_id: int, now: datetime, actor: str) -> None:
    customer = await session.get(Customer, customer_id)
    if customer is None or customer.erased_at is not None:
        return
    for name, value in ERASED_FIELDS.items():
        setattr(customer, name, value)
    customer.family_name = f"customer {customer.id}"
    customer.erased_at = now
    await session.execute(delete(Responder).where(Responder.customer_id == customer_id))
    await session.execute(
        update(Alarm)
        .where(Alarm.customer_id == customer_id)
        .values(outcome_note=None, caller_ids=[], location_text=None, geo_lat=None, geo_lon=None, geo_at=None)
    )
    for eraser in ERASERS:
        await eraser(session, customer_id)
    await record(
        session,
        actor=actor,
        action="erase",
        object_type="customer",
        object_id=customer_id,
        customer_id=customer_id,
        at=now,
        detail={"policy": "retention"},
    )
    await session.flush()


async def purge(
    session: AsyncSession, now: datetime, settings: Settings, *, dry_run: bool = False, actor: str = "system"
) -> PurgeReport:
    due, cutoff = await due_for_erasure(session, now, settings)
    report = PurgeReport(cutoff=cutoff, customer_ids=due)
    if dry_run:
        return report
    for customer_id in due:
        await erase_customer(session, customer_id, now, actor)
    report.login_failures_forgotten = await forget_old_failures(session, now)
    return report

"""The registry's eraser: the customer row keeps its id, case reference and connections (billing
hangs off them) but loses name, birth date, address, phones, GP, notes and key safe; nominated
responders (other people's data) are deleted; absence and connection notes go."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, func, literal, update
from sqlalchemy.ext.asyncio import AsyncSession

from arc.registry.models import Absence, Connection, Customer, Responder

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
    "communication_needs": None,
}


async def erase(session: AsyncSession, customer_ids: Sequence[int], now: datetime) -> int:
    ids = list(customer_ids)
    if not ids:
        return 0
    changed = await session.execute(
        update(Customer)
        .where(Customer.id.in_(ids), Customer.erased_at.is_(None))
        .values(
            **ERASED_FIELDS,
            family_name=func.concat(literal("customer "), Customer.id),
            erased_at=now,
        )
        .execution_options(synchronize_session=False)
    )
    responders = await session.execute(delete(Responder).where(Responder.customer_id.in_(ids)))
    await session.execute(update(Absence).where(Absence.customer_id.in_(ids)).values(note=None))
    await session.execute(
        update(Connection)
        .where(Connection.customer_id.in_(ids))
        .values(withdrawal_reason=None, review_reason=None)
    )
    await session.flush()
    return changed.rowcount + responders.rowcount

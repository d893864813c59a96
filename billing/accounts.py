"""Billing accounts: one per customer, made on first need; who pays and where the letter goes."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from arc.registry.models import Customer
from billing.models import Account


def account_number(customer_id: int) -> str:
    return f"LL{customer_id:07d}"


async def accounts_for(
    session: AsyncSession, customer_ids: Iterable[int], *, create: bool = True
) -> dict[int, Account]:
    """customer id -> Account, creating the missing ones (customer pays by invoice) unless ``create`` is off."""
    ids = sorted(set(customer_ids))
    if not ids:
        return {}
    if create:
        await session.execute(
            pg_insert(Account)
            .values(
                [
                    {"customer_id": cid, "account_number": account_number(cid), "payment_method": "invoice"}
                    for cid in ids
                ]
            )
            .on_conflict_do_nothing(index_elements=["customer_id"])
        )
    rows = (await session.scalars(select(Account).where(Account.customer_id.in_(ids)))).all()
    return {a.customer_id: a for a in rows}


def payer_of(customer: Customer, account: Account | None) -> tuple[str, str]:
    """(name, address) printed on the document: the payer if someone else pays, else the customer."""
    if account is not None and account.payer_name:
        address = "\n".join(p for p in (account.payer_address, account.payer_postcode) if p)
        return account.payer_name, address
    name = f"{customer.given_name} {customer.family_name}".strip()
    parts = (customer.address_line1, customer.address_line2, customer.town, customer.postcode)
    return name, "\n".join(p for p in parts if p)

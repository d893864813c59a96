"""Tariffs, their effective-dated weekly prices, and which VAT treatment a document gets."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from arc.kit.errors import NotFound, Unprocessable
from billing.models import VAT_TREATMENTS, Account, Tariff, TariffPrice
from billing.periods import Price, check_prices

DEFAULT_TARIFFS = (("standard", "Lifeline monitoring"), ("mobile", "Mobile GPS monitoring"))
DEFAULT_WEEKLY_PENCE = 500
DEFAULT_FROM = date(2026, 4, 1)


@dataclass(frozen=True)
class TariffTerms:
    code: str
    name: str
    vat_treatment: str
    nominal_code: str | None
    prices: tuple[Price, ...]


async def ensure_default_tariffs(session: AsyncSession, since: date = DEFAULT_FROM) -> None:
    """The council's defaults (£5.00 a week, outside the scope of VAT) where no tariff exists."""
    for code, name in DEFAULT_TARIFFS:
        await session.execute(
            pg_insert(Tariff)
            .values(code=code, name=name, vat_treatment="outside_scope")
            .on_conflict_do_nothing()
        )
        tariff_id = await session.scalar(select(Tariff.id).where(Tariff.code == code))
        has_price = await session.scalar(
            select(TariffPrice.id).where(TariffPrice.tariff_id == tariff_id).limit(1)
        )
        if has_price is None:
            session.add(
                TariffPrice(tariff_id=tariff_id, effective_from=since, weekly_pence=DEFAULT_WEEKLY_PENCE)
            )
    await session.flush()


async def load_tariffs(session: AsyncSession) -> dict[str, TariffTerms]:
    tariffs = (await session.scalars(select(Tariff))).all()
    prices = (
        await session.execute(
            select(TariffPrice.tariff_id, TariffPrice.effective_from, TariffPrice.weekly_pence)
        )
    ).all()
    by_tariff: dict[int, list[Price]] = {}
    for tariff_id, effective_from, weekly in prices:
        by_tariff.setdefault(tariff_id, []).append(Price(effective_from, weekly))
    return {
        t.code: TariffTerms(
            t.code, t.name, t.vat_treatment, t.nominal_code, tuple(check_prices(by_tariff.get(t.id, [])))
        )
        for t in tariffs
    }


async def set_price(
    session: AsyncSession, code: str, weekly_pence: int | None, effective_from: date | None
) -> TariffPrice:
    """Add (or replace, if nothing was invoiced with it yet is not checked here) a price from a date."""
    if effective_from is None:
        raise Unprocessable("a price needs an effective_from date", field="effective_from")
    if weekly_pence is None or weekly_pence < 0:
        raise Unprocessable("weekly_pence must be zero or more", field="weekly_pence")
    tariff = await session.scalar(select(Tariff).where(Tariff.code == code))
    if tariff is None:
        raise NotFound(f"no tariff {code!r}", field="code")
    clash = await session.scalar(
        select(TariffPrice.id).where(
            TariffPrice.tariff_id == tariff.id, TariffPrice.effective_from == effective_from
        )
    )
    if clash is not None:
        raise Unprocessable(
            f"tariff {code!r} already has a price from {effective_from}", field="effective_from"
        )
    price = TariffPrice(tariff_id=tariff.id, effective_from=effective_from, weekly_pence=weekly_pence)
    session.add(price)
    await session.flush()
    return price


def document_vat(tariff: TariffTerms, account: Account | None) -> str:
    """The treatment a document states: the customer's, else the tariff's. Zero-rating needs the
    customer's eligibility declaration on file; without it the standard rate applies (and the
    account is on the missing-declarations work-list)."""
    treatment = (account.vat_treatment if account else None) or tariff.vat_treatment
    if treatment not in VAT_TREATMENTS:
        raise ValueError(f"unknown VAT treatment {treatment!r}")
    if treatment == "zero_rated" and (account is None or account.vat_declaration_on is None):
        return "standard"
    return treatment


def vat_rate_bp(treatment: str, standard_bp: int) -> int:
    return standard_bp if treatment == "standard" else 0

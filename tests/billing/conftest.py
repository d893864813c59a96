"""Billing fixtures: the default tariffs, a session maker, settings and registry helpers."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import select

from arc.kit.db import make_sessionmaker
from billing.models import Document, DocumentLine
from billing.settings import BillingSettings
from billing.tariffs import ensure_default_tariffs
from tests.factories import create_connection, create_customer


@pytest.fixture
def billing_settings() -> BillingSettings:
    return BillingSettings(run_batch_size=3)


@pytest.fixture
async def maker(db):
    m = make_sessionmaker(db)
    async with m() as s:
        await ensure_default_tariffs(s, since=date(2020, 1, 1))
        await s.commit()
    return m


def at(day: date, hour: int = 9) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC)


async def add_connection(maker, install: date, *, retained=True, withdrawn_on=None, **customer_fields):
    """A customer with one connection whose review said ``retained`` (or not)."""
    async with maker() as s:
        customer = await create_customer(s, **customer_fields)
        fields = dict(install_date=install, status="active", activated_on=None)
        if retained:
            fields.update(review_outcome="retained", review_recorded_at=at(install), activated_on=install)
        elif retained is False:
            fields.update(
                review_outcome="not_retained",
                review_recorded_at=at(install),
                status="withdrawn",
                withdrawn_on=withdrawn_on or install,
                withdrawal_reason="not_retained",
            )
        if withdrawn_on and retained:
            fields.update(status="withdrawn", withdrawn_on=withdrawn_on, withdrawal_reason="death")
        conn = await create_connection(s, customer, None, **fields)
        await s.commit()
        return conn


async def documents(maker, doc_type: str | None = None) -> list[Document]:
    async with maker() as s:
        stmt = select(Document).order_by(Document.doc_type, Document.number)
        if doc_type:
            stmt = stmt.where(Document.doc_type == doc_type)
        return list((await s.scalars(stmt)).all())


async def lines_of(maker, document_id: int) -> list[DocumentLine]:
    async with maker() as s:
        stmt = (
            select(DocumentLine)
            .where(DocumentLine.document_id == document_id)
            .order_by(DocumentLine.position)
        )
        return list((await s.scalars(stmt)).all())


async def withdraw(maker, connection_id: int, last_day: date, reason: str = "death") -> None:
    """Record a withdrawal as the registry does (last day of service, inclusive)."""
    from sqlalchemy import update

    from arc.registry.models import Connection

    async with maker() as s:
        await s.execute(
            update(Connection)
            .where(Connection.id == connection_id)
            .values(status="withdrawn", withdrawn_on=last_day, withdrawal_reason=reason)
        )
        await s.commit()

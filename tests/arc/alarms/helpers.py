"""Arrangements shared by the alarm-handling, dispatch and KPI tests."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from arc.alarms.events import LiveEvent
from arc.alarms.models import Alarm, AlarmEvent
from arc.registry.models import Customer, Responder
from arc.registry.service import set_key_safe
from arc.registry.units import Unit
from tests.factories import (
    create_alarm,
    create_customer_with_unit,
    create_peripheral,
    create_responder,
)


@dataclass
class Scene:
    customer: Customer
    unit: Unit
    responders: list[Responder]
    alarm: Alarm


async def scene(session: AsyncSession, clock, *, responders: int = 2, **alarm_fields) -> Scene:
    """A customer with a unit, a pendant in the bedroom, ``responders`` nominated responders and
    one queued pendant alarm raised now. Committed, so the app sees it."""
    customer, unit, _ = await create_customer_with_unit(
        session,
        given_name="Edith",
        family_name="Clarke",
        preferred_name="Edie",
        address_line1="4 Hope Street",
        town="Cambridge",
        postcode="CB2 1TN",
        phone_primary="01223 555123",
        risk_notes="Lives alone; dog in the house",
        medical_notes="Atrial fibrillation",
    )
    await create_peripheral(session, unit, did="P1", dty="0003", location_text="bedroom")
    people = [
        await create_responder(
            session,
            customer,
            position=n + 1,
            name=["Rita Daughter", "Sam Neighbour", "Tom Friend"][n],
            holds_key=n == 0,
        )
        for n in range(responders)
    ]
    fields = dict(did="P1", raised_at=clock.now())
    fields.update(alarm_fields)
    alarm = await create_alarm(session, customer=customer, unit=unit, **fields)
    await session.commit()
    return Scene(customer, unit, people, alarm)


async def give_key_safe(app, session: AsyncSession, customer: Customer, text: str) -> None:
    """Store key-safe information the way the registry does (encrypted)."""
    set_key_safe(customer, text, app.state.data_cipher)
    session.add(customer)
    await session.commit()


async def event_types(session: AsyncSession, alarm_id: int) -> list[str]:
    rows = await session.scalars(
        select(AlarmEvent.type).where(AlarmEvent.alarm_id == alarm_id).order_by(AlarmEvent.id)
    )
    return list(rows)


async def live_events(session: AsyncSession, alarm_id: int) -> list[LiveEvent]:
    rows = await session.scalars(
        select(LiveEvent)
        .where(LiveEvent.alarm_id == alarm_id)
        .order_by(LiveEvent.id)
        .execution_options(populate_existing=True)
    )
    return list(rows)


async def fresh(session: AsyncSession, model, ident):
    """The committed row as it is now (not this session's cached copy)."""
    return await session.get(model, ident, populate_existing=True)

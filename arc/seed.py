"""Demo data: a handful of customers with units, peripherals and responders.

Fictional people and addresses only. Idempotent: units already present are
left alone, so a second ``lifeline demo`` does not duplicate anything.
"""

from __future__ import annotations

import sys
from datetime import date, datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from arc.auth.models import User
from arc.auth.service import create_user, generate_password
from arc.kit.crypto import DataCipher
from arc.kit.settings import Settings
from arc.registry.models import Connection, Customer, Responder
from arc.registry.service import set_key_safe
from arc.registry.units import Peripheral, Unit

DEMO_CID_BASE = 4401000

_PEOPLE = [
    (
        "Margaret",
        "Whitfield",
        "12 Orchard Row",
        "CB1 2AB",
        date(1938, 4, 2),
        "Type 2 diabetes; uses a walking frame",
    ),
    ("Arthur", "Penrose", "3 Mill Lane", "CB4 1XY", date(1941, 9, 17), "Heart failure; falls history"),
    (
        "Dorothy",
        "Okafor",
        "Flat 5, Kings Court",
        "CB2 8PQ",
        date(1935, 1, 28),
        "Early dementia; may wander at night",
    ),
    ("Harold", "Baines", "27 Station Road", "CB3 9LM", date(1944, 12, 5), "COPD, home oxygen"),
    ("Iris", "Mendoza", "8 Willow Close", "CB5 6RT", date(1950, 6, 11), "Epilepsy"),
    ("Stanley", "Kowalski", "41 Hills Avenue", "CB1 7JN", date(1939, 3, 22), "Parkinson's disease"),
]

_PERIPHERALS = [
    ("P1", "0003", "worn on wrist"),
    ("F1", "0005", "worn on belt"),
    ("S1", "0023", "hallway ceiling"),
    ("C1", "0004", "bathroom pull-cord"),
]


DEMO_USERS = [
    ("admin", "admin", "Demo Admin"),
    ("supervisor", "supervisor", "Demo Supervisor"),
    ("operator", "operator", "Demo Operator"),
    ("tec", "tec", "Demo TEC Officer"),
    ("finance", "finance", "Demo Finance"),
    ("ers", "ers", "Demo ERS Responder"),
]


def _shared_password() -> str:
    """One generated password for every demo user: it must contain none of their usernames
    (the password rule refuses a password that holds the username)."""
    while True:
        password = generate_password()
        if not any(username in password.lower() for username, _, _ in DEMO_USERS):
            return password


async def seed_demo_users(
    session: AsyncSession, settings: Settings, now: datetime
) -> list[tuple[str, str, str | None]]:
    """Create the demo users that do not exist yet; return (username, role, password) for those made.

    The password is ``LIFELINE_DEMO_PASSWORD`` when set (then not returned), otherwise generated and
    returned so it can be printed once: there is no fixed password in the repository.
    """
    chosen = settings.demo_password.get_secret_value() if settings.demo_password else None
    password = chosen or _shared_password()
    made = []
    for username, role, full_name in DEMO_USERS:
        exists = await session.scalar(select(User.id).where(func.lower(User.username) == username))
        if exists is None:
            await create_user(
                session, username=username, full_name=full_name, role=role, password=password, now=now
            )
            made.append((username, role, None if chosen else password))
    return made


def print_demo_users(made: list[tuple[str, str, str | None]], settings: Settings) -> None:
    """Shown once on the terminal (never logged): the sign-in for each new demo user."""
    if not made:
        return
    url = f"http://{settings.host}:{settings.port}/login"
    print(f"\nDemo users created — sign in at {url}", file=sys.stderr)
    for username, role, password in made:
        shown = password if password else "(LIFELINE_DEMO_PASSWORD)"
        print(f"  {username:<11} role {role:<10} password {shown}", file=sys.stderr)
    print("This password is shown only now.\n", file=sys.stderr)


def demo_cids() -> list[str]:
    """The demo units' cids, in the order of the demo's people."""
    return [str(DEMO_CID_BASE + index + 1) for index in range(len(_PEOPLE))]


async def seed_demo(session: AsyncSession, install_date: date, cipher: DataCipher | None = None) -> int:
    """Create the demo registry; return how many customers were added."""
    added = 0
    for index, (given, family, street, postcode, born, medical) in enumerate(_PEOPLE):
        cid = str(DEMO_CID_BASE + index + 1)
        if await session.scalar(select(Unit.id).where(Unit.cid == cid)) is not None:
            continue
        unit = Unit(
            cid=cid, model="DemoHub 4G", firmware="2.3.1", heartbeat_interval_minutes=60, is_mobile=index == 5
        )
        session.add(unit)
        customer = Customer(
            case_ref=f"DEMO-{index + 1:04d}",
            given_name=given,
            family_name=family,
            address_line1=street,
            town="Cambridge",
            postcode=postcode,
            date_of_birth=born,
            phone_primary=f"01223 49{index:04d}",
            medical_notes=medical,
            risk_notes="Lives alone" if index % 2 == 0 else None,
            gp_name="Mill Road Surgery",
        )
        session.add(customer)
        await session.flush()
        if cipher is not None:
            set_key_safe(customer, f"Key safe by back door, code {1000 + index * 7}", cipher)
        for did, dty, where in _PERIPHERALS[: 2 + index % 3]:
            session.add(Peripheral(unit_id=unit.id, did=did, dty=dty, location_text=where))
        session.add(
            Responder(
                customer_id=customer.id,
                position=1,
                name=f"{given[0]}. {family} (daughter)",
                relationship_to_customer="daughter",
                phone_primary=f"07700 900{index:03d}",
                holds_key=True,
            )
        )
        session.add(
            Responder(
                customer_id=customer.id,
                position=2,
                name="Neighbour at no. 14",
                relationship_to_customer="neighbour",
                phone_primary=f"07700 901{index:03d}",
            )
        )
        session.add(
            Connection(
                customer_id=customer.id,
                unit_id=unit.id,
                install_date=install_date,
                status="active",
                activated_on=install_date,
            )
        )
        added += 1
    await session.flush()
    return added

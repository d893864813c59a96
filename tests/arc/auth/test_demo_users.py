"""The demo's users: no fixed password in the repository; a generated one is shown once."""

from __future__ import annotations

from datetime import date

from pydantic import SecretStr
from sqlalchemy import select

from arc.auth.models import User
from arc.registry.models import Customer
from arc.registry.service import read_key_safe
from arc.seed import print_demo_users, seed_demo, seed_demo_users


async def test_demo_users_get_a_generated_password_printed_once(
    session, settings, clock, capsys, anon_client
):
    made = await seed_demo_users(session, settings, now=clock.now())
    await session.commit()
    assert {(u, r) for u, r, _ in made} == {
        ("admin", "admin"),
        ("supervisor", "supervisor"),
        ("operator", "operator"),
        ("tec", "tec"),
        ("finance", "finance"),
        ("ers", "ers"),  # every role has a demo user
    }
    password = made[0][2]
    assert {p for _, _, p in made} == {password}, "one password for all, shown once"
    assert password and len(password) >= 16
    print_demo_users(made, settings)
    assert password in capsys.readouterr().err
    login = await anon_client.post("/auth/login", json={"username": "operator", "password": password})
    assert login.status_code == 200
    assert await seed_demo_users(session, settings, now=clock.now()) == []  # never shown again


async def test_demo_password_can_come_from_the_environment(session, settings, clock, capsys):
    chosen = settings.model_copy(update={"demo_password": SecretStr("a demo passphrase from env")})
    made = await seed_demo_users(session, chosen, now=clock.now())
    assert all(password is None for _, _, password in made)
    print_demo_users(made, chosen)
    assert "a demo passphrase" not in capsys.readouterr().err


async def test_demo_customers_key_safe_codes_are_encrypted(session, app):
    await seed_demo(session, install_date=date(2026, 1, 5), cipher=app.state.data_cipher)
    customer = await session.scalar(select(Customer).order_by(Customer.id).limit(1))
    assert "code" not in customer.key_safe_ciphertext
    assert read_key_safe(customer, app.state.data_cipher).startswith("Key safe by back door")
    assert await session.scalar(select(User.id).limit(1)) is None  # seeding customers makes no users

"""Signing in: lockout, rate limit by address, token and session expiry, CSRF, password change."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import select

from arc.auth.models import AuthSession
from tests.factories import create_user

PASSWORD = "a long enough password"
CUSTOMER = {"given_name": "A", "family_name": "B", "address_line1": "1 C St", "postcode": "CB1 1AA"}


async def _login(client: httpx.AsyncClient, username: str, password: str = PASSWORD, kind: str = "browser"):
    return await client.post("/auth/login", json={"username": username, "password": password, "kind": kind})


def _client_from(app, ip: str) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, client=(ip, 40000))
    return httpx.AsyncClient(transport=transport, base_url="http://testserver")


async def test_lockout_after_five_failures_lifts_after_fifteen_minutes(anon_client, session, clock):
    await create_user(session, username="olly", password=PASSWORD)
    await session.commit()
    for _ in range(5):
        assert (await _login(anon_client, "olly", "guess")).status_code == 401
    locked = await _login(anon_client, "olly")  # the right password, but locked: the same answer
    assert locked.status_code == 401 and locked.json()["detail"] == "wrong username or password"
    clock.advance(minutes=14)
    assert (await _login(anon_client, "olly")).status_code == 401
    clock.advance(minutes=2)
    assert (await _login(anon_client, "olly")).status_code == 200


async def test_unknown_user_and_wrong_password_get_the_same_answer(anon_client, session):
    await create_user(session, username="real", password=PASSWORD)
    await session.commit()
    unknown = await _login(anon_client, "nobody", "whatever")
    wrong = await _login(anon_client, "real", "whatever")
    assert unknown.status_code == wrong.status_code == 401
    assert unknown.json() == wrong.json()


async def test_one_address_guessing_many_accounts_is_rate_limited(app, session, settings, clock):
    for n in range(3):
        await create_user(session, username=f"victim{n}", password=PASSWORD)
    await create_user(session, username="colleague", password=PASSWORD)
    await session.commit()
    attacker = _client_from(app, "203.0.113.9")
    office = _client_from(app, "198.51.100.7")
    async with attacker, office:
        for attempt in range(settings.login_ip_max_failures):
            # spread over accounts so no single account reaches its own lockout
            answer = await _login(attacker, f"victim{attempt % 3}", f"guess-{attempt}")
            assert answer.status_code == 401
        blocked = await _login(attacker, "colleague")  # even the right password
        assert blocked.status_code == 429 and blocked.json()["error"] == "rate_limited"
        assert (await _login(office, "colleague")).status_code == 200  # other addresses unaffected
        clock.advance(minutes=settings.login_ip_window_minutes + 1)
        assert (await _login(attacker, "colleague")).status_code == 200


async def test_api_token_expires_after_the_configured_days(anon_client, session, clock, settings):
    await create_user(session, role="tec", username="tess", password=PASSWORD)
    await session.commit()
    token = (await _login(anon_client, "tess", kind="api")).json()["token"]
    headers = {"Authorization": f"Bearer {token}"}
    assert (await anon_client.get("/api/units", headers=headers)).status_code == 200
    clock.advance(days=settings.api_token_days, seconds=-60)
    assert (await anon_client.get("/api/units", headers=headers)).status_code == 200
    clock.advance(seconds=61)
    expired = await anon_client.get("/api/units", headers=headers)
    assert expired.status_code == 401 and "expired" in expired.json()["detail"]


async def test_browser_session_expires_after_the_configured_hours(anon_client, session, clock, settings):
    await create_user(session, role="tec", username="tom", password=PASSWORD)
    await session.commit()
    assert (await _login(anon_client, "tom")).status_code == 200
    assert (await anon_client.get("/auth/me")).status_code == 200
    clock.advance(hours=settings.browser_session_hours, seconds=1)
    assert (await anon_client.get("/auth/me")).status_code == 401


async def test_cookie_session_needs_the_csrf_token_for_changes(anon_client, session):
    await create_user(session, role="operator", username="cara", password=PASSWORD)
    await session.commit()
    csrf = (await _login(anon_client, "cara")).json()["csrf_token"]
    missing = await anon_client.post("/api/customers", json=CUSTOMER)
    wrong = await anon_client.post("/api/customers", json=CUSTOMER, headers={"X-CSRF-Token": "forged"})
    assert missing.status_code == wrong.status_code == 403
    assert missing.json()["error"] == wrong.json()["error"] == "csrf"
    assert (await anon_client.get("/api/customers")).json()["total"] == 0  # nothing was written
    ok = await anon_client.post("/api/customers", json=CUSTOMER, headers={"X-CSRF-Token": csrf})
    assert ok.status_code == 201


async def test_session_cookie_is_httponly_samesite_strict_and_secure_over_https(app, session):
    await create_user(session, username="sam", password=PASSWORD)
    await session.commit()
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="https://arc.example") as tls:
        cookie = (await _login(tls, "sam")).headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie and "secure" in cookie


async def test_deactivated_users_tokens_stop_working(client_as, session):
    tec = await client_as("tec")
    assert (await tec.get("/api/units")).status_code == 200
    tec.user.is_active = False
    await session.merge(tec.user)
    await session.commit()
    assert (await tec.get("/api/units")).status_code == 401


async def test_password_change_needs_the_current_password_and_signs_out_other_sessions(
    app, anon_client, session
):
    await create_user(session, role="tec", username="pat", password=PASSWORD)
    await session.commit()
    laptop = await _login(anon_client, "pat")
    csrf = laptop.json()["csrf_token"]
    phone_token = (await _login(anon_client, "pat", kind="api")).json()["token"]
    phone = {"Authorization": f"Bearer {phone_token}"}
    assert (await anon_client.get("/auth/me", headers=phone)).status_code == 200

    def change(current: str, new: str):
        return anon_client.post(
            "/auth/password",
            json={"current_password": current, "new_password": new},
            headers={"X-CSRF-Token": csrf},
        )

    wrong = await change("not my password", "a brand new passphrase")
    assert wrong.status_code == 401 and wrong.json()["error"] == "wrong_password"
    short = await change(PASSWORD, "short")
    assert short.status_code == 422 and "12 characters" in short.json()["detail"]
    with_name = await change(PASSWORD, "pat-is-my-long-password")
    assert with_name.status_code == 422
    assert (await change(PASSWORD, "a brand new passphrase")).status_code == 204

    assert (await anon_client.get("/auth/me")).status_code == 200  # this session stays
    assert (await anon_client.get("/auth/me", headers=phone)).status_code == 401  # the others are gone
    assert (await _login(anon_client, "pat")).status_code == 401
    assert (await _login(anon_client, "pat", "a brand new passphrase")).status_code == 200


async def test_logout_revokes_the_token(client_as, session):
    tec = await client_as("tec")
    assert (await tec.post("/auth/logout")).status_code == 204
    assert (await tec.get("/auth/me")).status_code == 401
    rows = (await session.scalars(select(AuthSession).where(AuthSession.user_id == tec.user.id))).all()
    assert all(row.revoked_at is not None for row in rows)


@pytest.mark.parametrize("body", [{"username": "x"}, {"username": "x", "password": "y", "role": "admin"}])
async def test_malformed_login_is_422(anon_client, body):
    assert (await anon_client.post("/auth/login", json=body)).status_code == 422

"""Signing in and the basic gate every protected route sits behind."""

from __future__ import annotations

from tests.factories import create_user


async def test_registry_refuses_anonymous_callers(anon_client):
    response = await anon_client.get("/api/customers")
    assert response.status_code == 401
    assert response.json()["error"] == "unauthorized"


async def test_finance_cannot_read_the_registry(client_as):
    finance = await client_as("finance")
    response = await finance.get("/api/customers")
    assert response.status_code == 403


async def test_browser_login_sets_httponly_cookie_and_needs_csrf_for_changes(anon_client, session):
    await create_user(session, role="tec", username="tina", password="a long enough password")
    await session.commit()
    login = await anon_client.post(
        "/auth/login", json={"username": "tina", "password": "a long enough password"}
    )
    assert login.status_code == 200, login.text
    cookie_header = login.headers["set-cookie"].lower()
    assert "httponly" in cookie_header and "samesite=strict" in cookie_header
    csrf = login.json()["csrf_token"]

    assert (await anon_client.get("/api/customers")).status_code == 200  # cookie is enough to read
    body = {"given_name": "A", "family_name": "B", "address_line1": "1 C St", "postcode": "CB1 1AA"}
    refused = await anon_client.post("/api/customers", json=body)
    assert refused.status_code == 403 and refused.json()["error"] == "csrf"
    allowed = await anon_client.post("/api/customers", json=body, headers={"X-CSRF-Token": csrf})
    assert allowed.status_code == 201

    assert (await anon_client.post("/auth/logout", headers={"X-CSRF-Token": csrf})).status_code == 204
    assert (await anon_client.get("/api/customers")).status_code == 401


async def test_wrong_password_five_times_locks_the_account(anon_client, session):
    await create_user(session, username="olly", password="the right password")
    await session.commit()
    for _ in range(5):
        bad = await anon_client.post("/auth/login", json={"username": "olly", "password": "guess"})
        assert bad.status_code == 401
    locked = await anon_client.post(
        "/auth/login", json={"username": "olly", "password": "the right password"}
    )
    assert locked.status_code == 401
    assert locked.json()["error"] == "unauthorized"  # not "locked": the same answer as any failure


async def test_api_token_expires(client_as, clock):
    tec = await client_as("tec")
    assert (await tec.get("/api/units")).status_code == 200
    clock.advance(days=31)
    assert (await tec.get("/api/units")).status_code == 401

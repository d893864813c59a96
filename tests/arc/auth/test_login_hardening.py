"""Log-in answers that give nothing away, and guessing that is always counted (issue 11, items 2,
8, 9, 10): every failed log-in costs one password hash and gets the same answer; a wrong current
password counts towards the lockout; an odd client address is cut, never a reason to skip counting;
a non-ASCII CSRF token is a 403, not a 500."""

from __future__ import annotations

import httpx
from sqlalchemy import func, select

import arc.auth.service as auth_service
from arc.auth.models import LoginFailure
from tests.factories import create_user

PASSWORD = "a long enough password"


async def _login(client: httpx.AsyncClient, username: str, password: str = PASSWORD):
    return await client.post("/auth/login", json={"username": username, "password": password})


async def test_every_failed_log_in_hashes_once_and_answers_the_same(anon_client, session, clock, monkeypatch):
    await create_user(session, username="wrongpw", password=PASSWORD)
    await create_user(session, username="gone", password=PASSWORD, is_active=False)
    await create_user(
        session, username="held", password=PASSWORD, locked_until=clock.now().replace(year=2099)
    )
    await create_user(session, username="ssoonly", password_hash=None, oidc_issuer="i", oidc_subject="s")
    await session.commit()
    hashed: list[str] = []
    real = auth_service.verify_password

    def counting(password_hash, password):
        hashed.append(password)
        return real(password_hash, password)

    monkeypatch.setattr(auth_service, "verify_password", counting)
    answers = {}
    for username, password in [
        ("nobody", PASSWORD),
        ("wrongpw", "not the password"),
        ("gone", PASSWORD),  # deactivated, right password
        ("held", PASSWORD),  # locked, right password
        ("ssoonly", PASSWORD),
    ]:
        hashed.clear()
        answer = await _login(anon_client, username, password)
        answers[username] = (answer.status_code, answer.json())
        assert hashed == [password], f"{username}: the password hash ran {len(hashed)} times"
    assert len(set(map(str, answers.values()))) == 1, answers
    assert answers["held"] == (401, {"error": "unauthorized", "detail": "wrong username or password"})


async def test_a_wrong_current_password_counts_towards_the_lockout(anon_client, session, settings):
    await create_user(session, role="tec", username="pat", password=PASSWORD)
    await session.commit()
    csrf = (await _login(anon_client, "pat")).json()["csrf_token"]

    def change(current: str):
        return anon_client.post(
            "/auth/password",
            json={"current_password": current, "new_password": "a brand new passphrase"},
            headers={"X-CSRF-Token": csrf},
        )

    for n in range(settings.login_max_failures):
        wrong = await change(f"guess number {n}")
        assert wrong.status_code == 401 and wrong.json()["error"] == "wrong_password"
    refused = await change(PASSWORD)  # locked now: even the right one is refused
    assert refused.status_code == 401
    assert (await _login(anon_client, "pat")).status_code == 401
    failures = await session.scalar(select(func.count()).select_from(LoginFailure))
    assert failures >= settings.login_max_failures


async def test_a_non_ascii_csrf_token_is_refused_not_a_server_error(anon_client, session):
    await create_user(session, role="operator", username="cara", password=PASSWORD)
    await session.commit()
    assert (await _login(anon_client, "cara")).status_code == 200
    sent = await anon_client.post("/auth/logout", headers={"X-CSRF-Token": "tök€n".encode()})
    assert sent.status_code == 403 and sent.json()["error"] == "csrf"
    assert (await anon_client.get("/auth/me")).status_code == 200  # still signed in


async def test_an_over_long_client_address_is_cut_and_still_counted(app, session, settings):
    await create_user(session, username="victim", password=PASSWORD)
    await session.commit()
    odd = "203.0.113.9, " + "x" * 80  # what a forged X-Forwarded-For could make the address
    transport = httpx.ASGITransport(app=app, client=(odd, 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as attacker:
        for n in range(settings.login_ip_max_failures):
            assert (await _login(attacker, "victim", f"guess {n}")).status_code == 401
        assert (await _login(attacker, "victim", "one more guess")).status_code == 429
    stored = set(await session.scalars(select(LoginFailure.client_ip)))
    assert stored == {odd[:64]}

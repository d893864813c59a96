"""`lifeline serve` believes X-Forwarded-For only from LIFELINE_FORWARDED_ALLOW_IPS (empty by
default), so a client on the host cannot forge its audited address or dodge the per-address
log-in limit (issue 11, item 2). Served by uvicorn for real, as `lifeline serve` configures it."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import select

from arc.auth.models import LoginFailure
from tests.factories import create_user


@pytest.fixture
def settings(settings, request):
    return settings.model_copy(update={"forwarded_allow_ips": getattr(request, "param", "")})


async def _failed_login_from(live_server, session, forwarded: str) -> tuple[int, str]:
    await create_user(session, username="victim", password="the right password")
    await session.commit()
    async with httpx.AsyncClient(base_url=live_server.url) as web:
        answer = await web.post(
            "/auth/login",
            json={"username": "victim", "password": "a guess"},
            headers={"X-Forwarded-For": forwarded},
        )
    return answer.status_code, await session.scalar(select(LoginFailure.client_ip))


async def test_forwarded_for_is_ignored_unless_a_proxy_is_configured(live_server, session):
    assert await _failed_login_from(live_server, session, "198.51.100.23") == (401, "127.0.0.1")


@pytest.mark.parametrize("settings", ["127.0.0.1"], indirect=True)
async def test_a_configured_proxy_is_believed_and_an_over_long_address_is_cut(live_server, session):
    status, stored = await _failed_login_from(live_server, session, "9" * 80)
    assert status == 401 and stored == "9" * 64  # counted, not a 422 that skips the count

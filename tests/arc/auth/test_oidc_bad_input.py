"""Garbled single sign-on returns are refused as a sign-in problem (401), never a 500.

``hmac.compare_digest`` raises TypeError on non-ASCII text, so a state parameter or a flow cookie
with an accented or Latin-1 character used to crash the callback.
"""

from __future__ import annotations

import httpx

from tests.arc.auth.test_oidc import _start, issuer, settings  # noqa: F401  (fixtures: SSO configured)


async def test_non_ascii_state_is_refused_as_a_wrong_state(anon_client, issuer):  # noqa: F811
    back = issuer.sign_in(await _start(anon_client))
    garbled = back.split("&state=")[0] + "&state=%C3%A9t%C3%A9"
    refused = await anon_client.get(f"/auth/oidc/callback?{garbled}")
    assert refused.status_code == 401, refused.text
    assert refused.json()["error"] == "sso_state"


async def test_flow_cookie_with_a_non_ascii_signature_is_refused_as_a_wrong_state(app, issuer):  # noqa: F811
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        refused = await c.get(
            "/auth/oidc/callback?code=abc&state=xyz", headers={"Cookie": b"lifeline_oidc=e30.\xb2\xe9"}
        )
    assert refused.status_code == 401, refused.text
    assert refused.json()["error"] == "sso_state"

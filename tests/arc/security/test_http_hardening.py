"""Security headers, strict CORS and the request size limit."""

from __future__ import annotations

import httpx
import pytest
from pydantic import ValidationError

from arc.app import create_app
from arc.kit.settings import Settings

EVIL = "https://evil.example"


async def test_every_response_carries_the_security_headers(anon_client, client):
    for response in (
        await anon_client.get("/healthz"),
        await client.get("/api/units"),
        await anon_client.get("/nope"),
    ):
        headers = response.headers
        assert headers["x-content-type-options"] == "nosniff"
        assert headers["x-frame-options"] == "DENY"
        assert headers["referrer-policy"] == "no-referrer"
        assert "frame-ancestors 'none'" in headers["content-security-policy"]
        assert "script-src 'self'" in headers["content-security-policy"]
    api = await client.get("/api/units")
    assert api.headers["cache-control"] == "no-store"
    assert "strict-transport-security" not in api.headers  # plain HTTP in a test


async def test_https_requests_get_hsts(app):
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="https://arc.example") as tls:
        response = await tls.get("/healthz")
    assert response.headers["strict-transport-security"].startswith("max-age=")


async def test_cross_origin_reads_are_not_allowed_by_default(client):
    response = await client.get("/api/units", headers={"Origin": EVIL})
    assert "access-control-allow-origin" not in response.headers
    preflight = await client.options(
        "/api/units", headers={"Origin": EVIL, "Access-Control-Request-Method": "POST"}
    )
    assert "access-control-allow-origin" not in preflight.headers


async def test_configured_origins_are_allowed_exactly(settings, clock):
    allowed = "https://portal.council.example"
    app = create_app(settings.model_copy(update={"cors_origins": [allowed]}), clock=clock)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
            ok = await c.options(
                "/api/units", headers={"Origin": allowed, "Access-Control-Request-Method": "GET"}
            )
            assert ok.headers["access-control-allow-origin"] == allowed
            assert ok.headers["access-control-allow-credentials"] == "true"
            other = await c.options(
                "/api/units", headers={"Origin": EVIL, "Access-Control-Request-Method": "GET"}
            )
            assert "access-control-allow-origin" not in other.headers


@pytest.mark.parametrize("origin", ["*", "https://*.council.example", "portal.council.example"])
def test_wildcard_or_malformed_cors_origins_are_refused(origin):
    with pytest.raises(ValidationError, match="CORS origin"):
        Settings(cors_origins=[origin])


async def test_a_body_over_the_limit_is_refused_with_413_and_a_reason(client, settings):
    big = b'{"given_name": "' + b"x" * settings.max_request_bytes + b'"}'
    response = await client.post("/api/customers", content=big, headers={"content-type": "application/json"})
    assert response.status_code == 413
    assert response.json()["error"] == "too_large"
    assert str(settings.max_request_bytes) in response.json()["detail"]
    assert response.headers["x-content-type-options"] == "nosniff"
    assert (await client.get("/api/customers")).json()["total"] == 0


async def test_a_streamed_body_without_length_is_cut_off_at_the_limit(client, settings):
    async def chunks():
        for _ in range(settings.max_request_bytes // 65536 + 2):
            yield b"x" * 65536

    response = await client.post(
        "/api/customers", content=chunks(), headers={"content-type": "application/json"}
    )
    assert response.status_code == 413 and response.json()["error"] == "too_large"


async def test_a_body_under_the_limit_passes(client):
    body = {"given_name": "A", "family_name": "B", "address_line1": "1 C St", "postcode": "CB1 1AA"}
    assert (await client.post("/api/customers", json=body)).status_code == 201

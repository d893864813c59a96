"""/docs and /redoc work offline: their scripts come from our own origin, not a CDN."""

from __future__ import annotations

import pytest
from playwright.async_api import expect

from tests.web.conftest import WAIT

pytestmark = pytest.mark.asyncio
MS = WAIT * 1000


async def test_docs_pages_name_no_other_host_and_their_assets_are_served(anon_client):
    for path in ("/docs", "/redoc"):
        page = await anon_client.get(path)
        assert page.status_code == 200
        assert "cdn." not in page.text and "https://" not in page.text.replace("https://fastapi", "")
        assert "cdn" not in page.headers["content-security-policy"]
    for asset in ("swagger-ui-bundle.js", "swagger-ui.css", "redoc.standalone.js"):
        answer = await anon_client.get(f"/docs-assets/{asset}")
        assert answer.status_code == 200 and len(answer.content) > 10_000, asset


async def test_swagger_ui_renders_the_api_in_a_browser_with_no_network(browser, live_server):
    context = await browser.new_context(base_url=live_server.url)
    page = await context.new_page()
    outside: list[str] = []
    page.on(
        "request",
        lambda r: (
            outside.append(r.url)
            if r.url.startswith("http") and not r.url.startswith(live_server.url)
            else None
        ),
    )
    try:
        await page.goto("/docs")
        await expect(page.locator(".swagger-ui .title")).to_contain_text("Lifeline ARC", timeout=MS)
        await expect(page.locator(".opblock").first).to_be_visible(timeout=MS)
        await page.goto("/redoc")
        await expect(page.locator("h1").first).to_contain_text("Lifeline ARC", timeout=MS)
    finally:
        await context.close()
    # ReDoc's bundle names its own "powered by" logo on its CDN: decorative, refused by our CSP
    # (img-src 'self'), and the page is whole without it. Nothing else leaves this host.
    assert [u for u in outside if not u.endswith("/redoc/logo-mini.svg")] == []

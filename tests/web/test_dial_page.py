"""The operator's card in a real browser when the click-to-dial gateway refuses the call: within
seconds the card says so next to the number to dial by hand, and the log says it in words."""

from __future__ import annotations

import pytest
from playwright.async_api import expect

from arc.dispatch.dial import WebhookDialer
from arc.jobs import run_jobs_now
from tests.arc.alarms.helpers import scene
from tests.arc.dispatch.test_dial_gateway import refusing_gateway  # noqa: F401 - the fixture
from tests.factories import create_user
from tests.web.conftest import WAIT, log_in

pytestmark = pytest.mark.asyncio
MS = WAIT * 1000


async def test_the_card_tells_the_operator_to_dial_by_hand_when_the_gateway_refuses(
    browser, live_server, session, clock, refusing_gateway  # noqa: F811
):
    url, bodies = refusing_gateway
    live_server.app.state.dialer = WebhookDialer(url, "dial-gateway-shared-secret-for-tests", timeout=2)
    await scene(session, clock)
    operator = await create_user(session, role="operator", full_name="Olive Operator")
    await session.commit()
    context, page = await log_in(browser, live_server.url, operator.username)
    try:
        await expect(page.locator("#connection")).to_have_text("Live", timeout=MS)
        await page.locator("#queue-list li.alarm").filter(has_text="Edith Clarke").get_by_role("button").click()
        await page.get_by_role("button", name="Accept").click()
        card = page.locator("#card")
        await expect(page.get_by_test_id("holder")).to_have_text("You hold this alarm", timeout=MS)
        await page.get_by_label("Called").select_option(label="Edith Clarke — 01223 555123")
        await page.get_by_role("button", name="Call", exact=True).click()
        await expect(page.locator("#messages")).to_contain_text("ringing the call through", timeout=MS)
        await expect(card.get_by_test_id("dial-failed")).to_have_count(0)

        await run_jobs_now(live_server.app)  # the worker's try at the gateway: 503
        assert len(bodies) == 1
        notice = card.get_by_test_id("dial-failed")
        await expect(notice).to_contain_text(
            "The dial gateway did not take the call — dial 01223 555123 by hand", timeout=MS
        )
        await expect(notice.locator('a[href="tel:01223555123"]')).to_have_count(1)
        await expect(card.locator(".log")).to_contain_text(
            "The dial gateway did not take the call: the person — dial 01223 555123 by hand "
            "(the phone system refused it (HTTP 503))"
        )
        assert "dial_failed" not in await card.locator(".log").inner_text()

        # calling again clears the notice until the gateway answers again
        await page.get_by_role("button", name="Call", exact=True).click()
        await expect(notice).to_have_count(0, timeout=MS)
    finally:
        await context.close()
    assert context.page_errors == []

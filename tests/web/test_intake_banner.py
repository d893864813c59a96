"""The red "not receiving" banner comes from the page itself when the service cannot answer.

The served app reaches PostgreSQL through a proxy the test controls. When the database goes
away (connections refused) or hangs (nothing answers), `/api/live/status` cannot say "receiving",
and the dashboard must show the banner within 5 s — and take it down when the database is back.
"""

from __future__ import annotations

import pytest
from playwright.async_api import expect

from tests.factories import create_user
from tests.faults.proxy import database_proxy
from tests.web.conftest import WAIT, log_in

pytestmark = pytest.mark.asyncio

BANNER_WITHIN_MS = 5_000  # the promise to operators


@pytest.fixture
async def proxied(database_url):
    proxy, url = await database_proxy(database_url)
    yield proxy, url
    await proxy.stop()


@pytest.fixture
def settings(settings, proxied):
    return settings.model_copy(update={"database_url": proxied[1]})


@pytest.mark.parametrize("fault", ["refused", "hung"])
async def test_dashboard_shows_not_receiving_within_5_s_when_the_database_is_away(
    browser, live_server, session, proxied, fault
):
    proxy = proxied[0]
    operator = await create_user(session, role="operator", full_name="Olive Operator")
    await session.commit()
    context, page = await log_in(browser, live_server.url, operator.username)
    try:
        await expect(page).to_have_url(f"{live_server.url}/dashboard", timeout=WAIT * 1000)
        banner = page.locator("#intake")
        await expect(page.locator("#connection")).to_have_text("Live", timeout=WAIT * 1000)
        await page.wait_for_timeout(2_500)  # a status check has come back "receiving"
        await expect(banner).to_be_hidden()

        if fault == "refused":
            await proxy.cut()
        else:
            proxy.freeze()
        await expect(banner).to_be_visible(timeout=BANNER_WITHIN_MS)
        await expect(banner).to_contain_text("NOT RECEIVING ALARMS")

        await proxy.restore()
        await expect(banner).to_be_hidden(timeout=WAIT * 1000)
    finally:
        await context.close()
    assert context.page_errors == []

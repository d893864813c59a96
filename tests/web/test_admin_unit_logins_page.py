"""The admin page's units in a real browser, on a real Mosquitto with the dynamic security plugin:
provision a unit (its secret shown once, copied with the button, and it logs in), revoke it (asked
twice) and it is refused; the list says which units can log in and since when."""

from __future__ import annotations

import os

import aiomqtt
import pytest
from playwright.async_api import expect

from arc.registry.broker_logins import DynsecLogins
from tests.devices.test_credentials import _client
from tests.devices.test_dynsec import dynsec_broker  # noqa: F401 - the fixture
from tests.factories import create_unit, create_user
from tests.web.axe import serious_violations
from tests.web.conftest import DOCS, WAIT, log_in

pytestmark = pytest.mark.asyncio
MS = WAIT * 1000


async def test_admin_provisions_a_unit_copies_its_secret_once_and_revokes_it(
    browser,
    live_server,
    session,
    dynsec_broker,  # noqa: F811
):
    live_server.app.state.broker_logins = DynsecLogins(dynsec_broker["settings"])
    await create_unit(session, cid="4403001", model="Hub 4")
    await create_unit(session, cid="4403002", model="Hub 4")
    admin = await create_user(session, role="admin", full_name="Ada Admin")
    await session.commit()
    context, page = await log_in(browser, live_server.url, admin.username)
    await context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server.url)
    try:
        await expect(page).to_have_url(f"{live_server.url}/admin", timeout=MS)
        await expect(page.locator("#h-units")).to_contain_text("Units and their logins")
        await expect(page.locator("#unit-logins-where")).to_contain_text("at once")
        row = page.locator("#unit-logins-table tr[data-cid='4403001']")
        await expect(row.locator(".login-state")).to_have_text("Never given", timeout=MS)

        await row.get_by_role("button", name="Provision").click()
        secret_box = page.get_by_test_id("unit-secret")
        await expect(secret_box).to_be_visible(timeout=MS)
        secret = await secret_box.inner_text()
        assert len(secret) >= 32
        await expect(page.locator("#unit-secret")).to_contain_text("Shown only now")
        await page.locator("#unit-secret").get_by_role("button", name="Copy").click()
        assert await page.evaluate("navigator.clipboard.readText()") == secret
        await expect(row.locator(".login-state")).to_have_text("Can log in", timeout=MS)
        assert (await row.locator("td").nth(3).inner_text()).strip(), "when it was issued"
        async with _client(dynsec_broker, "4403001", secret):
            pass  # the unit logs in with it
        assert await serious_violations(page) == []
        if os.environ.get("LIFELINE_SCREENSHOTS") == "1":
            await page.locator("section[aria-labelledby=h-units]").screenshot(path=str(DOCS / "admin-units.png"))

        await page.reload()  # shown once: gone after a reload, and never in the list
        await expect(row.locator(".login-state")).to_have_text("Can log in", timeout=MS)
        assert secret not in await page.locator("main").inner_text()

        await row.get_by_role("button", name="Revoke").click()
        ask = row.get_by_role("group")
        await expect(ask).to_contain_text("The unit is cut off")
        await ask.get_by_role("button", name="Yes, revoke").click()
        await expect(row.locator(".login-state")).to_have_text("Revoked", timeout=MS)
        await expect(page.locator("#messages")).to_contain_text("4403001 can no longer log in")
        with pytest.raises(aiomqtt.MqttError):
            async with _client(dynsec_broker, "4403001", secret):
                pass

        await page.get_by_label("Login", exact=True).select_option("revoked")
        await page.get_by_role("button", name="Find units").click()
        await expect(page.locator("#unit-logins-table tbody tr")).to_have_count(1, timeout=MS)
        assert await serious_violations(page) == []
    finally:
        await context.close()
    assert context.page_errors == []

"""After an admin resets a password, the log-in page asks for a new one before any other page."""

from __future__ import annotations

import pytest
from playwright.async_api import expect

from tests.factories import create_user
from tests.web.conftest import WAIT, log_in

pytestmark = pytest.mark.asyncio
MS = WAIT * 1000


async def test_a_reset_user_chooses_a_new_password_then_reaches_their_page(browser, live_server, session):
    user = await create_user(session, role="operator", full_name="Olive Operator", username="olive")
    user.must_change_password = True
    await session.commit()
    context, page = await log_in(browser, live_server.url, user.username)
    try:
        await expect(page.get_by_role("heading", name="Choose a new password")).to_be_visible(timeout=MS)
        # just logged in: the page still knows the password given, so it does not ask for it
        await expect(page.get_by_label("The password the administrator gave you")).to_be_hidden()
        await page.goto("/dashboard")  # any other page sends them back to choose one
        await expect(page).to_have_url(f"{live_server.url}/login?next=%2Fdashboard", timeout=MS)
        await expect(page.get_by_role("heading", name="Choose a new password")).to_be_visible(timeout=MS)
        await page.get_by_label("The password the administrator gave you").fill("correct horse battery")
        await page.get_by_label("New password", exact=True).fill("a long passphrase of my own")
        await page.get_by_label("New password again").fill("a long passphrase of my own")
        await page.get_by_role("button", name="Set password").click()
        await expect(page).to_have_url(f"{live_server.url}/dashboard", timeout=MS)
        await session.refresh(user)
        assert user.must_change_password is False
    finally:
        await context.close()
    assert context.page_errors == []

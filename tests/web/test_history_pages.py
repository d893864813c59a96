"""The TEC pages in a browser: a flagged customer on the review list, their chart renders, a review
is recorded; the service overview draws.

With ``LIFELINE_SCREENSHOTS=1`` this also writes docs/history-flags.png, docs/history-customer.png
and docs/history-overview.png.
"""

from __future__ import annotations

import os

import pytest
from playwright.async_api import expect
from sqlalchemy import select

from arc.history.demo import seed_history
from arc.history.jobs import evaluate_flags
from arc.history.models import FlagReview
from arc.kit.clock import Clock
from arc.seed import demo_cids, seed_demo
from tests.factories import create_user
from tests.web.conftest import DOCS, WAIT, log_in

pytestmark = pytest.mark.asyncio

MS = WAIT * 1000
SCREENSHOTS = os.environ.get("LIFELINE_SCREENSHOTS") == "1"


@pytest.fixture
def clock() -> Clock:
    return Clock()  # the demo history ends now


async def _image_drawn(page, selector: str) -> None:
    await page.wait_for_function(
        "s => { const i = document.querySelector(s); return i && i.complete && i.naturalWidth > 300; }",
        arg=selector,
        timeout=MS,
    )


async def test_tec_officer_finds_a_flagged_customer_sees_the_chart_and_records_a_review(
    browser, live_server, session, clock
):
    await seed_demo(session, install_date=clock.now().date(), cipher=live_server.app.state.data_cipher)
    await seed_history(session, demo_cids(), now=clock.now())
    tec = await create_user(session, role="tec", full_name="Tess Evans")
    await session.commit()
    await evaluate_flags(live_server.app)

    context, page = await log_in(browser, live_server.url, tec.username)
    try:
        await expect(page).to_have_url(f"{live_server.url}/customers", timeout=MS)  # the TEC home
        await page.get_by_role("link", name="Flagged customers").first.click()
        await expect(page).to_have_url(f"{live_server.url}/flags", timeout=MS)
        rows = page.locator("#flag-list tbody tr")
        await expect(rows.first).to_be_visible(timeout=MS)
        margaret = rows.filter(has_text="Margaret Whitfield")
        await expect(margaret).to_contain_text("frequent caller")
        await expect(rows.first).to_contain_text("high")  # most severe first
        if SCREENSHOTS:
            await page.screenshot(path=str(DOCS / "history-flags.png"), full_page=True)

        await margaret.get_by_role("link", name="Margaret Whitfield").click()
        await expect(page.locator("#person")).to_contain_text("Margaret Whitfield", timeout=MS)
        await _image_drawn(page, "#chart")
        await expect(page.locator("#calls tbody tr").first).to_be_visible(timeout=MS)
        flag = page.locator("#open-flags li.flag").filter(has_text="frequent caller")
        await expect(flag).to_contain_text("activations in the last 30 days")
        if SCREENSHOTS:
            await page.screenshot(path=str(DOCS / "history-customer.png"), full_page=True)
        await flag.get_by_label("Review", exact=True).select_option("action_taken")
        await flag.get_by_label("Action taken").select_option("review_visit")
        await flag.get_by_label("Review note").fill("Visit booked for Thursday")
        await flag.get_by_role("button", name="Record review").click()
        await expect(page.locator("#messages")).to_contain_text("Review recorded", timeout=MS)
        await expect(page.locator("#past-flags")).to_contain_text("Visit booked for Thursday", timeout=MS)

        await page.get_by_role("link", name="Service overview and reports").first.click()
        await _image_drawn(page, "#overview")
        await expect(page.locator("#monthly-out")).to_contain_text("ERS attendances", timeout=MS)
        if SCREENSHOTS:
            await page.screenshot(path=str(DOCS / "history-overview.png"), full_page=True)
    finally:
        await context.close()
    assert context.page_errors == []
    review = await session.scalar(select(FlagReview).order_by(FlagReview.id.desc()))
    assert review is not None and review.action == "review_visit" and review.reviewer_id == tec.id

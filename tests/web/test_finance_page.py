"""Finance in the browser, on the demo's billing history: find a document, read it and open its
letter, request a waiver and see a colleague approve it, aged debt, runs, income and the export.

With ``LIFELINE_SCREENSHOTS=1`` this also writes docs/finance.png.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime

import pytest
from playwright.async_api import expect
from pydantic import SecretStr
from sqlalchemy import func, select

from arc.seed import seed_demo_users
from billing import demo
from billing.models import Document, Waiver
from tests.factories import create_user
from tests.web.conftest import DOCS, PASSWORD, WAIT, log_in

pytestmark = pytest.mark.asyncio
MS = WAIT * 1000
SCREENSHOTS = os.environ.get("LIFELINE_SCREENSHOTS") == "1"


async def test_demo_billing_history_is_idempotent_and_believable(session, settings):
    now = datetime(2026, 12, 1, 10, tzinfo=UTC)
    await seed_demo_users(
        session, settings.model_copy(update={"demo_password": SecretStr(PASSWORD)}), now=now
    )
    issued = await demo.seed(session, now=now)
    await session.commit()
    assert issued > 10 and await demo.seed(session, now=now) == 0
    docs = (await session.scalars(select(Document))).all()
    assert {d.reason for d in docs} >= {"first", "quarterly", "withdrawal", "waiver"}
    assert any(d.payer_name.startswith("Mrs Susan Hale") and d.payment_method == "direct_debit" for d in docs)
    assert {d.payment_state for d in docs} >= {"paid", "unpaid"}
    assert (
        await session.scalar(select(func.count()).select_from(Waiver).where(Waiver.status == "approved")) == 1
    )


async def test_finance_works_the_ledger_from_the_page(browser, live_server, session, settings, clock):
    now = clock.now()
    await seed_demo_users(
        session, settings.model_copy(update={"demo_password": SecretStr(PASSWORD)}), now=now
    )
    await demo.seed(session, now=now)
    colleague = await create_user(session, role="finance", full_name="Fatima Finance")
    await session.commit()

    context, page = await log_in(browser, live_server.url, "finance")
    try:
        await expect(page).to_have_url(f"{live_server.url}/finance", timeout=MS)
        rows = page.locator("#documents tbody tr")
        await expect(rows.first).to_be_visible(timeout=MS)
        await page.get_by_label("Search").fill("Fairweather")
        await page.get_by_role("button", name="Show").click()
        await expect(page.locator("#doc-count")).to_contain_text("documents", timeout=MS)
        await expect(rows.first).to_contain_text("Mrs Susan Hale (daughter)")
        await rows.first.click()
        panel = page.locator("#document")
        await expect(panel).to_contain_text("direct debit", timeout=MS)
        await expect(panel).to_contain_text("outside the scope of VAT")
        link = panel.get_by_role("link", name="Open the letter (PDF)")
        pdf = await page.request.get(await link.get_attribute("href"))
        assert pdf.status == 200 and (await pdf.body())[:5] == b"%PDF-"
        if SCREENSHOTS:
            await page.screenshot(path=str(DOCS / "finance.png"), full_page=False)
        await panel.get_by_text("Payer and VAT for this customer").click()
        await expect(panel.get_by_label("Direct Debit mandate reference")).to_have_value("DD-LL-004417", timeout=MS)
        await panel.get_by_label("Large-print letters").check()
        await panel.get_by_role("button", name="Save payer and VAT").click()
        await expect(page.locator("#messages")).to_contain_text("Payer and VAT saved", timeout=MS)

        # a waiver for Walter Briggs, requested here and approved by a colleague
        await page.get_by_label("Search").fill("Briggs")
        await page.get_by_role("button", name="Show").click()
        await expect(rows.first).to_contain_text("Walter Briggs", timeout=MS)
        await rows.first.click()
        await panel.get_by_role("button", name="Request a waiver for this connection").click()
        await expect(page.locator("#tab-waivers")).to_be_visible()
        await page.get_by_label("Reason").fill("Hardship: awaiting attendance allowance")
        await page.get_by_role("button", name="Request waiver").click()
        mine = page.locator("#waivers tbody tr", has_text="awaiting attendance allowance")
        await expect(mine).to_contain_text("another person must decide", timeout=MS)
        assert not await mine.get_by_role("button", name="Approve").count()

        other, other_page = await log_in(browser, live_server.url, colleague.username)
        try:
            await expect(other_page).to_have_url(f"{live_server.url}/finance", timeout=MS)
            await other_page.get_by_role("link", name="Waivers").click()
            theirs = other_page.locator("#waivers tbody tr", has_text="awaiting attendance allowance")
            await theirs.get_by_role("button", name="Approve").click()
            await expect(theirs).to_contain_text("approved", timeout=MS)
            assert other.page_errors == []
        finally:
            await other.close()

        await page.get_by_role("link", name="Aged debt").click()
        await expect(page.locator("#debt .bucket")).to_have_count(4, timeout=MS)
        await expect(page.locator("#debt-asof")).to_contain_text("owing")
        await page.get_by_role("link", name="Runs").click()
        await expect(page.locator("#runs tbody tr").first).to_contain_text("finished", timeout=MS)
        await page.get_by_role("link", name="Income & export").click()
        await page.get_by_role("button", name="Show income").click()
        await expect(page.locator("#income tbody tr")).to_have_count(5, timeout=MS)
        await page.locator("#e-from").fill("2027-05-01")
        await page.locator("#e-to").fill("2027-04-01")
        await page.get_by_role("button", name="Download").click()
        await expect(page.locator("#export-error")).to_contain_text("wrong way round")
        assert context.page_errors == []
    finally:
        await context.close()

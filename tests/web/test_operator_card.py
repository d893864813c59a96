"""The operator's card in a real browser: ordered for the moment, fire and falls told apart in the
queue, every activation listed, the keyboard alone enough, a closed alarm that offers nothing, one
audit row per view however often the card refreshes, and no serious axe-core violation.

With ``LIFELINE_SCREENSHOTS=1`` this also writes docs/operator-*.png."""

from __future__ import annotations

import os
import re

import pytest
from playwright.async_api import expect
from sqlalchemy import func, select

from arc.audit.models import AuditEntry
from tests.factories import create_customer_with_unit, create_peripheral, create_responder, create_user
from tests.web.axe import serious_violations
from tests.web.conftest import DOCS, WAIT, log_in

pytestmark = pytest.mark.asyncio
MS = WAIT * 1000
SCREENSHOTS = os.environ.get("LIFELINE_SCREENSHOTS") == "1"


async def _arrange(session):
    edith, home, _ = await create_customer_with_unit(
        session,
        given_name="Edith",
        family_name="Marsh",
        postcode="CB4 3AA",
        phone_primary="01223 555123",
        risk_notes="Lives alone; oxygen in use; do not lift",
    )
    await create_peripheral(session, home, did="P1", dty="0003", location_text="worn on wrist")
    await create_peripheral(session, home, did="S1", dty="0023", location_text="hallway ceiling")
    await create_responder(
        session,
        edith,
        name="M. Marsh (daughter)",
        relationship_to_customer="daughter",
        phone_primary="07700 900123",
    )
    _arthur, other, _ = await create_customer_with_unit(session, given_name="Arthur", family_name="Penrose")
    await create_peripheral(session, other, did="F1", dty="0005", location_text="worn on belt")
    operator = await create_user(session, role="operator", full_name="Olive Operator")
    await session.commit()
    return edith, home, other, operator


async def test_operator_works_an_alarm_from_the_keyboard_on_a_card_ordered_for_the_moment(
    browser, live_server, unit, session
):
    edith, home, other, operator = await _arrange(session)
    context, page = await log_in(browser, live_server.url, operator.username)
    try:
        await expect(page).to_have_url(f"{live_server.url}/dashboard", timeout=MS)
        await expect(page.locator("#connection")).to_have_text("Live", timeout=MS)

        await unit.alarm(home.cid, dty="0003", stc="0010", did="P1")
        await unit.alarm(home.cid, dty="0023", stc="0009", did="S1")  # smoke joins the pendant's alarm
        await unit.alarm(other.cid, dty="0005", stc="0009", did="F1")
        rows = page.locator("#queue-list li.alarm")
        await expect(rows).to_have_count(2, timeout=MS)
        fire = rows.filter(has_text="Edith Marsh")
        fall = rows.filter(has_text="Arthur Penrose")
        await expect(fire.locator("[data-hazard=fire]")).to_have_text(re.compile("FIRE"), timeout=MS)
        await expect(fall.locator("[data-hazard=fall]")).to_have_text(re.compile("FALL"))
        await expect(fire).to_contain_text("waiting")

        # before accept: who, the risks, what happened, and Accept -- no forms to fill yet
        await fire.get_by_role("button").click()
        card = page.locator("#card")
        await expect(card.locator(".notes.risk")).to_contain_text("oxygen in use")
        await expect(card.locator(".activations li")).to_have_count(2, timeout=MS)
        await expect(card.locator(".activations")).to_contain_text("smoke detector")
        await expect(card.locator(".activations")).to_contain_text("hallway ceiling")
        for name in ("Add note", "Close alarm", "Record 999 call", "Send ERS"):
            await expect(page.get_by_role("button", name=name)).to_have_count(0)
        assert await serious_violations(page) == []
        if SCREENSHOTS:
            await page.screenshot(path=str(DOCS / "operator-before-accept.png"))

        # the keyboard alone: A takes the most urgent waiting alarm (the fire), J/K move in the queue
        await page.locator("body").press("a")
        await expect(page.get_by_test_id("holder")).to_have_text("You hold this alarm", timeout=MS)
        await expect(page.locator("#card-title")).to_contain_text("Smoke detector")
        await page.keyboard.press("q")
        assert await page.evaluate("document.activeElement.closest('li').dataset.alarmId") is not None
        await page.keyboard.press("j")
        focused = await page.evaluate("document.activeElement.innerText")
        assert "Arthur Penrose" in focused
        outline = await page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
        assert outline != "none", "the focus must be visible"
        await page.keyboard.press("k")
        await page.keyboard.press("Enter")

        # once held: call script, key safe, plan with phone links, and the forms
        await expect(card.locator("#sec-call-script")).to_be_visible(timeout=MS)
        await expect(card.locator("#sec-key-safe")).to_be_visible()
        plan = card.locator(".plan")
        await expect(plan).to_contain_text("M. Marsh (daughter)")
        assert "(daughter) (daughter)" not in await plan.inner_text()
        await expect(plan.locator('a[href="tel:07700900123"]')).to_have_count(1)
        await expect(card.locator('a[href="tel:01223555123"]')).to_have_count(1)
        await page.get_by_label("Called").select_option(label="M. Marsh (daughter) — 07700 900123")
        await page.get_by_role("button", name="Call", exact=True).click()  # no dial gateway configured
        await expect(page.locator("#messages")).to_contain_text("dial the number yourself", timeout=MS)
        await expect(card.locator(".log")).to_contain_text("Calling: M. Marsh (daughter)", timeout=MS)
        await page.get_by_label("Result").select_option("no_answer")
        await page.get_by_role("button", name="Record call").click()
        await expect(card.locator(".log")).to_contain_text(
            "Call: M. Marsh (daughter) — No answer", timeout=MS
        )
        await page.get_by_role("button", name="Dispatch M. Marsh (daughter)").click()
        task = card.locator(".tasks li.task")
        await expect(task).to_contain_text("Requested", timeout=MS)
        await task.get_by_role("button", name="Arrived").click()
        await expect(task).to_contain_text("Arrived", timeout=MS)
        await expect(card.locator(".log")).to_contain_text("Responder reply: Arrived")
        assert await serious_violations(page) == []
        if SCREENSHOTS:
            await page.screenshot(path=str(DOCS / "operator-held.png"))

        # closed: the outcome in words and the closing note; nothing to press, nobody "holds" it
        await page.get_by_label("Outcome").select_option("family_attended")
        await page.get_by_label("Closing note").fill("Daughter arrived, smoke from toast")
        await page.get_by_role("button", name="Close alarm").click()
        await expect(fire).to_have_count(0, timeout=MS)
        holder = page.get_by_test_id("holder")
        await expect(holder).to_contain_text("nominated responder attended", timeout=MS)
        await expect(holder).not_to_contain_text("You hold")
        await expect(card.locator("section[aria-labelledby=sec-outcome]")).to_contain_text("smoke from toast")
        await expect(card.locator(".task-replies")).to_have_count(0)
        await expect(card.locator("button")).to_have_count(0)
        assert "family_attended" not in await card.inner_text()
        assert "in_progress" not in await card.locator(".log").inner_text()

        # the card refreshed after every change, but the look at Edith's record is one view
        looks = await session.scalar(
            select(func.count())
            .select_from(AuditEntry)
            .where(
                AuditEntry.object_type == "customer",
                AuditEntry.customer_id == edith.id,
                AuditEntry.actor_user_id == operator.id,
            )
        )
        assert looks == 1, "one opening of Edith's card, refreshed after accept, call, dispatch, reply, close"
    finally:
        await context.close()
    assert context.page_errors == []

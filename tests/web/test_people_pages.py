"""Supervisors, the wallboard, admins and the fleet, each in a real browser; axe-core on each page.

With ``LIFELINE_SCREENSHOTS=1`` this also writes docs/supervisor.png, wallboard.png, admin.png, fleet.png."""

from __future__ import annotations

import os
from datetime import timedelta

import pytest
from playwright.async_api import expect
from sqlalchemy import select

from arc.alarms.models import Alarm
from arc.auth.models import User
from tests.factories import create_alarm, create_customer_with_unit, create_unit, create_user
from tests.web.axe import serious_violations
from tests.web.conftest import DOCS, WAIT, log_in

pytestmark = pytest.mark.asyncio
MS = WAIT * 1000
SCREENSHOTS = os.environ.get("LIFELINE_SCREENSHOTS") == "1"


async def test_supervisor_sees_who_holds_what_and_moves_an_alarm_and_the_wallboard_counts(
    browser, live_server, session, clock
):
    customer, unit, _ = await create_customer_with_unit(session, given_name="Edith", family_name="Marsh")
    olive = await create_user(session, role="operator", full_name="Olive Operator")
    pat = await create_user(session, role="operator", full_name="Pat Operator")
    boss = await create_user(session, role="supervisor", full_name="Sue Supervisor")
    held = await create_alarm(
        session,
        customer=customer,
        unit=unit,
        status="accepted",
        accepted_by_id=olive.id,
        accepted_at=clock.now() - timedelta(minutes=4),
        raised_at=clock.now() - timedelta(minutes=5),
        title="Pendant pressed",
    )
    await create_alarm(session, raised_at=clock.now() - timedelta(seconds=75), title="Fall detector")
    await session.commit()
    context, page = await log_in(browser, live_server.url, boss.username)
    try:
        await expect(page).to_have_url(f"{live_server.url}/dashboard", timeout=MS)
        await page.get_by_role("link", name="Supervisor").click()
        row = page.locator(f"#holdings tr[data-alarm-id='{held.id}']")
        await expect(row).to_contain_text("Olive Operator", timeout=MS)
        await expect(row).to_contain_text("held for 4 min")
        await expect(page.locator("#h-shift")).to_be_visible()
        await expect(page.locator("#h-op")).to_be_visible()
        await expect(page.get_by_role("heading", name="Outcome codes")).to_be_visible()
        assert await serious_violations(page) == []
        if SCREENSHOTS:
            await page.screenshot(path=str(DOCS / "supervisor.png"), full_page=True)
        await row.get_by_role("combobox").select_option(label="Pat Operator")
        await row.get_by_role("button", name="Move").click()
        holder_cell = page.locator(f"#holdings tr[data-alarm-id='{held.id}'] td").first
        await expect(holder_cell).to_have_text("Pat Operator", timeout=MS)
        assert await session.scalar(select(Alarm.accepted_by_id).where(Alarm.id == held.id)) == pat.id

        await page.get_by_role("link", name="Wallboard").click()
        await expect(page.locator("[data-tile=waiting] .wall-value")).to_have_text("1", timeout=MS)
        await expect(page.locator("[data-tile=open] .wall-value")).to_have_text("2")
        await expect(page.locator("[data-tile=oldest] .wall-value")).to_contain_text("1 min")
        assert await serious_violations(page) == []
        if SCREENSHOTS:
            await page.screenshot(path=str(DOCS / "wallboard.png"))
    finally:
        await context.close()
    assert context.page_errors == []


async def test_admin_adds_a_user_resets_a_password_deactivates_and_searches_the_audit(
    browser, live_server, session
):
    admin = await create_user(session, role="admin", full_name="Ada Admin")
    await create_user(session, role="operator", full_name="Olive Operator", username="olive")
    await session.commit()
    context, page = await log_in(browser, live_server.url, admin.username)
    try:
        await expect(page).to_have_url(f"{live_server.url}/admin", timeout=MS)
        await page.get_by_label("Username", exact=True).fill("erin.ers")
        await page.get_by_label("Full name").fill("Erin Responder")
        await page.get_by_label("Role", exact=True).select_option("ers")
        await page.get_by_role("button", name="Add user").click()
        await expect(page.get_by_test_id("temporary-password")).to_be_visible(timeout=MS)
        erin = page.locator("#users tr[data-username='erin.ers']")
        await expect(erin).to_contain_text("active")
        olive = page.locator("#users tr[data-username='olive']")
        await olive.get_by_role("button", name="Reset password").click()
        await expect(page.locator("#secret")).to_contain_text("Password reset for olive", timeout=MS)
        await olive.get_by_role("button", name="Deactivate").click()
        await expect(olive).to_contain_text("deactivated", timeout=MS)
        assert await session.scalar(select(User.is_active).where(User.username == "olive")) is False
        await expect(page.locator("#dead")).to_contain_text("No failed jobs")
        await expect(page.locator("#keys")).to_contain_text("0 customers have a key-safe value")
        await expect(page.locator("#keys")).to_contain_text("None is waiting to be rotated")

        await page.locator("#a-object_type").fill("user")
        await page.get_by_role("button", name="Search").click()
        await expect(page.locator("#audit tbody tr").first).to_be_visible(timeout=MS)
        await expect(page.locator("#audit")).to_contain_text(admin.username)
        assert await serious_violations(page) == []
        if SCREENSHOTS:
            await page.screenshot(path=str(DOCS / "admin.png"), full_page=True)
    finally:
        await context.close()
    assert context.page_errors == []


async def test_fleet_page_counts_units_by_state_filters_them_and_shows_a_units_history(
    browser, live_server, session, clock
):
    await create_unit(
        session,
        cid="4400001",
        model="Hub 4G",
        firmware="2.3",
        last_heard_at=clock.now() - timedelta(minutes=5),
        comms_state="ok",
        ip_link="ok",
        mobile_link="ok",
        mains="ok",
        heartbeat_interval_minutes=60,
    )
    await create_unit(
        session,
        cid="4400002",
        model="Hub 4G",
        firmware="2.1",
        last_heard_at=clock.now() - timedelta(hours=30),
        comms_state="no_comms",
        ip_link="failed",
        mobile_link="ok",
        mains="failed",
        battery_low=True,
    )
    await create_unit(session, cid="4400003", model="Hub IP")
    await create_alarm(
        session,
        cid="4400002",
        kind="no_comms",
        category="technical",
        title="No communication from unit",
        raised_at=clock.now() - timedelta(hours=6),
    )
    boss = await create_user(session, role="supervisor")
    await session.commit()
    context, page = await log_in(browser, live_server.url, boss.username)
    try:
        await expect(page).to_have_url(f"{live_server.url}/dashboard", timeout=MS)
        await page.goto("/fleet")
        await expect(page.locator("[data-count=units] .wall-value")).to_have_text("3", timeout=MS)
        await expect(page.locator("[data-count=never_heard] .wall-value")).to_have_text("1")
        await expect(page.locator("[data-count=mobile_only] .wall-value")).to_have_text("1")
        await expect(page.locator("[data-count=technical] .wall-value")).to_have_text("1")
        await expect(page.locator("#fleet tbody tr")).to_have_count(3)
        assert await serious_violations(page) == []
        if SCREENSHOTS:
            await page.screenshot(path=str(DOCS / "fleet.png"), full_page=True)

        await page.get_by_label("Silent for more than (hours)").fill("24")
        await page.get_by_role("button", name="Filter").click()
        await expect(page.locator("#fleet tbody tr")).to_have_count(2, timeout=MS)  # silent 30 h, never heard
        await page.get_by_label("on mobile only").check()
        await page.get_by_role("button", name="Filter").click()
        await expect(page.locator("#fleet tbody tr")).to_have_count(1, timeout=MS)
        row = page.locator("#fleet tr[data-cid='4400002']")
        await expect(row).to_contain_text("mobile only")
        await expect(row).to_contain_text("no comms")
        await row.get_by_role("link", name="4400002").click()
        await expect(page.locator("#unit")).to_contain_text("No communication from unit", timeout=MS)
        await expect(page.locator("#unit")).to_contain_text("OPEN")
    finally:
        await context.close()
    assert context.page_errors == []

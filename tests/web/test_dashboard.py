"""The operator dashboard in a real browser against the running service.

A unit raises an alarm over MQTT; it appears on an open dashboard without a
reload; the operator accepts it (the unit hears snu 0), dispatches a responder
and closes it. Then the dashboard loses its connection, an alarm is raised
meanwhile, and it appears once the connection is back (caught up by event id).
"""

from __future__ import annotations

import re

import pytest
from playwright.async_api import expect

from tests.factories import create_customer_with_unit, create_responder, create_user
from tests.web.conftest import WAIT, log_in

pytestmark = pytest.mark.asyncio

MS = WAIT * 1000


async def _arrange(session):
    customer, unit, _ = await create_customer_with_unit(
        session, given_name="Edith", family_name="Marsh", postcode="CB4 3AA"
    )
    await create_responder(session, customer, name="Rita Responder", relationship_to_customer="daughter")
    operator = await create_user(session, role="operator", full_name="Olive Operator")
    await session.commit()
    return customer, unit, operator


async def test_alarm_flows_live_through_the_dashboard_and_survives_a_dropped_connection(
    browser, live_server, unit, session
):
    _, hub_unit, operator = await _arrange(session)
    context, page = await log_in(browser, live_server.url, operator.username)
    try:
        await expect(page).to_have_url(f"{live_server.url}/dashboard", timeout=MS)
        connection = page.locator("#connection")
        await expect(connection).to_have_text("Live", timeout=MS)

        # an alarm raised at the unit appears without a reload
        ref, first = await unit.alarm(hub_unit.cid, dty="0003", stc="0010", did="P1")
        assert first["snu"] == 4, "queued for an operator: the unit must hold"
        row = page.locator("#queue-list li.alarm").filter(has_text="Edith Marsh")
        await expect(row).to_have_count(1, timeout=MS)
        await expect(row).to_have_class(re.compile(r"\bhigh\b"), timeout=MS)
        await expect(row).to_contain_text("Unanswered")

        # the operator opens and accepts it: the unit is answered snu 0
        await row.get_by_role("button").click()
        await expect(page.locator("#card-title")).to_be_visible(timeout=MS)
        await page.get_by_role("button", name="Accept alarm").click()
        answer = await unit.reply(hub_unit.cid, ref)
        assert answer["snu"] == 0
        await expect(page.get_by_test_id("holder")).to_have_text("You hold this alarm", timeout=MS)
        await expect(row).to_contain_text("Held by You", timeout=MS)

        # a note, then dispatch the nominated responder
        await page.get_by_role("textbox", name="Note", exact=True).fill(
            "Fell in the kitchen, conscious, asking for her daughter"
        )
        await page.get_by_role("button", name="Add note").click()
        await expect(page.locator(".log")).to_contain_text("asking for her daughter", timeout=MS)
        await page.get_by_role("button", name="Dispatch Rita Responder").click()
        task = page.locator(".tasks li.task").filter(has_text="Rita Responder")
        await expect(task).to_contain_text("Requested", timeout=MS)
        await task.get_by_role("button", name="Arrived").click()
        await expect(task).to_contain_text("Arrived", timeout=MS)

        # close with an outcome: it leaves the queue
        await page.get_by_label("Outcome").select_option("family_attended")
        await page.get_by_role("button", name="Close alarm").click()
        await expect(row).to_have_count(0, timeout=MS)

        # the dashboard drops off the network; an alarm is raised meanwhile
        await context.set_offline(True)
        await expect(connection).to_have_text("Offline", timeout=MS)
        last_seen = await page.evaluate("window.lifelineDashboard.live.lastId")
        missed_ref, held = await unit.alarm(hub_unit.cid, dty="0023", stc="0009", did="S1")
        assert held["snu"] == 4 and missed_ref != ref
        await page.wait_for_timeout(500)
        assert await page.locator("#queue-list li.alarm").count() == 0, "offline: nothing new can arrive"

        # back online: it reconnects, resumes after the last event it saw, and the missed alarm appears
        await context.set_offline(False)
        await expect(connection).to_have_text("Live", timeout=MS)
        missed = page.locator("#queue-list li.alarm").filter(has_text="Edith Marsh")
        await expect(missed).to_have_count(1, timeout=MS)
        await expect(missed).to_contain_text("Unanswered")
        assert await page.evaluate("window.lifelineDashboard.live.lastId") > last_seen
    finally:
        await context.close()
    assert context.page_errors == []


async def test_new_high_priority_alarm_flashes_a_banner_even_when_audio_is_refused(
    browser, live_server, unit, session
):
    _, hub_unit, operator = await _arrange(session)
    context, page = await log_in(browser, live_server.url, operator.username)
    # a browser that refuses audio outright (policy, no device): the cue must still show, nothing may break
    await context.add_init_script(
        "window.AudioContext = window.webkitAudioContext = function () { throw new Error('audio refused'); };"
    )
    try:
        await expect(page).to_have_url(f"{live_server.url}/dashboard", timeout=MS)
        await page.reload()
        await expect(page.locator("#connection")).to_have_text("Live", timeout=MS)
        await page.locator("#sound").click()  # asking for sound must not break anything either
        await unit.alarm(hub_unit.cid, dty="0023", stc="0009", did="S1")
        cue = page.locator("#cue")
        await expect(cue).to_be_visible(timeout=MS)
        await expect(cue).to_contain_text("New alarm")
        await expect(page.locator("#queue-list li.alarm.high")).to_have_count(1)
        await expect(page).to_have_title(re.compile(r"^\(!\)"))
        assert await page.locator("#sound").inner_text() == "Enable sound"
    finally:
        await context.close()
    assert context.page_errors == []


async def test_dashboard_warns_operators_when_the_service_stops_receiving_from_units(
    browser, live_server, session
):
    _, _, operator = await _arrange(session)
    context, page = await log_in(browser, live_server.url, operator.username)
    try:
        await expect(page).to_have_url(f"{live_server.url}/dashboard", timeout=MS)
        banner = page.locator("#intake")
        await expect(page.locator("#connection")).to_have_text("Live", timeout=MS)
        await expect(banner).to_be_hidden()

        live_server.app.state.ingest.listening_since = None  # what the ingest records when the broker is gone
        await page.reload()
        await expect(banner).to_be_visible(timeout=MS)
        await expect(banner).to_contain_text("NOT RECEIVING ALARMS")
    finally:
        await context.close()
    assert context.page_errors == []

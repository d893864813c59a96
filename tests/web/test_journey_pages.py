"""The TEC / business-support pages in Chromium: referral to a received test activation, the 6-week
review both ways, a withdrawal, an import with a bad row refused and then accepted.

With ``LIFELINE_SCREENSHOTS=1`` these also write docs/tec-*.png.
"""

from __future__ import annotations

import os
from datetime import timedelta

import pytest
from playwright.async_api import expect
from sqlalchemy import select

from arc.kit.clock import Clock
from arc.registry.models import Connection, Customer
from tests.factories import (
    create_connection,
    create_customer,
    create_peripheral,
    create_responder,
    create_unit,
    create_user,
)
from tests.web.conftest import DOCS, WAIT, log_in

pytestmark = pytest.mark.asyncio

MS = WAIT * 1000
SCREENSHOTS = os.environ.get("LIFELINE_SCREENSHOTS") == "1"


@pytest.fixture
def clock() -> Clock:
    return Clock()  # the test call waits for messages stamped with the real time


async def shot(page, name: str) -> None:
    if SCREENSHOTS:
        await page.screenshot(path=str(DOCS / f"tec-{name}.png"), full_page=True)


async def sign_in(browser, live_server, user):
    context, page = await log_in(browser, live_server.url, user.username)
    await expect(page).to_have_url(f"{live_server.url}/customers", timeout=MS)
    return context, page


def london_today(clock, settings):
    return clock.now().astimezone(settings.zone).date()


async def test_new_customer_from_referral_to_a_received_test_activation(browser, live_server, unit, session):
    tec = await create_user(session, role="tec", full_name="Tess Tec")
    await session.commit()
    context, page = await sign_in(browser, live_server, tec)
    try:
        await page.get_by_role("link", name="New referral").click()
        await expect(page.locator("#responders li")).to_have_count(1, timeout=MS)  # the page's script has run
        await page.get_by_label("Given name").fill("Edith")
        await page.get_by_label("Family name").fill("Clarke")
        await page.get_by_label("Date of birth").fill("1938-04-02")
        await page.get_by_label("Case-system reference").fill("LAS-2001")
        await page.get_by_label("Address", exact=True).fill("4 Hope Street")
        await page.get_by_label("Postcode").fill("NOT A POSTCODE")
        await page.get_by_label("Phone", exact=True).first.fill("01223 555123")
        await page.get_by_label("Communication needs").fill("hard of hearing")
        responder = page.locator("#responders li").first
        await responder.get_by_label("Name").fill("Sam Clarke")
        await responder.get_by_label("Relationship").fill("son")
        await responder.get_by_label("Holds a key").check()
        await page.get_by_label("Key-safe code and where it is").fill("1984 by the back door")
        await page.get_by_label("Unit number (cid)").fill("5501001")
        await page.get_by_label("Unit model").fill("Hub 4G")
        gadget = page.locator("#peripherals li").first
        await gadget.get_by_label("Device id (did)").fill("P1")
        await gadget.get_by_label("Where").fill("worn on wrist")
        await page.get_by_label("Install date").fill(
            str(london_today(live_server.app.state.clock, live_server.settings))
        )

        # a bad postcode and a responder with no phone: messages at the fields, nothing saved
        await page.get_by_role("button", name="Save referral").click()
        await expect(page.locator("#postcode-error")).to_contain_text("not a UK postcode", timeout=MS)
        assert await session.scalar(select(Customer.id)) is None
        await page.get_by_label("Postcode").fill("cb2 1tn")
        await page.get_by_role("button", name="Save referral").click()
        phone_error = responder.locator(".field-error")
        await expect(phone_error).to_have_count(1, timeout=MS)
        assert await session.scalar(select(Customer.id)) is None
        await responder.get_by_label("Phone", exact=True).fill("07700 900001")
        await shot(page, "referral")
        await page.get_by_role("button", name="Save referral").click()

        # the test call: the page waits, then shows the heartbeat and the activation arriving
        panel = page.locator("#test-call")
        await expect(panel).to_be_visible(timeout=MS)
        await expect(page.locator("#heartbeat-check")).to_contain_text("Waiting")
        await expect(page.locator("#activation-check")).to_contain_text("Waiting")
        ref = await unit.publish("5501001", mty="PI", dty="0001")
        await unit.reply("5501001", ref)
        await expect(page.locator("#heartbeat-check")).to_contain_text("Received", timeout=MS)
        await expect(page.locator("#activation-check")).to_contain_text("Waiting")
        await unit.alarm("5501001", dty="0003", stc="0010", did="P1")
        await expect(page.locator("#activation-check")).to_contain_text("Received", timeout=MS)
        await expect(page.locator("#activation-check")).to_contain_text("pendant")
        await expect(page.locator("#test-result")).to_contain_text("Test call passed", timeout=MS)
        await shot(page, "install-test-call")

        session.expire_all()
        customer = await session.scalar(select(Customer))
        assert (customer.postcode, customer.communication_needs) == ("CB2 1TN", "hard of hearing")
        await page.get_by_role("link", name="Open the customer record").click()
        await expect(page.locator("#customer")).to_contain_text(
            "Referral recorded; unit installed", timeout=MS
        )
        await expect(page.locator("#customer")).to_contain_text("Sam Clarke")
    finally:
        await context.close()
    assert context.page_errors == []


async def _due(session, today, days_ago: int, **kw):
    customer = await create_customer(session, **kw)
    unit = await create_unit(session)
    return await create_connection(
        session,
        customer,
        unit,
        install_date=today - timedelta(days=days_ago),
        status="trial",
        activated_on=None,
    )


async def test_six_week_review_retained_and_not_retained(browser, live_server, session):
    today = london_today(live_server.app.state.clock, live_server.settings)
    kept = await _due(session, today, 45, given_name="Ruth", family_name="Keeper")
    gone = await _due(session, today, 40, given_name="Gus", family_name="Leaver")
    await _due(session, today, 3, given_name="Nina", family_name="Newcomer")  # not due for weeks
    tec = await create_user(session, role="tec")
    await session.commit()
    kept_id, gone_id = kept.id, gone.id
    context, page = await sign_in(browser, live_server, tec)
    try:
        await page.goto("/reviews")
        rows = page.locator("#reviews tbody tr")
        await expect(rows).to_have_count(2, timeout=MS)
        await expect(rows.first).to_contain_text("Ruth Keeper")
        await expect(rows.first).to_contain_text("days overdue")
        await shot(page, "reviews")

        ruth = rows.filter(has_text="Ruth Keeper")
        await ruth.get_by_label("Outcome").select_option("retained")
        await ruth.get_by_role("button", name="Record").click()
        await expect(rows).to_have_count(1, timeout=MS)

        gus = rows.filter(has_text="Gus Leaver")
        await gus.get_by_label("Outcome").select_option("not_retained")
        await gus.get_by_role("button", name="Record").click()
        await expect(gus.locator(".form-problems")).to_contain_text("reason", timeout=MS)
        await gus.get_by_label("Reason").fill("did not want a pendant")
        await gus.get_by_role("button", name="Record").click()
        await expect(page.locator("#reviews-empty")).to_be_visible(timeout=MS)
    finally:
        await context.close()
    assert context.page_errors == []
    session.expire_all()
    kept, gone = await session.get(Connection, kept_id), await session.get(Connection, gone_id)
    assert (kept.status, kept.activated_on) == ("active", kept.install_date + timedelta(days=42))
    assert (gone.status, gone.withdrawn_on, gone.withdrawal_reason, gone.review_reason) == (
        "withdrawn", today, "not_retained", "did not want a pendant",
    )  # fmt: skip


async def test_withdrawal_with_reason_date_and_unit_return(browser, live_server, session):
    today = london_today(live_server.app.state.clock, live_server.settings)
    customer = await create_customer(session, given_name="Walter", family_name="Wood", postcode="CB3 9AA",
                                     phone_primary="01223 444444", communication_needs="hard of hearing")  # fmt: skip
    hub = await create_unit(session, cid="5502001", model="Hub 4G")
    await create_peripheral(session, hub, did="P1", dty="0003", location_text="worn on wrist")
    await create_peripheral(session, hub, did="S1", dty="0023", location_text="hall ceiling")
    installed = today - timedelta(days=200)
    conn = await create_connection(
        session, customer, hub, install_date=installed, activated_on=installed + timedelta(days=42)
    )
    await create_responder(session, customer, name="Wendy Wood", relationship_to_customer="daughter")
    await create_responder(session, customer, position=2, name="Neil Neighbour", holds_key=False)
    tec = await create_user(session, role="tec")
    await session.commit()
    conn_id, customer_id = conn.id, customer.id
    context, page = await sign_in(browser, live_server, tec)
    try:
        await page.goto(f"/customer?id={customer_id}")
        record = page.locator("#customer")
        await expect(record).to_contain_text("Walter Wood", timeout=MS)
        # a hospital stay first: shown on the record and the timeline
        await page.locator("summary", has_text="Record a hospital stay or holiday").click()
        await page.get_by_role("button", name="Record", exact=True).click()
        await expect(record.locator(".away")).to_contain_text("In hospital", timeout=MS)
        await expect(record.locator(".timeline")).to_contain_text("Hospital stay from")
        await shot(page, "customer")

        # a responder's new phone; an emptied phone is refused at the field
        wendy = page.locator("details", has_text="Change Wendy Wood")
        await wendy.locator("summary").click()
        await wendy.get_by_label("Phone", exact=True).fill("")
        await wendy.get_by_role("button", name="Save changes").click()
        await expect(wendy.locator(".field-error")).to_contain_text("cannot be empty", timeout=MS)
        await wendy.get_by_label("Phone", exact=True).fill("07700 900777")
        await wendy.get_by_role("button", name="Save changes").click()
        await expect(record.locator(".responders")).to_contain_text("07700 900777", timeout=MS)
        await expect(record.locator(".timeline")).to_contain_text("Responder changed")

        await page.locator("summary", has_text="Withdraw").click()
        await page.get_by_label("Reason", exact=True).select_option("residential_care")
        await page.get_by_label("Unit returned on", exact=True).fill(str(today))
        await page.get_by_role("button", name="Withdraw", exact=True).click()
        await expect(record.locator(".badge.status-withdrawn")).to_be_visible(timeout=MS)
        await expect(record.locator(".timeline")).to_contain_text("moved to residential care; unit returned")
        await shot(page, "withdrawn")
    finally:
        await context.close()
    assert context.page_errors == []
    session.expire_all()
    conn = await session.get(Connection, conn_id)
    assert (conn.status, conn.withdrawn_on, conn.withdrawal_reason, conn.unit_returned_on) == (
        "withdrawn", today, "residential_care", today,
    )  # fmt: skip


HEADER = (
    "case_ref,given_name,family_name,address_line1,postcode,phone_primary,cid,peripherals,install_date,status"
)


async def test_import_with_a_bad_row_is_refused_then_accepted(browser, live_server, session, tmp_path):
    good = ["MIG-1,Mary,Jones,1 Elm Row,CB1 1AA,01223 111111,6600001,P1:0003:wrist,01/06/2025,active"]
    bad = tmp_path / "old-provider.csv"
    bad.write_text(
        "\n".join([HEADER, *good, "MIG-2,Peter,Smith,2 Elm Row,NOWHERE,,6600002,,2025-06-01,active"])
    )
    fixed = tmp_path / "old-provider-fixed.csv"
    fixed.write_text(
        "\n".join([HEADER, *good, "MIG-2,Peter,Smith,2 Elm Row,CB1 1AB,,6600002,,2025-06-01,active"])
    )
    tec = await create_user(session, role="tec")
    await session.commit()
    context, page = await sign_in(browser, live_server, tec)
    try:
        await page.goto("/import")
        await page.get_by_label("File").set_input_files(str(bad))
        await page.get_by_role("button", name="Check the file").click()
        problems = page.locator("#problems tbody tr")
        await expect(problems).to_have_count(1, timeout=MS)
        await expect(problems.first).to_contain_text("3")
        await expect(problems.first).to_contain_text("postcode")
        await expect(page.get_by_role("button", name="Import", exact=True)).to_be_disabled()
        await shot(page, "import")
        assert await session.scalar(select(Customer.id)) is None

        await page.get_by_label("File").set_input_files(str(fixed))
        await page.get_by_role("button", name="Check the file").click()
        await expect(page.locator("#summary")).to_contain_text("2 valid", timeout=MS)
        await expect(problems).to_have_count(0)
        await page.get_by_role("button", name="Import", exact=True).click()
        await expect(page.locator("#summary")).to_contain_text("2 customers imported", timeout=MS)

        # the search finds them at once, typos and all
        await page.get_by_role("link", name="Customers", exact=True).click()
        await expect(page.locator("#me")).not_to_be_empty(timeout=MS)  # the page's script has run
        await page.get_by_label("Find a customer").fill("mary jnes")
        await expect(page.locator("#results tbody tr").first).to_contain_text("Mary Jones", timeout=MS)
        await shot(page, "search")
    finally:
        await context.close()
    assert context.page_errors == []
    names = (await session.scalars(select(Customer.family_name).order_by(Customer.id))).all()
    assert names == ["Jones", "Smith"]


async def test_operators_see_the_customer_record_read_only(browser, live_server, session):
    customer = await create_customer(session, given_name="Olga", family_name="Reader", medical_notes="COPD")
    await create_connection(session, customer, await create_unit(session))
    await create_responder(session, customer, name="Rita Responder")
    operator = await create_user(session, role="operator")
    await session.commit()
    customer_id = customer.id
    context, page = await log_in(browser, live_server.url, operator.username)
    try:
        await expect(page).to_have_url(f"{live_server.url}/dashboard", timeout=MS)
        await page.goto(f"/customer?id={customer_id}")
        record = page.locator("#customer")
        await expect(record).to_contain_text("Olga Reader", timeout=MS)
        await expect(record).to_contain_text("COPD")
        await expect(record).to_contain_text("Rita Responder")
        assert await record.locator("summary").count() == 0  # no change forms
        assert await record.locator("button").count() == 0
        await expect(page.get_by_role("link", name="New referral")).to_be_hidden()
    finally:
        await context.close()
    assert context.page_errors == []

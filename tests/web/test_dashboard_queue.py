"""Several alarms at once on the dashboard, most urgent first.

With ``LIFELINE_SCREENSHOTS=1`` this also writes docs/dashboard.png (the README's picture).
"""

from __future__ import annotations

import os
from datetime import date

import httpx
import pytest
from playwright.async_api import expect

from arc.auth.service import issue_session
from arc.seed import seed_demo
from tests.factories import create_user
from tests.web.conftest import DOCS, WAIT, log_in

pytestmark = pytest.mark.asyncio

MS = WAIT * 1000
SCREENSHOTS = os.environ.get("LIFELINE_SCREENSHOTS") == "1"

# (cid, seconds after the previous one, message fields): demo units from arc/seed.py
SCENARIO = [
    ("4401003", 0, {"dty": "0023", "stc": "0009", "did": "S1"}),  # smoke: fire first
    ("4401002", 55, {"dty": "0005", "stc": "0009", "did": "F1"}),  # fall
    ("4401001", 40, {"dty": "0003", "stc": "0010", "did": "P1"}),  # pendant
    ("4401004", 35, {"dty": "0012", "stc": "0117"}),  # lying in bed
    ("4401005", 20, {"dty": "0003", "stc": "0016", "did": "P1"}),  # pendant battery low
    ("4401006", 15, {"dty": "0051", "stc": "0010", "lge": {"geo": "52.2053,0.1218"}}),  # mobile unit
    ("4409999", 10, {"dty": "0003", "stc": "0010"}),  # a unit nobody registered
]


async def _token(session, clock, user) -> str:
    token, _ = await issue_session(session, user, "api", clock.now())
    await session.commit()
    return token


async def _raise_scenario(unit, clock, http: httpx.AsyncClient, accept_cid: str) -> None:
    """Raise the scenario's alarms, time moving between them; another operator takes one at once."""
    for cid, later, fields in SCENARIO:
        clock.advance(seconds=later)
        _, first = await unit.alarm(cid, **fields)
        assert first["snu"] in (0, 4), (cid, first)  # technical messages are answered at once
        if cid == accept_cid:
            clock.advance(seconds=20)
            answer = await http.post(f"/api/alarms/{await _alarm_id(http, cid)}/accept")
            assert answer.status_code == 200, answer.text
    clock.advance(seconds=25)


async def _alarm_id(http: httpx.AsyncClient, cid: str) -> int:
    queue = (await http.get("/api/alarms/queue")).json()["items"]
    return next(a["id"] for a in queue if a["cid"] == cid)


async def test_queue_shows_several_alarms_most_urgent_first_and_who_holds_them(
    browser, live_server, unit, session, clock
):
    await seed_demo(session, install_date=date(2026, 1, 5), cipher=live_server.app.state.data_cipher)
    me = await create_user(session, role="operator", full_name="Olive Operator")
    other = await create_user(session, role="operator", full_name="Priya Shah")
    await session.commit()
    token = await _token(session, clock, other)
    async with httpx.AsyncClient(
        base_url=live_server.url, headers={"Authorization": f"Bearer {token}"}, timeout=WAIT
    ) as http:
        await _raise_scenario(unit, clock, http, accept_cid="4401002")
    await unit.alarm("4401001", dty="0003", stc="0010", did="P1")  # the pendant pressed again

    context, page = await log_in(browser, live_server.url, me.username)
    try:
        await expect(page.locator("#connection")).to_have_text("Live", timeout=MS)
        rows = page.locator("#queue-list li.alarm")
        await expect(rows).to_have_count(len(SCENARIO), timeout=MS)
        titles = await rows.locator(".who").all_inner_texts()
        assert titles[0].startswith("Dorothy Okafor"), "fire comes first"
        assert titles[-1].startswith("Iris Mendoza"), "a technical fault comes last"
        assert "Unknown unit 4409999" in titles, "an alarm from an unknown unit still reaches an operator"
        await expect(rows.filter(has_text="Arthur Penrose")).to_contain_text("Held by Priya Shah")
        await expect(rows.filter(has_text="Margaret Whitfield")).to_contain_text("×2")
        assert await rows.filter(has_text="Dorothy Okafor").get_attribute("class") is not None

        # the operator takes the pendant alarm: the key safe shows only now
        await rows.filter(has_text="Margaret Whitfield").get_by_role("button").click()
        await expect(page.locator("#card-title")).to_be_visible()
        await expect(page.get_by_test_id("key-safe")).to_have_count(0)
        await page.get_by_role("button", name="Accept alarm").click()
        await expect(page.get_by_test_id("key-safe")).to_contain_text("code", timeout=MS)
        await page.get_by_role("button", name="Dispatch M. Whitfield (daughter)").click()
        await expect(page.locator(".tasks li.task")).to_have_count(1, timeout=MS)
        if SCREENSHOTS:
            await page.wait_for_timeout(300)
            await page.screenshot(path=str(DOCS / "dashboard.png"), full_page=False)
    finally:
        await context.close()
    assert context.page_errors == []

"""The ERS responder's phone page: their job, accept / en route / arrived / done with a note.

With ``LIFELINE_SCREENSHOTS=1`` this also writes docs/ers.png.
"""

from __future__ import annotations

import os
from datetime import date

import httpx
import pytest
from playwright.async_api import expect

from arc.auth.service import issue_session
from arc.kit.clock import Clock
from arc.seed import seed_demo
from tests.factories import create_user
from tests.web.conftest import DOCS, WAIT, log_in

pytestmark = pytest.mark.asyncio

MS = WAIT * 1000
SCREENSHOTS = os.environ.get("LIFELINE_SCREENSHOTS") == "1"


@pytest.fixture
def clock() -> Clock:
    return Clock()  # the phone shows how long ago the job came in against the real time


async def test_ers_responder_works_a_job_from_the_phone_page(browser, live_server, unit, session, clock):
    await seed_demo(session, install_date=date(2026, 1, 5), cipher=live_server.app.state.data_cipher)
    operator = await create_user(session, role="operator", full_name="Olive Operator")
    ers = await create_user(session, role="ers", full_name="Ezra Response")
    await session.commit()
    await unit.alarm("4401002", dty="0005", stc="0009", did="F1")
    token, _ = await issue_session(session, operator, "api", clock.now())
    await session.commit()
    async with httpx.AsyncClient(
        base_url=live_server.url, headers={"Authorization": f"Bearer {token}"}, timeout=WAIT
    ) as http:
        alarm = next(a["id"] for a in (await http.get("/api/alarms/queue")).json()["items"])
        assert (await http.post(f"/api/alarms/{alarm}/accept")).status_code == 200
        sent = await http.post(f"/api/alarms/{alarm}/dispatch", json={"kind": "ers", "ers_user_id": ers.id})
        assert sent.status_code == 201, sent.text

    context, page = await log_in(browser, live_server.url, ers.username)
    await page.set_viewport_size({"width": 390, "height": 844})
    try:
        await expect(page).to_have_url(f"{live_server.url}/ers", timeout=MS)
        job = page.locator("#jobs li.job")
        await expect(job).to_have_count(1, timeout=MS)
        await expect(job).to_contain_text("Arthur Penrose")
        await expect(job).to_contain_text("3 Mill Lane")
        await job.get_by_role("button", name="Accept").click()
        await expect(job.get_by_role("button", name="En route")).to_be_visible(timeout=MS)
        await job.get_by_label("Note").fill("Five minutes away")
        await job.get_by_role("button", name="En route").click()
        await expect(job).to_contain_text("Five minutes away", timeout=MS)
        if SCREENSHOTS:
            await page.screenshot(path=str(DOCS / "ers.png"), full_page=True)
        await job.get_by_role("button", name="Arrived").click()
        await job.get_by_role("button", name="Done").click()
        await expect(job).to_have_count(0, timeout=MS)
    finally:
        await context.close()
    assert context.page_errors == []

"""Browser tests: the app served by uvicorn with the live stream and the ingest, Debian's
Chromium driven headless by Playwright, and a simulated unit on the real broker."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator
from pathlib import Path

import aiomqtt
import pytest

from arc.kit.settings import Settings
from arc.live.stream import live_stream
from devices.broker import broker_address

CHROMIUM = os.environ.get("LIFELINE_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-background-networking",
    "--disable-gpu",
    "--disable-dev-shm-usage",
]
PASSWORD = "correct horse battery"
WAIT = 10.0  # bounded wait for an MQTT round trip or a page update
DOCS = Path(__file__).resolve().parents[2] / "docs"

try:
    from playwright.async_api import async_playwright
except ImportError:  # pragma: no cover - the dev extra installs it
    async_playwright = None

try:
    from arc.ingest.worker import ingest_component
except ImportError:  # pragma: no cover - the ingest is built in parallel
    ingest_component = None


def needs_browser_and_ingest() -> None:
    if async_playwright is None:
        pytest.skip("the playwright package is not installed (pip install -e '.[dev]')")
    if not (shutil.which(CHROMIUM) or Path(CHROMIUM).exists()):
        pytest.skip(f"{CHROMIUM} missing: install Debian's chromium (tests/run.sh does)")
    if ingest_component is None:
        pytest.skip("arc.ingest.worker.ingest_component is not in the tree yet (MQTT ingest)")


@pytest.fixture
def settings(settings: Settings) -> Settings:
    update = {}
    if "mqtt_session_expiry_seconds" in Settings.model_fields:
        update["mqtt_session_expiry_seconds"] = 300  # every test uses its own client id
    if "ingest_batch_wait_ms" in Settings.model_fields:
        update["ingest_batch_wait_ms"] = 2.0
    return settings.model_copy(update=update)


@pytest.fixture
def components() -> list:
    return [live_stream] + ([ingest_component] if ingest_component else [])


@pytest.fixture
async def browser():
    needs_browser_and_ingest()
    async with async_playwright() as pw:
        chromium = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield chromium
        finally:
            await chromium.close()


class SimulatedUnit:
    """Publishes ``mrq`` like a Lifeline unit and collects the ``mrs`` answers per cid."""

    def __init__(self, client: aiomqtt.Client, settings: Settings) -> None:
        self.client = client
        self.settings = settings
        self.replies: dict[str, asyncio.Queue] = defaultdict(asyncio.Queue)

    async def publish(self, cid: str, **fields) -> str:
        ref = fields.pop("ref", None) or uuid.uuid4().hex[:10].upper()
        message = {"ref": ref, "cid": cid, **fields}
        await self.client.publish(self.settings.topic(cid, "mrq"), json.dumps(message), qos=1)
        return ref

    async def reply(self, cid: str, ref: str, within: float = WAIT) -> dict:
        """The next ``mrs`` for ``ref`` (answers to other refs are skipped)."""
        async with asyncio.timeout(within):
            while True:
                answer = json.loads(await self.replies[cid].get())
                if answer.get("ref") == ref:
                    return answer

    async def alarm(self, cid: str, **fields) -> tuple[str, dict]:
        """Raise an alarm; return its ref and the service's first answer."""
        ref = await self.publish(cid, **{"dty": "0003", "stc": "0010", **fields})
        return ref, await self.reply(cid, ref)


@pytest.fixture
async def unit(live_server, settings: Settings) -> AsyncIterator[SimulatedUnit]:
    client = aiomqtt.Client(
        **broker_address(settings.mqtt_url),
        identifier=f"sim-unit-{uuid.uuid4().hex[:8]}",
    )
    async with client:
        sim = SimulatedUnit(client, settings)
        await client.subscribe(settings.topic("+", "mrs"), qos=1)

        async def collect() -> None:
            async for message in client.messages:
                cid = str(message.topic).split("/")[-2]
                sim.replies[cid].put_nowait(message.payload)

        task = asyncio.create_task(collect())
        try:
            yield sim
        finally:
            task.cancel()


async def log_in(browser, base_url: str, username: str):
    """A fresh browser context signed in through the log-in page; returns (context, page).
    ``context.page_errors`` collects uncaught script errors."""
    context = await browser.new_context(base_url=base_url, viewport={"width": 1440, "height": 900})
    page = await context.new_page()
    context.page_errors = []  # uncaught script errors: every browser test ends by checking there are none
    page.on("pageerror", lambda exc: context.page_errors.append(str(exc)))
    page.set_default_timeout(WAIT * 1000)
    await page.goto("/login")
    await page.get_by_label("Username").fill(username)
    await page.get_by_label("Password", exact=True).fill(PASSWORD)
    await page.get_by_role("button", name="Log in").click()
    return context, page

"""The dashboard's "are we receiving?" signal: operators must know when alarms cannot reach them."""

from __future__ import annotations

import asyncio
from urllib.parse import urlsplit

import pytest

from arc.ingest.worker import ingest_component
from arc.kit.settings import Settings
from tests.faults.proxy import TcpProxy


@pytest.fixture
def components() -> list:
    return [ingest_component]


@pytest.fixture
async def broker(mqtt_url: str):
    """A TCP proxy in front of the test broker: ``cut()`` takes the broker away for real."""
    parts = urlsplit(mqtt_url)
    proxy = await TcpProxy(parts.hostname or "127.0.0.1", parts.port or 1883).start()
    yield proxy
    await proxy.stop()


@pytest.fixture
def settings(settings: Settings, broker: TcpProxy) -> Settings:
    return settings.model_copy(update={"mqtt_url": f"mqtt://127.0.0.1:{broker.port}"})


async def _until(operator, ingest: str, within: float = 10.0) -> dict:
    async with asyncio.timeout(within):
        while True:
            status = (await operator.get("/api/live/status")).json()
            if status["ingest"] == ingest:
                return status
            await asyncio.sleep(0.05)


async def test_status_says_receiving_while_the_ingest_is_subscribed(app, client_as):
    operator = await client_as("operator")
    status = (await operator.get("/api/live/status")).json()
    assert (status["receiving"], status["ingest"]) == (True, "connected")
    assert status["listening_since"] is not None


async def test_status_says_not_receiving_when_the_broker_link_is_down(app, client_as, broker):
    operator = await client_as("operator")
    assert (await _until(operator, "connected"))["receiving"] is True
    await broker.cut()  # the broker goes away: connections reset, new ones refused
    status = await _until(operator, "disconnected")
    assert (status["receiving"], status["listening_since"]) == (False, None)
    await broker.restore()  # and comes back: the ingest reconnects and says so
    status = await _until(operator, "connected")
    assert status["receiving"] is True and status["listening_since"] is not None


async def test_status_is_for_operators_and_supervisors_only(app, client_as):
    tec = await client_as("tec")
    assert (await tec.get("/api/live/status")).status_code == 403

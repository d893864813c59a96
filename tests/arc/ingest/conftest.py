"""Ingest tests: the app runs with the ingest; a fake unit talks to it over the real broker."""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
import xml.etree.ElementTree as ET
from collections import defaultdict
from collections.abc import AsyncIterator

import aiomqtt
import pytest
from sqlalchemy import func, select

from arc.ingest.mqtt import broker_address
from arc.ingest.worker import ingest_component
from arc.kit.settings import Settings

WAIT = 5.0  # bounded wait for an MQTT round trip


@pytest.fixture
def settings(settings: Settings) -> Settings:
    # short-lived broker sessions: every test uses its own client id
    return settings.model_copy(update={"mqtt_session_expiry_seconds": 300, "ingest_batch_wait_ms": 2.0})


@pytest.fixture
def components() -> list:
    return [ingest_component]


def parse_mrs(payload: bytes) -> dict:
    if payload.lstrip().startswith(b"<"):
        root = ET.fromstring(payload)  # noqa: S314 - our own reply
        data = {child.tag: child.text or "" for child in root}
        data["snu"] = int(data["snu"])
        if "hbi" in data:
            data["hbi"] = int(data["hbi"])
        data["fmt"] = "xml"
        return data
    data = json.loads(payload)
    data["fmt"] = "json"
    return data


class FakeUnit:
    """Publishes `mrq`s like a unit and collects the `mrs` replies of every cid under the root."""

    def __init__(self, client: aiomqtt.Client, settings: Settings) -> None:
        self.client = client
        self.settings = settings
        self.replies: dict[str, asyncio.Queue] = defaultdict(asyncio.Queue)
        self.qos: dict[str, list[int]] = defaultdict(list)  # the QoS each reply arrived with, per cid

    async def publish(self, cid: str, payload: dict | bytes | str, *, topic_cid: str | None = None) -> None:
        if isinstance(payload, dict):
            payload = json.dumps(payload)
        if isinstance(payload, str):
            payload = payload.encode()
        await self.client.publish(self.settings.topic(topic_cid or cid, "mrq"), payload, qos=1)

    async def reply(self, cid: str, within: float = WAIT) -> dict:
        return parse_mrs(await asyncio.wait_for(self.replies[cid].get(), within))

    async def send(self, cid: str, payload: dict | bytes | str, *, topic_cid: str | None = None) -> dict:
        await self.publish(cid, payload, topic_cid=topic_cid)
        return await self.reply(topic_cid or cid)

    async def no_reply(self, cid: str, within: float = 0.5) -> bool:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.replies[cid].get(), within)
            return False
        return True


@pytest.fixture
async def unit(app, unit_alone: FakeUnit) -> FakeUnit:
    """A fake unit talking to the app's ingest."""
    return unit_alone


@pytest.fixture
async def unit_alone(settings: Settings) -> AsyncIterator[FakeUnit]:
    """A fake unit on the broker, whether or not an ingest is running (tests start their own)."""
    client = aiomqtt.Client(
        **broker_address(settings.mqtt_url), identifier=f"fake-unit-{uuid.uuid4().hex[:8]}"
    )
    async with client:
        fake = FakeUnit(client, settings)
        await client.subscribe(f"{settings.mqtt_topic_root}/+/mrs", qos=1)

        async def pump() -> None:
            async for message in client.messages:
                cid = str(message.topic).split("/")[-2]
                fake.qos[cid].append(message.qos)
                fake.replies[cid].put_nowait(bytes(message.payload))

        task = asyncio.create_task(pump())
        try:
            yield fake
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


async def count(session, model, *where) -> int:
    return await session.scalar(select(func.count()).select_from(model).where(*where))

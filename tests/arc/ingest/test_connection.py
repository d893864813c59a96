"""The MQTT side: shared subscription, reconnect after the broker drops us, readiness."""

from __future__ import annotations

import asyncio
import uuid

import aiomqtt
import pytest

from arc.ingest.mqtt import broker_address
from arc.ingest.worker import IngestWorker
from arc.kit.db import make_sessionmaker
from tests.arc.ingest.conftest import FakeUnit


@pytest.fixture
def settings(settings):
    return settings.model_copy(update={"mqtt_shared_group": f"arc{uuid.uuid4().hex[:6]}"})


async def test_shared_subscription_group_receives_and_answers(app, unit: FakeUnit):
    assert app.state.ingest.subscribed.is_set()
    reply = await unit.send("4401234", {"ref": "S1", "cid": "4401234", "dty": "1", "mty": "PI"})
    assert reply["snu"] == 0


async def test_ingest_reconnects_and_resubscribes_after_the_broker_drops_it(app, unit: FakeUnit, settings):
    worker: IngestWorker = app.state.ingest
    # the broker disconnects a client when another connects with the same client id
    async with aiomqtt.Client(**broker_address(settings.mqtt_url), identifier=settings.mqtt_client_id):
        await asyncio.sleep(0.2)
    for _ in range(100):  # backoff starts at 0.5 s
        if worker.is_connected():
            break
        await asyncio.sleep(0.05)
    assert worker.is_connected()
    reply = await unit.send("4401234", {"ref": "S2", "cid": "4401234", "dty": "1", "mty": "PI"})
    assert reply["snu"] == 0


async def test_readiness_reports_the_ingest_connection(anon_client, app):
    body = (await anon_client.get("/readyz")).json()
    assert body["checks"]["broker"] == "ok"


async def test_worker_without_a_broker_keeps_retrying_without_blocking_start(settings, engine, db, clock):
    away = settings.model_copy(
        update={"mqtt_url": "mqtt://127.0.0.1:1", "mqtt_client_id": "lifeline-test-away"}
    )
    worker = IngestWorker(away, make_sessionmaker(engine), clock)
    await worker.start(wait_subscribed=0.3)
    try:
        assert not worker.is_connected()
    finally:
        await worker.stop()

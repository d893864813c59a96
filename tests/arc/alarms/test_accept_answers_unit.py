"""Accepting an alarm answers the unit: HOLD (snu 4) while queued, OK (snu 0) once an operator has it."""

from __future__ import annotations

import asyncio
import json
import uuid

import aiomqtt
import pytest

from arc.ingest.mqtt import broker_address
from arc.ingest.worker import ingest_component
from tests.factories import create_customer_with_unit

WAIT = 5.0  # bounded wait for an MQTT round trip


@pytest.fixture
def settings(settings):
    return settings.model_copy(update={"mqtt_session_expiry_seconds": 300, "ingest_batch_wait_ms": 2.0})


@pytest.fixture
def components() -> list:
    return [ingest_component]


async def test_accepting_answers_the_waiting_unit_with_snu_0(app, client_as, session, settings):
    _, unit, _ = await create_customer_with_unit(session)
    await session.commit()
    operator = await client_as("operator")
    client = aiomqtt.Client(**broker_address(settings.mqtt_url), identifier=f"unit-{uuid.uuid4().hex[:8]}")
    async with client:
        await client.subscribe(settings.topic(unit.cid, "mrs"), qos=1)
        replies = client.messages

        async def next_reply() -> dict:
            async with asyncio.timeout(WAIT):
                return json.loads(bytes((await anext(replies)).payload))

        await client.publish(
            settings.topic(unit.cid, "mrq"),
            json.dumps({"ref": "ACC1", "cid": unit.cid, "dty": "0003", "stc": "0010"}),
            qos=1,
        )
        hold = await next_reply()
        assert (hold["ref"], hold["snu"]) == ("ACC1", 4)
        queue = (await operator.get("/api/alarms/queue")).json()["items"]
        assert [a["cid"] for a in queue] == [unit.cid]

        accepted = await operator.post(f"/api/alarms/{queue[0]['id']}/accept")
        assert accepted.status_code == 200

        answer = await next_reply()
        assert (answer["ref"], answer["snu"]) == ("ACC1", 0)

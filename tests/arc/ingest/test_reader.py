"""The ingest reads a burst as fast as it arrives, even while the event loop is busy storing — so
an alarm inside a reconnect storm is found at once — and reads one packet at a time while an
alarm is being stored, so that reading does not slow the alarm."""

from __future__ import annotations

import asyncio
import time
import uuid

import aiomqtt

from arc.ingest.reader import READ_BURST, EagerClient
from devices.broker import broker_address

BURST = 600


async def _read_while_busy(mqtt_url: str, client_class, **kwargs) -> int:
    """Messages of a burst of BURST read while a competing task keeps the loop busy for 40 slices
    of 2 ms (as heartbeat batches do). The burst waits for the reader in its broker session and
    arrives all at once when it connects, as a storm's backlog does."""
    topic, identifier = f"reader/{uuid.uuid4().hex[:8]}", f"r-{uuid.uuid4().hex[:8]}"
    session = {**broker_address(mqtt_url), "identifier": identifier, "clean_session": False}
    async with aiomqtt.Client(**session) as reader:
        await reader.subscribe(topic, qos=1)
    async with aiomqtt.Client(**broker_address(mqtt_url)) as sender:
        for n in range(BURST):
            await sender.publish(topic, f"m{n}".encode(), qos=1)
    received = 0

    def on_message(_client, _userdata, _message) -> None:
        nonlocal received
        received += 1

    reader = client_class(**session, **kwargs)
    reader._client.on_message = on_message  # as the ingest does: straight from paho's callback
    async with reader:
        for _ in range(40):  # the broker is sending the burst now
            end = time.perf_counter() + 0.002
            while time.perf_counter() < end:
                pass
            await asyncio.sleep(0)
        return received


async def test_a_burst_is_read_through_while_the_loop_is_busy(mqtt_url):
    plain = await _read_while_busy(mqtt_url, aiomqtt.Client)
    eager = await _read_while_busy(mqtt_url, EagerClient)
    assert eager == BURST, f"read {eager} of {BURST}"
    assert plain < BURST / 2  # what it was: one packet per wakeup of the loop


async def test_while_an_alarm_is_stored_the_burst_waits(mqtt_url):
    held = await _read_while_busy(mqtt_url, EagerClient, hold=lambda: True)
    assert 0 < held < READ_BURST  # still reading, a packet per wakeup

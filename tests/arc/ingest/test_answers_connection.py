"""Alarms' answers on a connection of their own (LIFELINE_MQTT_ANSWERS_URL): an alarm's HOLD does
not queue behind what waits on the ingest's connection, and with the answers connection gone the
answers still go, on the ingest's."""

from __future__ import annotations

import asyncio

import pytest

from arc.ingest.worker import IngestWorker
from arc.kit.db import make_sessionmaker
from tests.arc.ingest.conftest import FakeUnit

ALARM = {"dty": "3", "stc": "10"}


async def _answers_up(worker: IngestWorker, within: float = 5.0) -> None:
    for _ in range(int(within / 0.01)):
        if worker.publisher.urgent is not None:
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the answers connection did not open")


async def test_an_alarms_hold_goes_round_a_backed_up_ingest_connection(
    settings, engine, db, clock, unit_alone: FakeUnit
):
    """The ingest's connection is backed up (the transport paused us: the broker is behind on reading
    it) — the alarm's HOLD still reaches the unit, through the answers connection."""
    settings = settings.model_copy(update={"mqtt_answers_url": settings.mqtt_url})
    worker = IngestWorker(settings, make_sessionmaker(engine), clock)
    await worker.start()
    try:
        await _answers_up(worker)
        worker.publisher.client.pause_writing()  # everything on the ingest's connection now waits
        answer = await unit_alone.send("7900001", {"ref": "A1", "cid": "7900001", **ALARM})
        assert (answer["ref"], answer["snu"]) == ("A1", 4)
        heartbeat = {"ref": "H1", "cid": "7900002", "dty": "1", "mty": "PI"}
        await unit_alone.publish("7900002", heartbeat)
        assert await unit_alone.no_reply("7900002", within=0.5), "a heartbeat's answer went round the queue"
        worker.publisher.client.resume_writing()
        assert (await unit_alone.reply("7900002"))["snu"] == 0  # and goes once the socket takes it
    finally:
        await worker.stop()


async def test_without_the_answers_connection_alarms_are_answered_on_the_ingests(
    settings, engine, db, clock, unit_alone: FakeUnit
):
    """A broker that refuses the answers login (or is not reachable on that URL): answers go as before."""
    refused = settings.model_copy(update={"mqtt_answers_url": "mqtt://127.0.0.1:1/"})  # nobody listens there
    worker = IngestWorker(refused, make_sessionmaker(engine), clock)
    await worker.start()
    try:
        answer = await unit_alone.send("7900003", {"ref": "A3", "cid": "7900003", **ALARM})
        assert (answer["ref"], answer["snu"]) == ("A3", 4)
        assert worker.publisher.urgent is None
    finally:
        await worker.stop()


def test_the_answers_connection_needs_a_login_of_its_own():
    """With the ingest's own login, a broker that ties client ids to usernames would make the two
    connections take each other's session over, again and again: refused at start-up."""
    from pydantic import ValidationError

    from arc.kit.settings import Settings

    with pytest.raises(ValidationError, match="login of its own"):
        Settings(env="test", mqtt_url="mqtt://arc:a@broker:1883", mqtt_answers_url="mqtt://arc:a@broker:1883")
    own = Settings(env="test", mqtt_url="mqtt://arc:a@broker:1883", mqtt_answers_url="mqtt://arc-answers:b@broker:1883")
    assert own.mqtt_answers_url

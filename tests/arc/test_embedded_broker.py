"""The demo's embedded broker (amqtt) requires a login and applies the per-unit ACL: nobody else on
the machine can read the traffic, raise an alarm for a customer or forge a unit's answer; the
simulated fleet has a login of its own that speaks only for its units (issue 11, item 5)."""

from __future__ import annotations

import asyncio
import contextlib
import uuid

import aiomqtt
import pytest

from arc.embedded import EmbeddedBroker, free_port
from devices.broker import broker_address

ROOT, MINE, OTHER = "lifeline", "4401000", "4409999"


@pytest.fixture
async def broker():
    embedded = EmbeddedBroker(port=free_port(), fleet_cids=[MINE])
    await embedded.start()
    yield embedded
    await embedded.stop()


def _client(url: str, **overrides) -> aiomqtt.Client:
    options = {**broker_address(url), "identifier": f"t-{uuid.uuid4().hex[:8]}", **overrides}
    return aiomqtt.Client(**options)


async def _received(client: aiomqtt.Client, within: float = 0.7) -> list[tuple[str, bytes]]:
    got: list[tuple[str, bytes]] = []
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(within):
            async for message in client.messages:
                got.append((str(message.topic), bytes(message.payload)))
    return got


async def test_anonymous_and_wrong_logins_are_refused(broker):
    for options in ({"username": None, "password": None}, {"username": "arc", "password": "guess"}):
        with pytest.raises(aiomqtt.MqttError):
            async with _client(broker.url, **options):
                pass


async def test_the_fleet_speaks_only_for_its_units_and_cannot_read_the_service_traffic(broker):
    async with _client(broker.url) as service, _client(broker.fleet_url) as fleet:
        await service.subscribe(f"{ROOT}/+/mrq", qos=1)
        await fleet.subscribe("#", qos=1)  # refused: it reads nothing but its units' answers
        await fleet.subscribe(f"{ROOT}/+/mrs", qos=1)
        await fleet.publish(f"{ROOT}/{OTHER}/mrq", b'{"ref":"F1","dty":"0033"}', qos=1)  # a smoke alarm
        await fleet.publish(f"{ROOT}/{MINE}/mrq", b'{"ref":"R1"}', qos=1)
        assert await _received(service) == [(f"{ROOT}/{MINE}/mrq", b'{"ref":"R1"}')]
        await fleet.publish(f"{ROOT}/{MINE}/mrs", b'{"ref":"R1","snu":0}', qos=1)  # a forged answer
        await service.publish(f"{ROOT}/{OTHER}/mrs", b'{"ref":"X","snu":0}', qos=1)
        await service.publish(f"{ROOT}/{MINE}/mrs", b'{"ref":"R1","snu":4}', qos=1)
        assert await _received(fleet) == [(f"{ROOT}/{MINE}/mrs", b'{"ref":"R1","snu":4}')]


async def test_the_demo_gives_the_service_a_random_client_id_and_the_fleet_its_own_login(settings):
    """amqtt drops a session whose client id a newcomer names before it checks the newcomer's
    login, so the service's id must be unknowable: random for each run of the in-memory broker."""
    from arc.runtime import resolved_services

    demo = settings.model_copy(update={"mqtt_url": None})
    seen = []
    for _ in range(2):
        async with resolved_services(demo, fleet_cids=[MINE]) as live:
            seen.append(live.mqtt_client_id)
            assert broker_address(live.simulator_mqtt_url)["username"] == "fleet"
            assert broker_address(live.mqtt_url)["username"] == "arc"
            async with _client(live.mqtt_url, identifier=live.mqtt_client_id):
                pass
    assert seen[0] != seen[1] and settings.mqtt_client_id not in seen

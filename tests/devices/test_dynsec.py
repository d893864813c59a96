"""Units' logins through Mosquitto's dynamic security plugin: a real Mosquitto started with the
shipped deploy/mosquitto/mosquitto-dynsec.conf and a file made by `lifeline units dynsec-init`.
A provisioned unit connects and publishes only its own mrq; a revoked one is dropped and refused."""

from __future__ import annotations

import argparse
import asyncio
import json
import uuid
from pathlib import Path

import aiomqtt
import pytest
from pydantic import SecretStr

from arc.commands import CommandError, units_command
from arc.embedded import free_port
from arc.kit.settings import Settings
from arc.registry.broker_logins import BrokerUnavailable, DynsecLogins
from devices import credentials, dynsec
from tests.devices.test_credentials import (
    HAVE_MOSQUITTO,
    SHIPPED_CONF,
    _client,
    _received,
    shipped_conf,
    start_mosquitto,
)

DYNSEC_CONF = SHIPPED_CONF.with_name("mosquitto-dynsec.conf")
PLUGIN = Path("/usr/lib/x86_64-linux-gnu/mosquitto_dynamic_security.so")
HAVE_PLUGIN = PLUGIN.exists()
UNIT_A, UNIT_B = "4401001", "4401002"


@pytest.fixture
async def dynsec_broker(tmp_path):
    """``settings`` (broker_credentials=dynsec, its admin login), ``logins`` (the service's own
    broker logins by name), ``port``, ``root``."""
    if not HAVE_MOSQUITTO:
        pytest.skip("/usr/sbin/mosquitto not installed (tests/run.sh installs it)")
    if not HAVE_PLUGIN:
        pytest.skip(f"{PLUGIN} missing (Debian's mosquitto package ships it)")
    root = f"lt{uuid.uuid4().hex[:8]}"
    base = Settings(env="test", secret_key="d" * 40, mqtt_topic_root=root, mqtt_shared_group="arc")
    made = await units_command(
        base, argparse.Namespace(units_command="dynsec-init", file=tmp_path / "dynamic-security.json")
    )
    port, tls_port = free_port(), free_port()
    conf = tmp_path / "mosquitto.conf"
    conf.write_text(
        shipped_conf(
            tmp_path, port, tls_port, files={"plugin_opt_config_file": made["file"]}, source=DYNSEC_CONF
        )
    )
    process = await start_mosquitto(conf, port, tls_port)
    logins = made["logins"]
    settings = base.model_copy(
        update={
            "mqtt_url": f"mqtt://arc:{logins['arc']}@127.0.0.1:{port}",
            "broker_credentials": "dynsec",
            "dynsec_password": SecretStr(logins["arc-admin"]),
        }
    )
    try:
        yield {"settings": settings, "logins": logins, "port": port, "root": root}
    finally:
        process.terminate()
        await asyncio.wait_for(process.wait(), 5)


async def test_a_provisioned_unit_publishes_only_its_own_mrq_and_a_revoked_one_is_dropped(dynsec_broker):
    b, root = dynsec_broker, dynsec_broker["root"]
    admin = DynsecLogins(b["settings"])
    secret = credentials.generate_password()
    await admin.give(UNIT_A, secret)
    async with (
        _client(b, "arc", b["logins"]["arc"]) as service,
        _client(b, UNIT_A, secret) as unit_a,
    ):
        await service.subscribe(f"$share/arc/{root}/+/mrq", qos=1)  # the ingest's shared subscription
        await unit_a.publish(f"{root}/{UNIT_B}/mrq", b'{"ref":"F1","cid":"4401002"}', qos=1)
        await unit_a.publish(f"{root}/{UNIT_A}/mrq", b'{"ref":"R1","cid":"4401001"}', qos=1)
        assert await _received(service) == [(f"{root}/{UNIT_A}/mrq", b'{"ref":"R1","cid":"4401001"}')]

        await unit_a.subscribe(f"{root}/+/mrs", qos=1)  # snooping on everyone's answers: refused
        await unit_a.subscribe(f"{root}/{UNIT_A}/mrs", qos=1)
        await service.publish(f"{root}/{UNIT_B}/mrs", b'{"ref":"X"}', qos=1)
        await service.publish(f"{root}/{UNIT_A}/mrs", b'{"ref":"R1","snu":0}', qos=1)
        assert await _received(unit_a) == [(f"{root}/{UNIT_A}/mrs", b'{"ref":"R1","snu":0}')]

        assert await admin.take(UNIT_A) is True
        with pytest.raises(aiomqtt.MqttError):  # the broker dropped the connected unit at once
            for _ in range(20):
                await unit_a.publish(f"{root}/{UNIT_A}/mrq", b"{}", qos=1)
                await asyncio.sleep(0.1)
    with pytest.raises(aiomqtt.MqttError):  # and refuses it from now on
        async with _client(b, UNIT_A, secret):
            pass
    assert await admin.take(UNIT_A) is False  # nothing left to take


async def test_provisioning_again_retires_the_old_secret(dynsec_broker):
    b = dynsec_broker
    admin = DynsecLogins(b["settings"])
    first, second = credentials.generate_password(), credentials.generate_password()
    await admin.give(UNIT_A, first)
    await admin.give(UNIT_A, second)
    with pytest.raises(aiomqtt.MqttError):
        async with _client(b, UNIT_A, first):
            pass
    async with _client(b, UNIT_A, second):
        pass


async def test_a_unit_cannot_use_the_control_topic_to_make_itself_logins(dynsec_broker):
    b = dynsec_broker
    admin = DynsecLogins(b["settings"])
    secret = credentials.generate_password()
    await admin.give(UNIT_A, secret)
    forged = {
        "commands": [{"command": "createClient", "username": "4409999", "password": "let-me-in-please"}]
    }
    async with _client(b, UNIT_A, secret) as unit_a:
        await unit_a.publish(dynsec.CONTROL_TOPIC, json.dumps(forged), qos=1)
        await asyncio.sleep(0.3)
    with pytest.raises(aiomqtt.MqttError):
        async with _client(b, "4409999", "let-me-in-please"):
            pass
    with pytest.raises(BrokerUnavailable):  # nor may the service's own login manage the broker
        await DynsecLogins(
            b["settings"].model_copy(
                update={"dynsec_username": "arc", "dynsec_password": SecretStr(b["logins"]["arc"])}
            ),
            timeout=1.0,
        ).give(UNIT_B, secret)


async def test_a_broker_that_is_away_is_broker_unavailable(dynsec_broker):
    away = dynsec_broker["settings"].model_copy(update={"mqtt_url": f"mqtt://127.0.0.1:{free_port()}"})
    with pytest.raises(BrokerUnavailable, match="could not be reached"):
        await DynsecLogins(away, timeout=2.0).give(UNIT_A, credentials.generate_password())


async def test_dynsec_init_never_overwrites_the_brokers_file(dynsec_broker, tmp_path):
    existing = tmp_path / "dynamic-security.json"
    before = existing.read_text()
    with pytest.raises(CommandError, match="exists"):
        await units_command(
            dynsec_broker["settings"], argparse.Namespace(units_command="dynsec-init", file=existing)
        )
    assert existing.read_text() == before
    assert "let-me-in" not in before and dynsec_broker["logins"]["arc"] not in before  # hashes only

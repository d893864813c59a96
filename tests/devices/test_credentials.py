"""Per-unit broker credentials: Mosquitto password entries, the ACL, and a real Mosquitto enforcing them
(a unit cannot publish as another unit, nor read another unit's answers)."""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import uuid
from pathlib import Path

import aiomqtt
import pytest
from sqlalchemy import select

from arc.audit.models import AuditEntry
from arc.embedded import free_port
from arc.security.commands import CommandError, units_command
from devices import credentials
from tests.factories import create_unit

MOSQUITTO = Path("/usr/sbin/mosquitto")
HAVE_MOSQUITTO = MOSQUITTO.exists()
UNIT_A, UNIT_B = "4401001", "4401002"


@pytest.mark.skipif(shutil.which("mosquitto_passwd") is None, reason="mosquitto_passwd not installed")
def test_hash_is_the_format_mosquitto_passwd_writes(tmp_path):
    reference = tmp_path / "ref"
    subprocess.run(["mosquitto_passwd", "-c", "-b", str(reference), UNIT_A, "s3cret-pass"], check=True)
    encoded = reference.read_text().strip().split(":", 1)[1]
    _, kind, iterations, salt, _ = encoded.split("$")
    assert kind == "7"
    ours = credentials.mosquitto_hash("s3cret-pass", salt=base64.b64decode(salt), iterations=int(iterations))
    assert ours == encoded
    assert credentials.verify_mosquitto_hash(encoded, "s3cret-pass")
    assert not credentials.verify_mosquitto_hash(encoded, "wrong")


def test_provision_replaces_only_that_units_line_and_revoke_removes_it(tmp_path):
    passwd = tmp_path / "passwd"
    first = credentials.provision_unit(passwd, UNIT_A)
    credentials.provision_unit(passwd, UNIT_B)
    second = credentials.provision_unit(passwd, UNIT_A)  # re-provisioning issues a new password
    lines = dict(line.split(":", 1) for line in passwd.read_text().splitlines())
    assert set(lines) == {UNIT_A, UNIT_B} and first != second
    assert credentials.verify_mosquitto_hash(lines[UNIT_A], second)
    assert not credentials.verify_mosquitto_hash(lines[UNIT_A], first)
    assert oct(passwd.stat().st_mode & 0o777) == "0o600"
    assert credentials.revoke_unit(passwd, UNIT_A) is True
    assert credentials.revoke_unit(passwd, UNIT_A) is False
    assert not credentials.has_password_entry(passwd, UNIT_A) and credentials.has_password_entry(
        passwd, UNIT_B
    )
    with pytest.raises(ValueError):
        credentials.provision_unit(passwd, "44#01")


def test_acl_lets_each_unit_touch_only_its_own_topics():
    acl = credentials.render_acl("lifeline", "arc", shared_group="arc")
    assert "pattern write lifeline/%u/mrq" in acl and "pattern read lifeline/%u/mrs" in acl
    assert "topic read $share/arc/lifeline/+/mrq" in acl and "topic write lifeline/+/mrs" in acl
    assert "pattern read lifeline/+/" not in acl and "pattern write lifeline/+/" not in acl
    with pytest.raises(ValueError):
        credentials.render_acl("lifeline", "4401001")  # a digits-only service user would be a unit


# --- a real Mosquitto with the generated files -------------------------------------------------


async def _wait_for_port(port: int, seconds: float = 5.0) -> None:
    deadline = asyncio.get_running_loop().time() + seconds
    while True:
        with contextlib.suppress(OSError):
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        if asyncio.get_running_loop().time() > deadline:
            raise TimeoutError("mosquitto did not start")
        await asyncio.sleep(0.05)


@pytest.fixture
async def broker(tmp_path):
    if not HAVE_MOSQUITTO:
        pytest.skip("/usr/sbin/mosquitto not installed")
    root = f"lt{uuid.uuid4().hex[:8]}"
    passwd, acl = tmp_path / "passwd", tmp_path / "acl"
    service_password = credentials.generate_password()
    credentials.set_password_entry(passwd, "arc", service_password)
    passwords = {cid: credentials.provision_unit(passwd, cid) for cid in (UNIT_A, UNIT_B)}
    credentials.write_acl(acl, root, "arc")
    port = free_port()
    conf = tmp_path / "mosquitto.conf"
    conf.write_text(
        f"listener {port} 127.0.0.1\nallow_anonymous false\npassword_file {passwd}\nacl_file {acl}\n"
        "persistence false\nlog_dest none\n" + ("user root\n" if os.geteuid() == 0 else "")
        # as root, mosquitto would drop to its own user, which cannot read our 0600 files
    )
    process = await asyncio.create_subprocess_exec(
        str(MOSQUITTO), "-c", str(conf), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        await _wait_for_port(port)
        yield {
            "port": port,
            "root": root,
            "passwd": passwd,
            "service": service_password,
            "process": process,
            **passwords,
        }
    finally:
        process.terminate()
        await asyncio.wait_for(process.wait(), 5)


def _client(broker, username: str, password: str) -> aiomqtt.Client:
    return aiomqtt.Client(
        "127.0.0.1",
        port=broker["port"],
        username=username,
        password=password,
        identifier=f"t-{uuid.uuid4().hex[:8]}",
    )


async def _received(client: aiomqtt.Client, within: float = 1.0) -> list[tuple[str, bytes]]:
    got: list[tuple[str, bytes]] = []
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(within):
            async for message in client.messages:
                got.append((str(message.topic), message.payload))
    return got


async def test_a_unit_cannot_publish_as_another_unit_but_can_as_itself(broker):
    root = broker["root"]
    async with (
        _client(broker, "arc", broker["service"]) as service,
        _client(broker, UNIT_A, broker[UNIT_A]) as unit_a,
    ):
        await service.subscribe(f"{root}/+/mrq", qos=1)
        await unit_a.publish(f"{root}/{UNIT_B}/mrq", b'{"ref":"F1","cid":"4401002","dty":"0003"}', qos=1)
        assert await _received(service) == []  # the broker dropped the forged request
        await unit_a.publish(f"{root}/{UNIT_A}/mrq", b'{"ref":"R1","cid":"4401001","dty":"0003"}', qos=1)
        assert await _received(service) == [
            (f"{root}/{UNIT_A}/mrq", b'{"ref":"R1","cid":"4401001","dty":"0003"}')
        ]


async def test_a_unit_reads_only_its_own_answers(broker):
    root = broker["root"]
    async with (
        _client(broker, "arc", broker["service"]) as service,
        _client(broker, UNIT_A, broker[UNIT_A]) as unit_a,
        _client(broker, UNIT_B, broker[UNIT_B]) as unit_b,
    ):
        await unit_a.subscribe(f"{root}/{UNIT_B}/mrs", qos=1)  # snooping
        await unit_b.subscribe(f"{root}/{UNIT_B}/mrs", qos=1)
        await service.publish(f"{root}/{UNIT_B}/mrs", b'{"ref":"R1","snu":0}', qos=1)
        assert await _received(unit_b) == [(f"{root}/{UNIT_B}/mrs", b'{"ref":"R1","snu":0}')]
        assert await _received(unit_a, within=0.3) == []


async def test_wrong_or_revoked_credentials_cannot_connect(broker):
    with pytest.raises(aiomqtt.MqttError):
        async with _client(broker, UNIT_A, "not-the-password"):
            pass
    credentials.revoke_unit(broker["passwd"], UNIT_A)
    os.kill(broker["process"].pid, signal.SIGHUP)  # mosquitto re-reads its password file
    await asyncio.sleep(0.3)
    with pytest.raises(aiomqtt.MqttError):
        async with _client(broker, UNIT_A, broker[UNIT_A]):
            pass
    async with _client(broker, UNIT_B, broker[UNIT_B]):
        pass  # the others are untouched


# --- lifeline units provision / revoke ---------------------------------------------------------


async def test_units_command_provisions_registered_units_only_and_audits(settings, session, tmp_path):
    await create_unit(session, cid=UNIT_A)
    await session.commit()
    paths = {"passwd_file": tmp_path / "passwd", "acl_file": tmp_path / "acl"}
    made = await units_command(settings, argparse.Namespace(units_command="provision", cid=UNIT_A, **paths))
    assert made["username"] == UNIT_A
    entry = (tmp_path / "passwd").read_text().strip().split(":", 1)[1]
    assert credentials.verify_mosquitto_hash(entry, made["password"])
    assert f"pattern write {settings.mqtt_topic_root}/%u/mrq" in (tmp_path / "acl").read_text()

    with pytest.raises(CommandError, match="not registered"):
        await units_command(settings, argparse.Namespace(units_command="provision", cid=UNIT_B, **paths))
    revoked = await units_command(settings, argparse.Namespace(units_command="revoke", cid=UNIT_A, **paths))
    assert revoked["revoked"] is True and (tmp_path / "passwd").read_text() == ""
    actions = (
        await session.scalars(select(AuditEntry.action).where(AuditEntry.object_type == "unit_credentials"))
    ).all()
    assert actions == ["provision", "revoke"]
    assert "password" not in str((await session.scalars(select(AuditEntry.detail))).all())

"""Per-unit broker credentials: Mosquitto password entries, the ACL, and a real Mosquitto enforcing them
(a unit cannot publish as another unit, nor read another unit's answers)."""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import hashlib
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
from arc.commands import CommandError, units_command
from arc.embedded import free_port
from arc.ingest.mqtt import wire_options
from arc.ingest.wire import Connection
from arc.kit.settings import Settings
from arc.registry.sip import UnitSipCredential
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
    two = credentials.render_acl("lifeline", "arc-1,arc-2")  # one login per service process
    assert "user arc-1\ntopic read lifeline/+/mrq" in two and "user arc-2\ntopic read lifeline/+/mrq" in two


def test_the_ingest_client_id_is_private_and_stable():
    one, same, other = (Settings(env="test", secret_key=k * 40) for k in "aab")
    assert one.mqtt_client_id == same.mqtt_client_id != other.mqtt_client_id
    assert "lifeline-arc-ingest" not in one.mqtt_client_id and "a" * 8 not in one.mqtt_client_id
    assert Settings(env="test", mqtt_client_id="mine").mqtt_client_id == "mine"


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


SHIPPED_CONF = Path(__file__).resolve().parents[2] / "deploy" / "mosquitto" / "mosquitto.conf"
MAKE_TEST_CA = SHIPPED_CONF.parents[1] / "make-test-ca.sh"


def shipped_conf(tmp_path: Path, port: int, tls_port: int, *, files: dict, source: Path = SHIPPED_CONF) -> str:
    """A config of deploy/mosquitto/ as shipped, with only its paths and ports moved here
    (``files``: each file setting's new value, e.g. ``{"password_file": path}``)."""
    certs = tmp_path / "certs"
    subprocess.run(["bash", str(MAKE_TEST_CA), str(certs), "localhost"], check=True, capture_output=True)
    (tmp_path / "data").mkdir()
    moved = {
        "persistence_location ": f"persistence_location {tmp_path / 'data'}/",
        "listener 1883": f"listener {port} 127.0.0.1",
        "listener 8883": f"listener {tls_port} 127.0.0.1",
        "certfile ": f"certfile {certs / 'server.crt'}",
        "keyfile ": f"keyfile {certs / 'server.key'}",
        **{f"{key} ": f"{key} {value}" for key, value in files.items()},
    }
    lines, used = [], set()
    for line in source.read_text().splitlines():
        prefix = next((p for p in moved if line.startswith(p)), None)
        if prefix is not None:
            line = moved[prefix]
            used.add(prefix)
        lines.append(line)
    assert used == set(moved), f"the shipped config lost {set(moved) - used}"
    # as root, mosquitto would drop to its own user, which cannot read our 0600 files
    return "\n".join([*lines, "log_dest none", *(["user root"] if os.geteuid() == 0 else [])]) + "\n"


async def start_mosquitto(conf: Path, port: int, tls_port: int):
    process = await asyncio.create_subprocess_exec(
        str(MOSQUITTO), "-c", str(conf), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        await _wait_for_port(port)
        await _wait_for_port(tls_port)
    except BaseException:
        process.terminate()
        raise
    return process


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
    port, tls_port = free_port(), free_port()
    conf = tmp_path / "mosquitto.conf"
    conf.write_text(shipped_conf(tmp_path, port, tls_port, files={"password_file": passwd, "acl_file": acl}))
    process = await start_mosquitto(conf, port, tls_port)
    try:
        yield {
            "port": port,
            "tls_port": tls_port,
            "ca": tmp_path / "certs" / "ca.crt",
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


def _ingest_settings(broker) -> Settings:
    """The ingest's own connection options (MQTT 5 persistent session, its client id)."""
    return Settings(
        env="test",
        secret_key="s" * 40,
        mqtt_url=f"mqtt://arc:{broker['service']}@127.0.0.1:{broker['port']}",
        mqtt_topic_root=broker["root"],
    )


class _Ingest:
    """The ingest's connection (arc/ingest/wire.py), acknowledging what it receives."""

    def __init__(self, broker) -> None:
        self.options = wire_options(_ingest_settings(broker), "5")
        self.messages: asyncio.Queue[tuple[str, bytes]] = asyncio.Queue()
        self.connection: Connection | None = None

    def _on_message(self, connection: Connection, topic: str, payload: bytes, mid: int, qos: int) -> None:
        self.messages.put_nowait((topic, payload))
        connection.ack(mid, qos)

    async def __aenter__(self) -> _Ingest:
        self.connection = Connection(self.options, self._on_message)
        await self.connection.open()
        return self

    async def __aexit__(self, *exc) -> None:
        assert self.connection is not None
        self.connection.close()

    async def subscribe(self, topic: str, qos: int) -> None:
        assert self.connection is not None
        await self.connection.subscribe(topic, qos)

    async def received(self, within: float) -> list[tuple[str, bytes]]:
        got: list[tuple[str, bytes]] = []
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(within):
                while True:
                    got.append(await self.messages.get())
        return got


async def test_a_unit_cannot_take_the_ingests_session(broker):
    """A unit naming the ingest's client id (or its username) neither cuts the ingest off nor gets
    the messages queued for it: the shipped config replaces every client id with its username."""
    root, ingest_id = broker["root"], _Ingest(broker).options.client_id
    assert not ingest_id.startswith("lifeline-arc-ingest")  # not the once-documented fixed id
    async with _Ingest(broker) as ingest:
        await ingest.subscribe(f"{root}/+/mrq", qos=1)
    # the ingest is away; its persistent session queues unit B's request
    async with _client(broker, UNIT_B, broker[UNIT_B]) as unit_b:
        await unit_b.publish(f"{root}/{UNIT_B}/mrq", b'{"ref":"Q1"}', qos=1)
    for identifier in (ingest_id, "arc"):  # unit A with its own password, naming the ingest's session
        thief = aiomqtt.Client(
            "127.0.0.1",
            port=broker["port"],
            username=UNIT_A,
            password=broker[UNIT_A],
            identifier=identifier,
            clean_session=False,
        )
        async with thief:
            await thief.subscribe(f"{root}/+/mrq", qos=1)
            assert await _received(thief, within=0.3) == []
    with pytest.raises(aiomqtt.MqttError):  # nor can a unit's password log in as the service
        async with _client(broker, "arc", broker[UNIT_A]):
            pass
    async with _Ingest(broker) as ingest:
        assert await ingest.received(within=0.5) == [(f"{root}/{UNIT_B}/mrq", b'{"ref":"Q1"}')]
        for _ in range(3):  # a unit reconnecting under the ingest's id again and again
            async with aiomqtt.Client(
                "127.0.0.1",
                port=broker["port"],
                username=UNIT_A,
                password=broker[UNIT_A],
                identifier=ingest_id,
            ):
                pass  # (it only ever replaces its own earlier connection)
        async with _client(broker, UNIT_A, broker[UNIT_A]) as unit_a:
            await unit_a.publish(f"{root}/{UNIT_A}/mrq", b'{"ref":"R2"}', qos=1)
        # the ingest was never dropped: it still receives on the same connection
        assert await ingest.received(within=0.5) == [(f"{root}/{UNIT_A}/mrq", b'{"ref":"R2"}')]
        assert not ingest.connection.closed.done()


async def test_the_shipped_config_refuses_messages_past_its_size_cap(broker):
    root = broker["root"]
    async with _client(broker, "arc", broker["service"]) as service:
        await service.subscribe(f"{root}/+/mrq", qos=1)
        async with _client(broker, UNIT_A, broker[UNIT_A]) as unit_a:
            await unit_a.publish(f"{root}/{UNIT_A}/mrq", b"x" * 66_000, qos=1)  # over message_size_limit
            await unit_a.publish(f"{root}/{UNIT_A}/mrq", b"y" * 60_000, qos=1)  # under it
        assert [len(payload) for _, payload in await _received(service)] == [60_000]
        with contextlib.suppress(aiomqtt.MqttError):  # over max_packet_size: the unit is dropped
            async with _client(broker, UNIT_A, broker[UNIT_A]) as unit_a:
                await unit_a.publish(f"{root}/{UNIT_A}/mrq", b"z" * 1_000_000, qos=1)
        assert await _received(service, within=0.5) == []


async def test_units_connect_over_tls_with_the_test_ca(broker):
    root = broker["root"]
    tls = aiomqtt.TLSParameters(ca_certs=str(broker["ca"]))
    async with (
        _client(broker, "arc", broker["service"]) as service,
        aiomqtt.Client(
            "localhost",
            port=broker["tls_port"],
            username=UNIT_A,
            password=broker[UNIT_A],
            tls_params=tls,
        ) as unit_a,
    ):
        await service.subscribe(f"{root}/+/mrq", qos=1)
        await unit_a.publish(f"{root}/{UNIT_A}/mrq", b'{"ref":"T1"}', qos=1)
        assert await _received(service) == [(f"{root}/{UNIT_A}/mrq", b'{"ref":"T1"}')]


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


async def test_provision_gives_one_secret_for_mqtt_and_sip_digest(settings, session, tmp_path):
    unit = await create_unit(session, cid=UNIT_A)
    await session.commit()
    paths = {"passwd_file": tmp_path / "passwd", "acl_file": tmp_path / "acl"}
    made = await units_command(settings, argparse.Namespace(units_command="provision", cid=UNIT_A, **paths))
    row = await session.scalar(select(UnitSipCredential).where(UnitSipCredential.username == UNIT_A))
    expected = hashlib.md5(f"{UNIT_A}:{settings.sip_realm}:{made['password']}".encode()).hexdigest()  # noqa: S324
    assert (row.unit_id, row.realm, row.ha1) == (unit.id, settings.sip_realm, expected)
    acl = (tmp_path / "acl").read_text()
    assert f"user {settings.sip_gateway_username}\ntopic write {settings.mqtt_topic_root}/+/mrq" in acl

    again = await units_command(settings, argparse.Namespace(units_command="provision", cid=UNIT_A, **paths))
    session.expire_all()
    row = await session.scalar(select(UnitSipCredential).where(UnitSipCredential.username == UNIT_A))
    assert row.ha1 == credentials.sip_ha1(UNIT_A, settings.sip_realm, again["password"]) != expected

    await units_command(settings, argparse.Namespace(units_command="revoke", cid=UNIT_A, **paths))
    assert await session.scalar(select(UnitSipCredential).where(UnitSipCredential.username == UNIT_A)) is None

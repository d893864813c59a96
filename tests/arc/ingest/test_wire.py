"""The ingest's own MQTT connection (arc/ingest/wire.py): what it reads, what it answers, when it
acknowledges — on the bytes, and against Mosquitto (MQTT 5 and 3.1.1) and the embedded amqtt."""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid

import aiomqtt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from arc.embedded import EmbeddedBroker, free_port
from arc.ingest.packets import WireError, WireOptions, read_varint
from arc.ingest.packets import varint as _varint
from arc.ingest.wire import READ_BURST, Connection
from devices.broker import broker_address

# --- on the bytes ---------------------------------------------------------------------------------


def _publish(topic: str, payload: bytes, mid: int, qos: int, *, v5: bool, properties: bytes = b"") -> bytes:
    body = len(topic.encode()).to_bytes(2, "big") + topic.encode()
    if qos:
        body += mid.to_bytes(2, "big")
    if v5:
        body += _varint(len(properties)) + properties
    body += payload
    return bytes((0x30 | qos << 1,)) + _varint(len(body)) + body


class _Transport:
    def __init__(self) -> None:
        self.written = bytearray()
        self.paused = False
        self.closed = False

    def write(self, data: bytes) -> None:
        self.written += data

    def get_extra_info(self, name: str, default=None):
        return default

    def set_write_buffer_limits(self, high: int | None = None, low: int | None = None) -> None:
        self.limits = (high, low)

    def pause_reading(self) -> None:
        self.paused = True

    def resume_reading(self) -> None:
        self.paused = False

    def close(self) -> None:
        self.closed = True


def _connected(version: str = "5", connack_properties: bytes = b"") -> tuple[Connection, list, _Transport]:
    got: list[tuple[str, bytes, int, int]] = []
    options = WireOptions(hostname="x", port=1, client_id="t", version=version)
    connection = Connection(options, lambda _c, topic, payload, mid, qos: got.append((topic, payload, mid, qos)))
    transport = _Transport()
    connection.connection_made(transport)  # type: ignore[arg-type]
    if version == "5":
        body = b"\x00\x00" + _varint(len(connack_properties)) + connack_properties
    else:
        body = b"\x00\x00"
    connection.data_received(b"\x20" + _varint(len(body)) + body)
    return connection, got, transport


_MESSAGES = st.lists(
    st.tuples(
        st.text(st.characters(codec="utf-8", exclude_characters="\x00"), min_size=1, max_size=40),
        st.binary(max_size=300),
        st.integers(0, 1),
        st.binary(max_size=200),  # MQTT 5: user properties, content type... skipped, whatever their length
    ),
    min_size=1,
    max_size=30,
)


@settings(max_examples=60, deadline=None)
@given(messages=_MESSAGES, version=st.sampled_from(["5", "3.1.1"]), cuts=st.lists(st.integers(1, 5000)))
def test_every_message_is_read_whole_and_in_order_however_the_stream_is_cut(messages, version, cuts):
    async def scenario() -> None:
        connection, got, _ = _connected(version)
        stream = b""
        for n, (topic, payload, qos, extra) in enumerate(messages, start=1):
            properties = b"\x26" + len(extra).to_bytes(2, "big") + extra + b"\x00\x00"  # a user property
            stream += _publish(topic, payload, n, qos, v5=version == "5", properties=properties)
            stream += b"\xd0\x00"  # a PINGRESP between them
        at = 0
        for cut in [*sorted({c % len(stream) for c in cuts}), len(stream)]:
            if cut > at:
                connection.data_received(stream[at:cut])
                at = cut
            for _ in range(3):
                await asyncio.sleep(0)
        expected = [(t, p, n if q else 0, q) for n, (t, p, q, _) in enumerate(messages, start=1)]
        assert got == expected
        assert not connection.closed.done()

    asyncio.run(scenario())


@given(st.integers(0, 268_435_455))
def test_packet_lengths_read_back(n):
    assert read_varint(_varint(n) + b"rest", 0) == (n, len(_varint(n)))


async def test_acknowledged_only_when_told_and_answers_leave_together():
    connection, got, transport = _connected()
    connection.data_received(_publish("lifeline/1/mrq", b"hb", 7, 1, v5=True))
    await asyncio.sleep(0)
    assert got == [("lifeline/1/mrq", b"hb", 7, 1)]
    assert transport.written == b""  # no PUBACK before the ingest has committed it
    connection.publish("lifeline/1/mrs", b"answer", qos=1)
    connection.ack(7)
    assert transport.written == b""  # both wait for the end of this turn of the loop...
    await asyncio.sleep(0)
    answer = _publish("lifeline/1/mrs", b"answer", 1, 1, v5=True)
    assert bytes(transport.written) == answer + b"\x40\x02\x00\x07"  # ... and go in one write


async def test_answers_beyond_the_brokers_receive_maximum_wait_for_its_pubacks():
    connection, _, transport = _connected(connack_properties=b"\x21\x00\x02")  # Receive Maximum 2
    for n in range(3):
        connection.publish("lifeline/1/mrs", f"a{n}".encode())
    await asyncio.sleep(0)
    assert transport.written.count(b"lifeline/1/mrs") == 2
    connection.data_received(b"\x40\x02\x00\x01")  # the broker acknowledges the first
    await asyncio.sleep(0)
    assert transport.written.count(b"lifeline/1/mrs") == 3


async def test_an_alarms_answer_waiting_for_the_brokers_window_goes_before_heartbeats_answers():
    connection, _, transport = _connected(connack_properties=b"\x21\x00\x01")  # Receive Maximum 1
    connection.publish("lifeline/1/mrs", b"ok-1", bulk=True)  # in flight
    await asyncio.sleep(0)  # written (the broker can only acknowledge what it has been sent)
    for n in range(2, 5):
        connection.publish(f"lifeline/{n}/mrs", f"ok-{n}".encode(), bulk=True)
    connection.publish("lifeline/9/mrs", b"hold-9")  # an alarm's answer, after them
    for mid in (1, 2, 3):
        connection.data_received(b"\x40\x02" + mid.to_bytes(2, "big"))
        await asyncio.sleep(0)
    order = [part.split(b"/mrs")[0].rsplit(b"/", 1)[-1] for part in transport.written.split(b"lifeline")[1:]]
    assert order == [b"1", b"9", b"2", b"3"]


async def test_while_the_socket_is_backed_up_an_alarms_answer_goes_out_ahead_of_what_waits():
    """A storm's answers outrun the broker: the transport pauses us. What is written meanwhile waits
    here, and when the socket takes more, the alarm's HOLD goes before the heartbeats' answers and
    PUBACKs that were waiting longer (the broker reads a connection's bytes in order)."""
    connection, _, transport = _connected()
    connection.pause_writing()  # the transport's buffer passed its high-water mark
    for n in range(1, 4):
        connection.publish(f"lifeline/{n}/mrs", f"ok-{n}".encode(), qos=0, bulk=True)
        connection.ack(n)
    connection.publish("lifeline/9/mrs", b"hold-9", urgent=True)
    await asyncio.sleep(0)
    assert transport.written == b"", "nothing is written while the transport is paused"
    connection.resume_writing()
    written = bytes(transport.written)
    assert written.startswith(_publish("lifeline/9/mrs", b"hold-9", 1, 1, v5=True)), written[:40]
    assert written.count(b"/mrs") == 4 and written.count(b"\x40\x02") == 3, "everything else follows"


async def test_a_burst_is_parsed_a_slice_at_a_time_with_reading_paused_between():
    connection, got, transport = _connected()
    total = 2 * READ_BURST + 50
    connection.data_received(b"".join(_publish("t/1/mrq", b"x", n, 1, v5=True) for n in range(1, total + 1)))
    assert len(got) == READ_BURST and transport.paused  # a slice now; the event loop runs in between
    for _ in range(10):
        await asyncio.sleep(0)
    assert [mid for _, _, mid, _ in got] == list(range(1, total + 1))
    assert not transport.paused


async def test_a_malformed_packet_or_qos_2_ends_the_connection_and_nothing_is_acknowledged():
    for bad in (_publish("t/1/mrq", b"x", 5, 2, v5=True), b"\x30\xff\xff\xff\xff\x01"):
        connection, got, transport = _connected()
        connection.data_received(bad)
        assert got == [] and transport.closed and connection.closed.done()
        with pytest.raises(WireError, match="protocol error"):
            await connection.closed


# --- against brokers ------------------------------------------------------------------------------


@contextlib.asynccontextmanager
async def _amqtt(*, open_for_tests: bool):
    broker = EmbeddedBroker(port=free_port(), open_for_tests=open_for_tests)
    await broker.start()
    try:
        yield broker
    finally:
        await broker.stop()


def _options(url: str, version: str, client_id: str, **overrides) -> WireOptions:
    address = broker_address(url)
    return WireOptions(
        hostname=address["hostname"],
        port=address["port"],
        username=address["username"],
        password=address["password"],
        client_id=client_id,
        version=version,
        session_expiry=60,
        **overrides,
    )


async def _session_survives_and_unacknowledged_messages_come_back(
    url: str, version: str, *, redelivers: bool = True
) -> None:
    topic = f"wire/{uuid.uuid4().hex[:8]}"
    client_id = f"w-{uuid.uuid4().hex[:8]}"
    got: list[tuple[str, bytes, int, int]] = []

    def keep(_c: Connection, topic: str, payload: bytes, mid: int, qos: int) -> None:
        got.append((topic, payload, mid, qos))

    first = Connection(_options(url, version, client_id), keep)
    await first.open()
    await first.subscribe(f"{topic}/+/mrq", 1)
    async with aiomqtt.Client(**broker_address(url), identifier=f"u-{uuid.uuid4().hex[:6]}") as unit:
        await unit.subscribe(f"{topic}/+/mrs", qos=1)
        for n in range(5):
            await unit.publish(f"{topic}/{n}/mrq", f"m{n}".encode(), qos=1)
        await _until(lambda: len(got) >= 5)
        for _, _payload, mid, qos in got[:3]:  # three committed and acknowledged, two not
            first.ack(mid, qos)
        assert first.publish(f"{topic}/0/mrs", b"answer", qos=1)
        assert first.publish(f"{topic}/1/mrs", b"beat", qos=0)
        async with asyncio.timeout(5):
            answers = [(str(m.topic), m.payload) async for m in _take(unit, 2)]
        assert sorted(answers) == [(f"{topic}/0/mrs", b"answer"), (f"{topic}/1/mrs", b"beat")]
        await asyncio.sleep(0.2)  # the PUBACKs reach the broker
        first.close()
        with pytest.raises(WireError):
            await first.closed
    got.clear()
    second = Connection(_options(url, version, client_id), keep)
    await second.open()
    try:
        assert second.session_present
        if not redelivers:
            return
        await _until(lambda: len(got) >= 2)
        await asyncio.sleep(0.3)
        assert sorted(payload for _, payload, _, _ in got) == [b"m3", b"m4"]  # only the two not acknowledged
    finally:
        second.close()


async def _until(condition, within: float = 5.0) -> None:
    async with asyncio.timeout(within):
        while not condition():  # noqa: ASYNC110 - the messages arrive in a socket callback
            await asyncio.sleep(0.01)


async def _take(client: aiomqtt.Client, n: int):
    async for message in client.messages:
        yield message
        n -= 1
        if not n:
            return


@pytest.mark.parametrize("version", ["5", "3.1.1"])
async def test_mosquitto_keeps_the_session_and_redelivers_only_what_was_not_acknowledged(mqtt_url, version):
    await _session_survives_and_unacknowledged_messages_come_back(mqtt_url, version)


async def test_amqtt_keeps_the_session():
    """amqtt (the demo's broker) does not send unacknowledged messages again when a session resumes
    — with paho neither (docs/reliability.md): a unit's retransmission is what brings them back."""
    async with _amqtt(open_for_tests=True) as broker:  # (any topic: no per-unit ACL)
        await _session_survives_and_unacknowledged_messages_come_back(broker.url, "3.1.1", redelivers=False)


async def test_a_wrong_password_is_refused_with_the_brokers_reason():
    async with _amqtt(open_for_tests=False) as broker:
        address = broker_address(broker.url)
        options = WireOptions(
            hostname=address["hostname"], port=address["port"], client_id="w-x", version="3.1.1",
            username="arc", password="guess",
        )  # fmt: skip
        with pytest.raises(WireError, match="refused CONNECT"):
            await Connection(options, lambda *a: None).open()


async def test_a_broker_that_stops_answering_is_given_up_within_a_keepalive_and_a_half():
    accepted: list[asyncio.StreamWriter] = []

    async def frozen(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        accepted.append(writer)
        await reader.read(100)  # CONNECT
        writer.write(b"\x20\x03\x00\x00\x00")  # CONNACK, then silence (a frozen broker)

    server = await asyncio.start_server(frozen, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    connection = Connection(WireOptions(hostname="127.0.0.1", port=port, client_id="w", keepalive=1), print)
    await connection.open()
    started = time.monotonic()
    with pytest.raises(WireError, match="silent"):
        async with asyncio.timeout(5):
            await connection.closed
    assert time.monotonic() - started < 2.5
    for writer in accepted:
        writer.close()
    server.close()
    with contextlib.suppress(Exception):
        await server.wait_closed()


async def test_the_broker_disconnecting_us_ends_the_connection_with_its_reason():
    connection, _, transport = _connected()
    connection.data_received(b"\xe0\x01\x8e")  # MQTT 5 DISCONNECT: session taken over
    assert transport.closed
    with pytest.raises(WireError, match="0x8e"):
        await connection.closed


async def test_the_ingest_warns_when_the_broker_allows_it_few_answers_in_flight(caplog, settings):
    """Mosquitto's default (max_inflight_messages 20) is also the ingest's window for its answers."""
    from arc.ingest.worker import IngestWorker

    async def broker(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read(200)  # CONNECT
        writer.write(b"\x20\x06\x00\x00\x03\x21\x00\x14")  # CONNACK, MQTT 5, Receive Maximum 20
        subscribe = await reader.read(200)
        writer.write(b"\x90\x04" + subscribe[2:4] + b"\x00\x01")  # SUBACK, QoS 1 granted
        await reader.read(200)  # until the ingest disconnects

    server = await asyncio.start_server(broker, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    ingest = IngestWorker(
        settings.model_copy(update={"mqtt_url": f"mqtt://127.0.0.1:{port}", "mqtt_protocol": "5"}), None
    )
    with caplog.at_level("WARNING", logger="arc.ingest.worker"):
        await ingest.start(wait_subscribed=5)
        await ingest.stop()
    server.close()
    assert ingest.subscribed.is_set()
    assert any("only 20 answers unacknowledged" in r.getMessage() for r in caplog.records)

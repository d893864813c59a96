"""The ingest's MQTT connection, on asyncio: the part of MQTT 3.1.1 and 5 the ingest uses, no more.

Why not paho (through aiomqtt), as before: paho spent ~85 µs of CPU reading each PUBLISH (an MQTT 5
``Properties`` object, an ``MQTTMessage`` with a ``threading.Condition``, locks, one packet per
socket read) and ~23 µs answering it — more than storing the heartbeat. That cost set how fast a
reconnect storm could be *read*, so an alarm in the middle of one waited for every packet ahead of
it; and at twice capacity the queue formed in the broker, where no lane can put alarms first.
gmqtt reads as cheaply, but acknowledges after COMMIT only through a private method (and for
3.1.1 on receipt). The client below does what the ingest needs (docs/notes/issue-13-wire.md):

* CONNECT with a persistent session (3.1.1 ``clean_session``; 5 ``clean_start`` off, Session Expiry,
  Receive Maximum, Maximum Packet Size), username and password; CONNACK refused -> ``WireError``.
* SUBSCRIBE one filter at QoS 1; a refused subscription -> ``WireError``.
* PUBLISH in at QoS 0/1: ``on_message(connection, topic, payload, mid, qos)`` straight from the
  socket callback; the PUBACK goes only when the ingest calls ``ack(mid)`` after COMMIT. A burst is parsed up to
  ``READ_BURST`` packets per turn of the event loop (~4 µs each), reading paused in between: an
  alarm being stored waits for at most one slice at each of its awaits, and an alarm still unread
  in a storm or an overload is found as fast as the bytes come. (paho's reader, at ~85 µs a packet,
  had to be held back while an alarm was stored; with 100 packets a turn reading fell behind a
  capped service's heartbeat batches at twice the offered load and alarms waited seconds unread.)
* PUBLISH out at QoS 0/1 without waiting (an answer lost with the connection costs the unit one
  retransmission), within the broker's Receive Maximum (the rest queued until PUBACKs free room,
  an alarm's answer before heartbeats' answers).
* Writes of one turn of the loop go to the socket together (one ``send`` for a batch's answers and
  PUBACKs); PINGREQ when quiet; a broker silent for a keepalive after a PINGREQ ends the connection.
* Alarms' answers first on the way out, too. A storm's answers reach the broker faster than it reads
  them; the kernel's buffers on both sides of the socket (auto-sized to hundreds of KiB) would hold
  an alarm's HOLD behind thousands of heartbeats' answers, read by the broker in order. So the socket's
  send buffer is kept small (``SEND_BUFFER``), the transport pauses us above ``WRITE_HIGH``, and
  while it is paused what we write waits here, the ``urgent`` (alarms' answers) ahead of the rest.

Anything else the broker sends (QoS 2, AUTH, a malformed packet) ends the connection: the session
keeps what was not acknowledged and the worker reconnects.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
import time
from collections import deque
from collections.abc import Callable
from dataclasses import replace

from arc.ingest.packets import (
    DISCONNECT,
    PINGREQ,
    RECEIVE_MAXIMUM,
    SERVER_KEEP_ALIVE,
    U16,
    WireError,
    WireOptions,
    connect_packet,
    packet,
    read_properties,
    read_varint,
    text,
    varint,
)

READ_BURST = 1000  # packets parsed per turn of the event loop (~4 ms when that many are waiting)
# the socket's send buffer (Linux doubles it): what the kernel holds ahead of an alarm's answer
SEND_BUFFER = 32 * 1024
WRITE_HIGH, WRITE_LOW = 16 * 1024, 4 * 1024  # the transport's buffer: pause above, resume below


TOPICS_CACHED = 100_000  # answer topics kept encoded (one per unit answered)
_TOPICS: dict[str, bytes] = {}
_FIRST_BYTES = (b"\x30", b"\x32")  # PUBLISH at QoS 0, 1
_SMALL = [bytes((n,)) for n in range(128)]  # a remaining length under 128 is one byte


class Connection(asyncio.Protocol):
    """One connection to the broker. ``await open_connection(...)``, then ``subscribe``; ``closed``
    is a future that completes (with ``WireError``) when the connection ends, for whatever reason."""

    def __init__(
        self,
        options: WireOptions,
        on_message: Callable[[Connection, str, bytes, int, int], None],
    ) -> None:
        self.options = options
        self.v5 = options.version == "5"
        self._on_message = on_message
        self._loop = asyncio.get_running_loop()
        self.closed: asyncio.Future[None] = self._loop.create_future()
        self._transport: asyncio.Transport | None = None
        self._buf, self._pos = b"", 0
        self._paused = self._drain_scheduled = self._flush_scheduled = False
        self._out: list[bytes] = []
        self._out_urgent: list[bytes] = []  # alarms' answers: written ahead of ``_out``
        self._write_paused = False  # the transport's buffer is full: writes wait in the two lists
        self._waiting: dict[int, asyncio.Future] = {}  # 0: CONNACK; else the SUBACK's packet id
        self._inflight: set[int] = set()  # our QoS 1 publishes the broker has not acknowledged
        # QoS 1 publishes beyond the broker's Receive Maximum (Mosquitto: max_inflight_messages, 20 by
        # default), waiting for PUBACKs to free room: alarms' answers first, heartbeats' after
        self._queued: deque[tuple[str, bytes]] = deque()
        self._queued_bulk: deque[tuple[str, bytes]] = deque()
        self._quota = 65535
        self._next_id = 0
        self._last_read = self._last_write = time.monotonic()
        self._keepalive_task: asyncio.Task | None = None
        self.session_present = False
        # packets parsed per turn of the loop; the worker lowers it while an alarm is being stored,
        # so that each of the alarm's awaits waits for a short slice of reading, not a long one
        self.read_burst = READ_BURST

    # --- the ingest's side -----------------------------------------------------------------

    async def open(self) -> None:
        """Connect and wait for CONNACK; ``WireError`` (or ``OSError``) when that fails."""
        o = self.options
        connack = self._waiting[0] = self._loop.create_future()
        try:
            async with asyncio.timeout(o.timeout):
                await self._loop.create_connection(lambda: self, o.hostname, o.port)
                self._write(connect_packet(o))
                await connack
        except TimeoutError:
            self.close()
            raise WireError("the broker did not answer CONNECT") from None
        except BaseException:
            self.close()
            raise
        self._keepalive_task = asyncio.create_task(self._keep_alive(), name="ingest-mqtt-keepalive")

    async def subscribe(self, topic: str, qos: int = 1) -> None:
        mid = self._new_id()
        suback = self._waiting[mid] = self._loop.create_future()
        body = U16.pack(mid) + (b"\x00" if self.v5 else b"") + text(topic) + bytes((qos,))
        self._write(packet(0x82, body))
        try:
            async with asyncio.timeout(self.options.timeout):
                code = await suback
        except TimeoutError:
            self.close("the broker did not answer SUBSCRIBE")
            raise WireError("the broker did not answer SUBSCRIBE") from None
        if code >= 0x80:
            self.close(f"subscription to {topic} refused (0x{code:02x})")
            raise WireError(f"subscription to {topic} refused (0x{code:02x})")

    def publish(
        self, topic: str, payload: bytes, qos: int = 1, *, bulk: bool = False, urgent: bool = False
    ) -> bool:
        """Queue a publish; False when the connection has ended. ``bulk`` (a heartbeat's answer): when
        the broker's window is full it waits behind every other answer, so that under load an
        alarm's HOLD is not queued behind thousands of heartbeats' OKs. ``urgent`` (an alarm's
        answer): written ahead of whatever else is waiting for the socket."""
        if self._transport is None:
            return False
        if qos and len(self._inflight) >= self._quota:
            (self._queued_bulk if bulk else self._queued).append((topic, payload))
            return True
        self._write(self._publish_packet(topic, payload, qos), urgent)
        return True

    def ack(self, mid: int, qos: int = 1) -> None:
        """PUBACK a message received on this connection (after its COMMIT); nothing once it has ended
        (the broker sends it again on the next connection)."""
        if qos == 1 and self._transport is not None:
            self._write(b"\x40\x02" + U16.pack(mid))

    @property
    def send_window(self) -> int:
        """How many of our QoS 1 publishes the broker allows unacknowledged (its Receive Maximum)."""
        return self._quota

    def close(self, reason: str = "closed by the ingest") -> None:
        transport, self._transport = self._transport, None
        if transport is not None:
            with contextlib.suppress(Exception):
                if self._out or self._out_urgent:
                    transport.write(b"".join(self._out_urgent + self._out))
                transport.write(DISCONNECT)
            transport.close()
        self._end(WireError(reason))

    # --- asyncio.Protocol --------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = transport  # type: ignore[assignment]
        sock = transport.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, SEND_BUFFER)
        transport.set_write_buffer_limits(high=WRITE_HIGH, low=WRITE_LOW)  # type: ignore[attr-defined]

    def pause_writing(self) -> None:
        self._write_paused = True

    def resume_writing(self) -> None:
        self._write_paused = False
        self._flush()

    def connection_lost(self, exc: Exception | None) -> None:
        self._transport = None
        self._end(WireError(f"connection lost ({exc or 'closed by the broker'})"))

    def data_received(self, data: bytes) -> None:
        self._last_read = time.monotonic()
        self._buf = self._buf[self._pos :] + data if self._pos < len(self._buf) else data
        self._pos = 0
        if not self._drain_scheduled:  # (reading is paused while one is, but be sure)
            self._drain()

    # --- reading -----------------------------------------------------------------------------

    def _drain(self) -> None:
        self._drain_scheduled = False
        try:
            more = self._parse(self.read_burst)
        except (WireError, IndexError, struct.error, UnicodeDecodeError) as exc:
            self.close(f"protocol error: {exc}")
            return
        transport = self._transport
        if transport is None:
            return
        if more:  # the rest next turn, after whatever else (an alarm) is ready to run
            if not self._paused:
                transport.pause_reading()
                self._paused = True
            self._drain_scheduled = True
            self._loop.call_soon(self._drain)
        elif self._paused:
            transport.resume_reading()
            self._paused = False

    def _parse(self, limit: int) -> bool:
        """Handle up to ``limit`` whole packets of the buffer; True if another whole one may follow."""
        buf, pos, size = self._buf, self._pos, len(self._buf)
        on_message, v5 = self._on_message, self.v5
        try:
            for _ in range(limit):
                if size - pos < 2:
                    return False
                first, length = buf[pos], buf[pos + 1]
                start = pos + 2
                if length > 0x7F:
                    read = read_varint(buf, pos + 1)
                    if read is None:
                        return False
                    length, start = read
                end = start + length
                if end > size:
                    return False
                kind = first >> 4
                if kind == 3:  # PUBLISH
                    qos = (first >> 1) & 3
                    at = start + 2 + U16.unpack_from(buf, start)[0]
                    topic = buf[start + 2 : at].decode()
                    mid = 0
                    if qos:
                        if qos > 1:
                            raise WireError("QoS 2 PUBLISH on a QoS 1 subscription")
                        mid = U16.unpack_from(buf, at)[0]
                        at += 2
                    if v5:
                        skip = buf[at]
                        if skip > 0x7F:
                            read = read_varint(buf, at)
                            assert read is not None
                            skip, at = read[0], read[1] - 1
                        at += 1 + skip
                    pos = end
                    self._pos = pos
                    on_message(self, topic, buf[at:end], mid, qos)
                    continue
                pos = end
                self._pos = pos
                self._control(kind, buf, start, end)
            return True
        finally:
            self._pos = pos

    def _control(self, kind: int, buf: bytes, start: int, end: int) -> None:
        if kind == 4:  # PUBACK of one of our answers
            self._inflight.discard(U16.unpack_from(buf, start)[0])
            while len(self._inflight) < self._quota and self._transport is not None:
                waiting = self._queued or self._queued_bulk
                if not waiting:
                    break
                urgent = waiting is self._queued  # not a heartbeat's: ahead of what waits for the socket
                self._write(self._publish_packet(*waiting.popleft(), 1), urgent)
        elif kind == 13:  # PINGRESP
            pass
        elif kind == 2:  # CONNACK
            self._connack(buf, start, end)
        elif kind == 9:  # SUBACK
            mid = U16.unpack_from(buf, start)[0]
            at = start + 2
            if self.v5:
                read = read_varint(buf, at)
                assert read is not None
                at = read[1] + read[0]
            waiter = self._waiting.pop(mid, None)
            if waiter is not None and not waiter.done():
                waiter.set_result(buf[at])
        elif kind == 14:  # DISCONNECT from the broker (MQTT 5)
            code = buf[start] if end > start else 0
            self.close(f"the broker disconnected us (0x{code:02x})")
        else:
            raise WireError(f"unexpected packet type {kind}")

    def _connack(self, buf: bytes, start: int, end: int) -> None:
        waiter = self._waiting.pop(0, None)
        self.session_present = bool(buf[start] & 1)
        code = buf[start + 1]
        if code == 0 and self.v5 and end > start + 2:
            read = read_varint(buf, start + 2)
            assert read is not None
            props = read_properties(buf, read[1], read[1] + read[0])
            self._quota = int(props.get(RECEIVE_MAXIMUM, 65535))  # type: ignore[call-overload]
            if SERVER_KEEP_ALIVE in props:
                self.options = replace(self.options, keepalive=int(props[SERVER_KEEP_ALIVE]))  # type: ignore[call-overload]
        if waiter is None or waiter.done():
            return
        if code:
            waiter.set_exception(WireError(f"the broker refused CONNECT (0x{code:02x})"))
        else:
            waiter.set_result(None)

    # --- writing -----------------------------------------------------------------------------

    def _publish_packet(self, topic: str, payload: bytes, qos: int) -> bytes:
        head = _TOPICS.get(topic)
        if head is None:  # the topic's length and bytes, once per unit (every answer to it reuses them)
            if len(_TOPICS) >= TOPICS_CACHED:
                _TOPICS.clear()
            head = _TOPICS[topic] = text(topic)
        if qos:
            mid = self._new_id()
            self._inflight.add(mid)
            head += U16.pack(mid)
        if self.v5:
            head += b"\x00"
        size = len(head) + len(payload)
        return (_FIRST_BYTES[qos] + (_SMALL[size] if size < 128 else varint(size))) + head + payload

    def _new_id(self) -> int:
        while True:
            self._next_id = self._next_id % 65535 + 1
            if self._next_id not in self._inflight and self._next_id not in self._waiting:
                return self._next_id

    def _write(self, packet: bytes, urgent: bool = False) -> None:
        (self._out_urgent if urgent else self._out).append(packet)
        if not self._flush_scheduled and not self._write_paused:
            self._flush_scheduled = True
            self._loop.call_soon(self._flush)

    def _flush(self) -> None:
        self._flush_scheduled = False
        if self._write_paused or self._transport is None:
            return  # resume_writing flushes, the urgent first
        out = self._out_urgent + self._out if self._out_urgent else self._out
        self._out, self._out_urgent = [], []
        if out:
            self._last_write = time.monotonic()
            self._transport.write(b"".join(out))

    async def _keep_alive(self) -> None:
        interval = self.options.keepalive
        if not interval:
            return
        while self._transport is not None:
            await asyncio.sleep(interval / 4)
            now = time.monotonic()
            if now - self._last_read > interval * 1.5:
                self.close(f"the broker has been silent for {interval * 1.5:.0f} s")
                return
            if now - self._last_write > interval / 2 or now - self._last_read > interval / 2:
                self._write(PINGREQ)

    def _end(self, error: WireError) -> None:
        for waiter in self._waiting.values():
            if not waiter.done():
                waiter.set_exception(error)
        self._waiting.clear()
        if not self.closed.done():
            self.closed.set_exception(error)
            self.closed.exception()  # retrieved: nobody need await it
        task = self._keepalive_task
        if task is not None and task is not asyncio.current_task():
            task.cancel()

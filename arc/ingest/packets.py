"""MQTT 3.1.1 and 5 packets as the ingest's connection (arc/ingest/wire.py) writes and reads them:
lengths, MQTT 5 properties, CONNECT. Pure functions of bytes, no I/O."""

from __future__ import annotations

import struct
from dataclasses import dataclass

U16 = struct.Struct("!H")
PINGREQ, DISCONNECT = b"\xc0\x00", b"\xe0\x00"
# MQTT 5 property identifiers we read (CONNACK) and write (CONNECT), and each one's wire form
SESSION_EXPIRY, RECEIVE_MAXIMUM, MAXIMUM_PACKET, SERVER_KEEP_ALIVE = 0x11, 0x21, 0x27, 0x13
_BYTE, _TWO, _FOUR, _VARINT, _BINARY, _PAIR = "b", "2", "4", "v", "s", "p"
_PROPERTY_FORMS = {
    0x01: _BYTE, 0x02: _FOUR, 0x03: _BINARY, 0x08: _BINARY, 0x09: _BINARY, 0x0B: _VARINT,
    0x11: _FOUR, 0x12: _BINARY, 0x13: _TWO, 0x15: _BINARY, 0x16: _BINARY, 0x17: _BYTE,
    0x18: _FOUR, 0x19: _BYTE, 0x1A: _BINARY, 0x1C: _BINARY, 0x1F: _BINARY, 0x21: _TWO,
    0x22: _TWO, 0x23: _TWO, 0x24: _BYTE, 0x25: _BYTE, 0x26: _PAIR, 0x27: _FOUR, 0x28: _BYTE,
    0x29: _BYTE, 0x2A: _BYTE,
}  # fmt: skip


class WireError(Exception):
    """The connection could not be made or has ended (the reason is the message)."""


@dataclass(frozen=True)
class WireOptions:
    hostname: str
    port: int
    client_id: str
    version: str = "5"  # "5" or "3.1.1"
    username: str | None = None
    password: str | None = None
    keepalive: int = 30
    clean: bool = False  # 3.1.1 clean_session / 5 clean_start
    session_expiry: int = 0  # MQTT 5
    receive_maximum: int = 65535  # MQTT 5
    max_packet_bytes: int | None = None  # MQTT 5
    timeout: float = 10.0  # to connect and be answered CONNACK / SUBACK


def varint(n: int) -> bytes:
    out = bytearray()
    while True:
        n, digit = divmod(n, 128)
        out.append(digit | (0x80 if n else 0))
        if not n:
            return bytes(out)


def text(value: str | bytes) -> bytes:
    raw = value.encode() if isinstance(value, str) else value
    return U16.pack(len(raw)) + raw


def packet(first: int, body: bytes) -> bytes:
    return bytes((first,)) + varint(len(body)) + body


def read_varint(buf: bytes, pos: int) -> tuple[int, int] | None:
    """(value, position after it), or None if ``buf`` ends first; a fifth byte is a protocol error."""
    value, shift = 0, 0
    while pos < len(buf):
        byte = buf[pos]
        value |= (byte & 0x7F) << shift
        pos += 1
        if byte < 0x80:
            return value, pos
        shift += 7
        if shift > 21:
            raise WireError("malformed packet length")
    return None


def read_properties(buf: bytes, pos: int, end: int) -> dict[int, object]:
    """MQTT 5 properties from ``buf[pos:end]`` (a repeated one keeps its last value)."""
    found: dict[int, object] = {}
    while pos < end:
        ident = buf[pos]
        form = _PROPERTY_FORMS.get(ident)
        pos += 1
        if form == _BYTE:
            found[ident], pos = buf[pos], pos + 1
        elif form == _TWO:
            found[ident], pos = U16.unpack_from(buf, pos)[0], pos + 2
        elif form == _FOUR:
            found[ident], pos = int.from_bytes(buf[pos : pos + 4], "big"), pos + 4
        elif form == _VARINT:
            read = read_varint(buf, pos)
            if read is None:
                raise WireError("malformed property")
            found[ident], pos = read
        elif form in (_BINARY, _PAIR):
            for _ in range(2 if form == _PAIR else 1):
                size = U16.unpack_from(buf, pos)[0]
                found[ident], pos = buf[pos + 2 : pos + 2 + size], pos + 2 + size
        else:
            raise WireError(f"unknown property 0x{ident:02x}")
    if pos != end:
        raise WireError("malformed properties")
    return found


def connect_packet(options: WireOptions) -> bytes:
    v5 = options.version == "5"
    flags = (0x80 if options.username is not None else 0) | (0x40 if options.password is not None else 0)
    flags |= 0x02 if options.clean else 0
    body = text("MQTT") + bytes((5 if v5 else 4, flags)) + U16.pack(options.keepalive)
    if v5:
        props = bytes((SESSION_EXPIRY,)) + options.session_expiry.to_bytes(4, "big")
        props += bytes((RECEIVE_MAXIMUM,)) + U16.pack(options.receive_maximum)
        if options.max_packet_bytes:
            props += bytes((MAXIMUM_PACKET,)) + options.max_packet_bytes.to_bytes(4, "big")
        body += varint(len(props)) + props
    body += text(options.client_id)
    if options.username is not None:
        body += text(options.username)
    if options.password is not None:
        body += text(options.password)
    return packet(0x10, body)

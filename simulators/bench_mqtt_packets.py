"""What the MQTT client (paho, as the ingest uses it) costs per stored-and-answered heartbeat, packet by packet.

    python -m simulators.bench_mqtt_packets [--messages 5000] [--protocol 5|3.1.1] [--reply-qos 0|1]

No broker and no database: one paho client, set up as the ingest sets it up (manual
acknowledgement, no packet log, no on_publish), on one end of a socket pair; this script plays
the broker on the other end. Per heartbeat it times, in CPU time (best of ``--rounds``):

- read PUBLISH: paho reads the heartbeat off the socket and hands it to ``on_message``;
- answer + PUBACK: the ingest's two calls after COMMIT, ``publish`` of the answer and ``ack`` of
  the heartbeat (with the socket writes: paho writes at once when no event loop asks for writes);
- read PUBACK: the broker's PUBACK for a QoS 1 answer (none for QoS 0).

``bench_ingest`` gives the whole service's CPU per message; this isolates the MQTT client's part
of it, without neighbours' noise in the broker and PostgreSQL.
"""

from __future__ import annotations

import argparse
import json
import socket
import struct
import time

import paho.mqtt.client as paho
from paho.mqtt import __version__ as PAHO_VERSION

from arc.ingest.packets import varint

TOPIC_ROOT = "lifeline"


def publish_packet(topic: str, payload: bytes, mid: int, v5: bool) -> bytes:
    """A QoS 1 PUBLISH as the broker sends it (MQTT 5: an empty property block)."""
    name = topic.encode()
    body = struct.pack("!H", len(name)) + name + struct.pack("!H", mid) + (b"\x00" if v5 else b"") + payload
    return b"\x32" + varint(len(body)) + body


def puback_packet(mid: int) -> bytes:
    return b"\x40\x02" + struct.pack("!H", mid)


def ingest_like_client(v5: bool) -> tuple[paho.Client, socket.socket]:
    """A paho client set up as arc/ingest/worker.py sets it up, 'connected' to a socket pair."""
    protocol = paho.MQTTv5 if v5 else paho.MQTTv311
    client = paho.Client(paho.CallbackAPIVersion.VERSION2, client_id="bench", protocol=protocol)
    client.manual_ack_set(True)
    client.disable_logger()
    client.max_inflight_messages_set(0)
    client.on_publish = None
    ours, broker = socket.socketpair()
    for end in (ours, broker):
        end.setblocking(False)
        end.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 8 << 20)
        end.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
    client._sock = ours  # what paho's connect() would have set
    client._state = paho._ConnectionState.MQTT_CS_CONNECTED
    return client, broker


def _feed(client: paho.Client, broker: socket.socket, data: bytes, done) -> None:
    sent = 0
    while sent < len(data) or not done():
        if sent < len(data):
            try:
                sent += broker.send(data[sent : sent + 65536])
            except BlockingIOError:
                pass
        client.loop_read()


def _drain(broker: socket.socket) -> None:
    try:
        while broker.recv(1 << 20):
            pass
    except BlockingIOError:
        pass


def one_round(messages: int, v5: bool, reply_qos: int) -> dict[str, float]:
    client, broker = ingest_like_client(v5)
    received: list[paho.MQTTMessage] = []
    client.on_message = lambda _client, _userdata, message: received.append(message)
    heartbeats = b"".join(
        publish_packet(
            f"{TOPIC_ROOT}/{5_500_000 + n % 2000}/mrq",
            json.dumps(
                {"ref": f"B{n:09d}", "cid": str(5_500_000 + n % 2000), "dty": "0001", "mty": "PI"}
            ).encode(),
            n % 65535 + 1,
            v5,
        )
        for n in range(messages)
    )
    answer = b'{"ref":"B000000001","snu":0,"ste":"OK"}'
    started = time.process_time()
    _feed(client, broker, heartbeats, lambda: len(received) >= messages)
    read = time.process_time()
    mids = []
    for n, message in enumerate(received):
        mids.append(client.publish(message.topic[:-3] + "mrs", answer, reply_qos).mid)
        client.ack(message.mid, message.qos)
        if n % 500 == 0:
            _drain(broker)
    _drain(broker)
    answered = time.process_time()
    if reply_qos:
        _feed(client, broker, b"".join(puback_packet(mid) for mid in mids), lambda: not client._out_messages)
    settled = time.process_time()
    broker.close()
    client._sock.close()
    return {
        "read PUBLISH": (read - started) / messages * 1e6,
        "answer + PUBACK": (answered - read) / messages * 1e6,
        "read PUBACK": (settled - answered) / messages * 1e6,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--messages", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=5, help="best of this many (CPU time)")
    parser.add_argument("--protocol", choices=("5", "3.1.1"), default="5")
    parser.add_argument(
        "--reply-qos", type=int, choices=(0, 1), default=0, help="a heartbeat's answer (the ingest: 0)"
    )
    args = parser.parse_args()
    best: dict[str, float] = {}
    for _ in range(args.rounds):
        for part, us in one_round(args.messages, args.protocol == "5", args.reply_qos).items():
            best[part] = min(best.get(part, us), us)
    parts = ", ".join(f"{part} {us:.1f}" for part, us in best.items())
    print(
        f"paho {PAHO_VERSION}, MQTT {args.protocol}, answers at QoS {args.reply_qos}: "
        f"{parts} -> {sum(best.values()):.1f} µs of CPU per heartbeat (best of {args.rounds} x {args.messages})"
    )


if __name__ == "__main__":
    main()

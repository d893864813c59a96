"""bench_mqtt_packets plays the broker on a socket pair: what it sends must be what paho reads, and
a round must end with every heartbeat read, answered and (QoS 1) settled."""

from __future__ import annotations

import pytest

from simulators.bench_mqtt_packets import _feed, ingest_like_client, one_round, publish_packet


@pytest.mark.parametrize("v5", [True, False])
def test_the_heartbeats_it_sends_are_read_by_paho_as_sent(v5: bool):
    client, broker = ingest_like_client(v5)
    received = []
    client.on_message = lambda _client, _userdata, message: received.append(message)
    data = b"".join(publish_packet(f"lifeline/{n}/mrq", b'{"ref":"B%d"}' % n, n + 1, v5) for n in range(3))
    _feed(client, broker, data, lambda: len(received) >= 3)
    assert [(m.topic, m.payload, m.mid, m.qos) for m in received] == [
        (f"lifeline/{n}/mrq", b'{"ref":"B%d"}' % n, n + 1, 1) for n in range(3)
    ]


@pytest.mark.parametrize(("v5", "reply_qos"), [(True, 0), (True, 1), (False, 0)])
def test_a_round_reads_answers_and_settles_every_heartbeat(v5: bool, reply_qos: int):
    parts = one_round(200, v5, reply_qos)
    assert set(parts) == {"read PUBLISH", "answer + PUBACK", "read PUBACK"}
    assert all(us >= 0 for us in parts.values())

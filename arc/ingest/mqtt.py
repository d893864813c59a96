"""How the ingest talks MQTT: connection options, the persistent session, and the publisher.

The ingest keeps a *persistent session* under a fixed client id (LIFELINE_MQTT_CLIENT_ID):
MQTT 3.1.1 ``clean_session=False``; MQTT 5 ``clean_start=False`` with a session expiry
interval (an MQTT 5 session with expiry 0 would vanish on disconnect). Messages are
acknowledged (PUBACK) only after their transaction has committed, so a message the
process received but never stored is redelivered by the broker when the session
resumes. MQTT 5 also lets us raise the broker's in-flight window (Receive Maximum),
which batching needs; the embedded amqtt broker speaks 3.1.1 only.

A member of a *shared* subscription group is different: Mosquitto keeps handing a share of
new messages to an offline member's session until it expires, so a dead process would hold
alarms. Shared members therefore use LIFELINE_MQTT_SHARED_SESSION_EXPIRY_SECONDS (0: the
session ends when the connection does); a message in flight to the dead member is not lost —
it was never acknowledged, so the unit retransmits it and a surviving member answers.

Alarms' answers may go on a connection of their own (LIFELINE_MQTT_ANSWERS_URL): clean session, no
subscription, nothing but the fast lane's answers and the operators' (accepted, closed). A broker
reads each connection's bytes in order; in a storm the ingest's connection has thousands of
heartbeats' answers and PUBACKs ahead of an alarm's HOLD, and the broker, short of CPU itself, took
up to a second to reach it (`simulators.bench_storm`: transaction begun -> HOLD p99 0.55-1.0 s on the
one connection, 0.11-0.22 s with the second). While it is down, they go on the ingest's connection.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Callable
from dataclasses import replace

from arc.ingest.packets import WireError, WireOptions
from arc.ingest.wire import Connection
from arc.kit.settings import Settings
from devices.broker import broker_address

log = logging.getLogger(__name__)

# A life-safety receiver is back within about a second of the broker: short, capped, jittered
# (jitter keeps several service processes from reconnecting in lock step)
BACKOFF_START, BACKOFF_MAX = 0.1, 1.0


def reconnect_delay(backoff: float) -> float:
    """Half the step fixed, half random ("equal jitter"): never above BACKOFF_MAX."""
    return backoff / 2 + random.uniform(0, backoff / 2)


def wire_options(settings: Settings, version: str) -> WireOptions:
    """The ingest's persistent session on the broker (arc/ingest/wire.py connects with them)."""
    address = broker_address(settings.mqtt_url)
    shared = bool(settings.mqtt_shared_group)
    if version == "5":
        expiry = (
            settings.mqtt_shared_session_expiry_seconds if shared else settings.mqtt_session_expiry_seconds
        )
        clean = False
    else:  # 3.1.1 has no expiry: a persistent session of a shared member would hold its share for ever
        expiry, clean = 0, shared
    return WireOptions(
        hostname=address["hostname"],
        port=address["port"],
        username=address["username"],
        password=address["password"],
        client_id=settings.mqtt_client_id or "",
        version=version,
        keepalive=30,
        clean=clean,
        session_expiry=expiry,
        receive_maximum=settings.mqtt_receive_maximum,
        max_packet_bytes=settings.mqtt_max_packet_bytes,  # the broker drops bigger ones for us
        # a broker that ignores an MQTT 5 CONNECT (amqtt) is given up on quickly in auto mode
        timeout=3 if version == "5" and settings.mqtt_protocol == "auto" else 10,
    )


def answers_options(settings: Settings, version: str) -> WireOptions | None:
    """The alarms' answers connection (LIFELINE_MQTT_ANSWERS_URL), or None when there is none: its own
    login and client id, a clean session that ends with the connection (it subscribes to nothing)."""
    if not settings.mqtt_answers_url:
        return None
    address = broker_address(settings.mqtt_answers_url)
    return replace(
        wire_options(settings, version),
        hostname=address["hostname"],
        port=address["port"],
        username=address["username"],
        password=address["password"],
        client_id=f"{settings.mqtt_client_id or 'arc-ingest'}-answers",
        clean=True,
        session_expiry=0,
    )


async def keep_answers_connection(options: Callable[[], WireOptions], publisher: MqttPublisher) -> None:
    """Hold the answers connection open for ``publisher`` (reconnecting as the ingest does) until
    cancelled; while it is down ``publisher`` sends alarms' answers on the ingest's connection.
    ``options`` is asked before each attempt (the ingest may have fallen back to MQTT 3.1.1)."""
    backoff, last_warned = BACKOFF_START, -60.0
    while True:
        connection = Connection(options(), _no_messages)
        try:
            await connection.open()
            publisher.urgent = connection
            backoff = BACKOFF_START
            await connection.closed
        except (WireError, OSError) as exc:
            if time.monotonic() - last_warned > 60:
                last_warned = time.monotonic()
                log.warning("alarms' answers connection lost (%s); they go on the ingest's meanwhile", exc)
        finally:
            if publisher.urgent is connection:
                publisher.urgent = None
            connection.close()
        await asyncio.sleep(reconnect_delay(backoff))
        backoff = min(backoff * 2, BACKOFF_MAX)


def _no_messages(*_args) -> None:  # the answers connection subscribes to nothing
    return None


class MqttPublisher:
    """``app.state.mqtt``: publishes through the ingest's current connection (alarms' answers through
    the answers connection when there is one)."""

    def __init__(self) -> None:
        self.client: Connection | None = None
        self.urgent: Connection | None = None  # LIFELINE_MQTT_ANSWERS_URL's, while it is open

    @property
    def connected(self) -> bool:
        return self.client is not None

    async def publish(self, topic: str, payload: bytes, qos: int = 1) -> None:
        """Queue a publish on the ingest's connection; raises ConnectionError when there is none.

        Not awaited to the broker's PUBACK: what is published here is an answer to a unit (one lost
        with the connection costs the unit a retransmission)."""
        if not self.publish_nowait(topic, payload, qos, urgent=True):
            raise ConnectionError("the ingest is not connected to the broker")

    def publish_nowait(
        self, topic: str, payload: bytes, qos: int = 1, *, bulk: bool = False, urgent: bool = False
    ) -> bool:
        """Queue a publish without waiting for PUBACK (sent with the rest of this turn's writes);
        ``bulk``: a heartbeat's answer, behind every other when the broker's window is full;
        ``urgent``: an alarm's answer, on the answers connection when it is open, else ahead of
        everything waiting for the ingest's socket."""
        answers = self.urgent
        if urgent and answers is not None and answers.publish(topic, payload, qos, urgent=True):
            return True
        client = self.client
        return client is not None and client.publish(topic, payload, qos, bulk=bulk, urgent=urgent)

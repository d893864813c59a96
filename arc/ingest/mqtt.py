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
"""

from __future__ import annotations

from typing import Any

import aiomqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from arc.kit.settings import Settings
from devices.broker import broker_address


def client_options(settings: Settings, version: str) -> dict[str, Any]:
    """aiomqtt.Client keyword arguments for the ingest's persistent session."""
    options: dict[str, Any] = {
        **broker_address(settings.mqtt_url),
        "identifier": settings.mqtt_client_id,
        "keepalive": 30,
        # a broker that ignores an MQTT 5 CONNECT (amqtt) is given up on quickly in auto mode
        "timeout": 3 if version == "5" and settings.mqtt_protocol == "auto" else 10,
        # 0 = no client-side cap on our own replies in flight: paho rescans every queued message on
        # each PUBACK when a cap is set; the broker's inbound QoS 1 handling needs no quota
        "max_inflight_messages": 0,
    }
    shared = bool(settings.mqtt_shared_group)
    if version == "5":
        connect = Properties(PacketTypes.CONNECT)
        connect.SessionExpiryInterval = (
            settings.mqtt_shared_session_expiry_seconds if shared else settings.mqtt_session_expiry_seconds
        )
        connect.ReceiveMaximum = settings.mqtt_receive_maximum
        connect.MaximumPacketSize = settings.mqtt_max_packet_bytes  # the broker drops bigger ones for us
        options.update(protocol=aiomqtt.ProtocolVersion.V5, clean_start=False, properties=connect)
    else:
        # 3.1.1 has no expiry: a persistent session of a shared member would hold its share for ever
        options.update(protocol=aiomqtt.ProtocolVersion.V311, clean_session=shared)
    return options


def paho_of(client: aiomqtt.Client) -> Any:
    """The paho client inside aiomqtt, for what aiomqtt does not expose: manual acknowledgement
    (ack after COMMIT), fire-and-forget QoS 1 publishing and a direct message callback."""
    return client._client


class MqttPublisher:
    """``app.state.mqtt``: publishes through the ingest's current connection."""

    def __init__(self) -> None:
        self.client: aiomqtt.Client | None = None

    @property
    def connected(self) -> bool:
        return self.client is not None

    async def publish(self, topic: str, payload: bytes, qos: int = 1) -> None:
        """Queue a publish on the ingest's connection; raises ConnectionError when there is none.

        Not awaited to the broker's PUBACK: what is published here is an answer to a unit (one lost
        with the connection costs the unit a retransmission), and the ingest's paho client has no
        ``on_publish`` — with one set, paho builds a reason code and an MQTT 5 properties object
        for every QoS 0 answer it writes, and runs aiomqtt's callback for every answer settled."""
        if not self.publish_nowait(topic, payload, qos):
            raise ConnectionError("the ingest is not connected to the broker")

    def publish_nowait(self, topic: str, payload: bytes, qos: int = 1) -> bool:
        """Queue a publish without waiting for PUBACK (paho sends it as the socket allows)."""
        client = self.client
        if client is None:
            return False
        info = paho_of(client).publish(topic, payload, qos)
        return info.rc == 0

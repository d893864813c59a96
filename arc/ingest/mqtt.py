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

from arc.ingest.packets import WireOptions
from arc.ingest.wire import Connection
from arc.kit.settings import Settings
from devices.broker import broker_address


def wire_options(settings: Settings, version: str) -> WireOptions:
    """The ingest's persistent session on the broker (arc/ingest/wire.py connects with them)."""
    address = broker_address(settings.mqtt_url)
    shared = bool(settings.mqtt_shared_group)
    if version == "5":
        expiry = settings.mqtt_shared_session_expiry_seconds if shared else settings.mqtt_session_expiry_seconds
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


class MqttPublisher:
    """``app.state.mqtt``: publishes through the ingest's current connection."""

    def __init__(self) -> None:
        self.client: Connection | None = None

    @property
    def connected(self) -> bool:
        return self.client is not None

    async def publish(self, topic: str, payload: bytes, qos: int = 1) -> None:
        """Queue a publish on the ingest's connection; raises ConnectionError when there is none.

        Not awaited to the broker's PUBACK: what is published here is an answer to a unit (one lost
        with the connection costs the unit a retransmission)."""
        if not self.publish_nowait(topic, payload, qos):
            raise ConnectionError("the ingest is not connected to the broker")

    def publish_nowait(self, topic: str, payload: bytes, qos: int = 1, *, bulk: bool = False) -> bool:
        """Queue a publish without waiting for PUBACK (sent with the rest of this turn's writes);
        ``bulk``: a heartbeat's answer, behind every other when the broker's window is full."""
        client = self.client
        return client is not None and client.publish(topic, payload, qos, bulk=bulk)

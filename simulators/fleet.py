"""A fleet of virtual units sharing one MQTT connection (a real unit has its own; the protocol is
the same). Replies on `{root}/+/mrs` are handed to the unit they are for."""

from __future__ import annotations

import asyncio
import logging
import random
import uuid
from collections.abc import Callable

import aiomqtt

from devices.broker import broker_address
from simulators.unit import VirtualUnit

log = logging.getLogger(__name__)


class Fleet:
    def __init__(
        self,
        mqtt_url: str,
        root: str,
        cids: list[str],
        *,
        alarm_every_s: float = 600.0,
        heartbeat_s: float = 60.0,
        retry_s: tuple[float, float] = (5.0, 20.0),
        give_up_s: float = 180.0,
        xml_share: float = 0.0,
        seed: int | None = None,
        autonomous: bool = True,
        on_reply: Callable[[str, bytes], None] | None = None,
    ) -> None:
        """``autonomous=False``: the units send only what they are told (a scenario drives them);
        ``on_reply(cid, payload)`` sees every `mrs`, also those that match no session."""
        self.mqtt_url = mqtt_url
        self.root = root
        self.alarm_every_s = alarm_every_s
        self.autonomous = autonomous
        self.on_reply = on_reply
        self.published = 0  # every publish, retransmissions included
        rng = random.Random(seed)
        self._client: aiomqtt.Client | None = None
        self.units = {
            cid: VirtualUnit(
                cid,
                self.publish,
                root,
                fmt="xml" if rng.random() < xml_share else "json",
                retry_s=retry_s,
                give_up_s=give_up_s,
                heartbeat_s=heartbeat_s,
                rng=random.Random(rng.random()),
            )
            for cid in cids
        }
        self.connected = asyncio.Event()

    async def publish(self, topic: str, payload: bytes) -> None:
        if self._client is None:
            raise ConnectionError("fleet not connected")
        await self._client.publish(topic, payload, qos=1)
        self.published += 1

    async def run(self, duration: float | None = None) -> None:
        """Run until cancelled (or for ``duration`` seconds); reconnects with backoff."""
        async with asyncio.timeout(duration):
            await self._run_forever()

    async def _run_forever(self) -> None:
        backoff = 0.5
        identifier = f"lifeline-fleet-{uuid.uuid4().hex[:8]}"
        per_unit_alarm = self.alarm_every_s * len(self.units) if self.alarm_every_s else 0.0
        while True:
            tasks: list[asyncio.Task] = []
            try:
                async with aiomqtt.Client(**broker_address(self.mqtt_url), identifier=identifier) as client:
                    await client.subscribe(f"{self.root}/+/mrs", qos=1)
                    self._client = client
                    self.connected.set()
                    log.info("simulated fleet of %d units connected", len(self.units))
                    backoff = 0.5
                    if self.autonomous:
                        tasks = [asyncio.create_task(u.run(per_unit_alarm)) for u in self.units.values()]
                    async for message in client.messages:
                        cid = str(message.topic).split("/")[-2]
                        if self.on_reply is not None:
                            self.on_reply(cid, bytes(message.payload))
                        unit = self.units.get(cid)
                        if unit is not None:
                            unit.deliver(bytes(message.payload))
            except aiomqtt.MqttError as exc:
                log.warning("fleet lost the broker (%s); reconnecting in %.1f s", exc, backoff)
            finally:
                self._client = None
                self.connected.clear()
                for task in tasks:
                    task.cancel()
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, 30.0)

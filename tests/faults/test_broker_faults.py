"""The broker goes away (kill -9, or a clean stop with and without persistence) and comes back:
the ingest is subscribed again within about a second, and every alarm sent meanwhile — by
units that retransmit like real ones — is stored once and answered."""

from __future__ import annotations

import asyncio
import time

import pytest

from tests.faults.broker import OwnBroker
from tests.faults.fleet import Fleet

RETRANSMIT_S = 3.0  # units retransmit every 5-20 s; shorter here to keep the suite quick
RESUBSCRIBED_WITHIN_S = 2.0  # backoff capped at 1 s, plus the connect itself on a busy machine
DOWN_S = 6.0  # long enough that a doubling backoff (0.5, 1, 2, 4 ...) would be 4 s deaf


@pytest.mark.parametrize(
    ("how", "persistence"), [("kill -9", True), ("stop", True), ("stop", False)], ids=["kill", "stop", "stop-volatile"]
)
async def test_broker_outage_is_followed_by_resubscribing_within_a_second_and_nothing_lost(
    own_broker, services, settings, session, db, record, how, persistence
):
    own_broker.persistence = persistence
    service = await services(LIFELINE_MQTT_URL=own_broker.url)
    await service.wait_for_log("ingest subscribed")
    async with Fleet(own_broker.url, settings.mqtt_topic_root, retransmit_s=RETRANSMIT_S) as fleet:
        for n in range(10):
            fleet.alarm(f"55{n:05d}")
            fleet.heartbeat(f"56{n:05d}")
        await fleet.settle(10)

        await (own_broker.kill() if how == "kill -9" else own_broker.stop())
        for n in range(10, 20):  # raised while the broker is away: the units keep trying
            fleet.alarm(f"55{n:05d}")
        await asyncio.sleep(DOWN_S)
        back = time.monotonic()
        await own_broker.start()
        subscribed = await service.wait_for_log("ingest subscribed", after=back)
        for n in range(20, 30):
            fleet.alarm(f"55{n:05d}")
        await fleet.settle(RETRANSMIT_S * 4)
        counts = await fleet.tally(session)

    recovery = round(subscribed - back, 2)
    record(f"broker {how} ({'persistent' if persistence else 'no persistence'}), down {DOWN_S:.0f} s",
           counts, recovery_s=recovery)
    assert recovery < RESUBSCRIBED_WITHIN_S, f"deaf for {recovery} s after the broker came back"
    assert (counts["lost"], counts["duplicated"], counts["unanswered"]) == (0, 0, 0)
    assert counts["stored_once"] == counts["sent"]


async def test_a_broker_that_is_down_when_the_ingest_starts_does_not_push_it_to_mqtt_3(tmp_path, services):
    (tmp_path / "late").mkdir()
    broker = OwnBroker(tmp_path / "late")  # not started yet
    service = await services(LIFELINE_MQTT_URL=broker.url, LIFELINE_MQTT_PROTOCOL="auto")
    # until its first connection attempt has been refused (the old code took that for "no MQTT 5")
    await service.wait_for_log(("lost the broker", "refused MQTT 5"), within=30)
    await broker.start()
    try:
        await service.wait_for_log("ingest subscribed")
        [line] = [text for _, text in service.lines if "ingest subscribed" in text]
        assert "MQTT 5" in line, "a refused connection is not a broker that refused MQTT 5"
    finally:
        await broker.kill()

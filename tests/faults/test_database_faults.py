"""PostgreSQL goes away (connections refused) or hangs (nothing answers) under a unit's load,
then returns: units told snu 5 meanwhile retransmit, and every alarm ends stored once and answered."""

from __future__ import annotations

import asyncio
import time

import pytest

from tests.faults.fleet import Fleet
from tests.faults.proxy import database_proxy

RETRANSMIT_S = 3.0
OUTAGE_S = 4.0


@pytest.mark.parametrize("fault", ["refused", "hung"])
async def test_database_outage_costs_no_alarm(own_broker, services, settings, session, db, database_url, record, fault):
    proxy, url = await database_proxy(database_url)
    try:
        service = await services(LIFELINE_MQTT_URL=own_broker.url, LIFELINE_DATABASE_URL=url)
        await service.wait_for_log("ingest subscribed")
        async with Fleet(own_broker.url, settings.mqtt_topic_root, retransmit_s=RETRANSMIT_S) as fleet:
            for n in range(10):
                fleet.alarm(f"61{n:05d}")
            await fleet.settle(10)
            await (proxy.cut() if fault == "refused" else _freeze(proxy))
            for n in range(10, 30):
                fleet.alarm(f"61{n:05d}")
                fleet.heartbeat(f"62{n:05d}")
                await asyncio.sleep(OUTAGE_S / 20)
            await proxy.restore()
            back = time.monotonic()
            await fleet.settle(RETRANSMIT_S * 4)
            drained = max(s.answered_at or float("inf") for s in fleet.sent.values()) - back
            counts = await fleet.tally(session)
            told_retry = sum(1 for s in fleet.sent.values() if 5 in s.answers)
    finally:
        await proxy.stop()
    record(f"PostgreSQL {fault} for {OUTAGE_S:.0f} s ({told_retry} told snu 5)", counts,
           recovery_s=round(max(drained, 0), 2))
    assert (counts["lost"], counts["duplicated"], counts["unanswered"]) == (0, 0, 0)
    assert counts["stored_once"] == counts["sent"]


async def _freeze(proxy) -> None:
    proxy.freeze()

"""kill -9 while a batch is open (stored and triaged, COMMIT not yet run), the rest of a burst
waiting behind it: after a restart the broker's redelivery replays the batch exactly once —
every alarm stored once and answered, no retransmission needed to get there."""

from __future__ import annotations

import asyncio
import re
import time

from tests.faults.fleet import Fleet

REDELIVERY_WITHIN_S = 10.0
RETRANSMIT_S = 60.0  # longer than the test: every answer after the restart comes from redelivery


async def test_kill_inside_an_open_batch_is_replayed_exactly_once(own_broker, services, settings, session, db, record):
    service = await services(LIFELINE_MQTT_URL=own_broker.url, LIFELINE_INGEST_FAULT_PAUSE_BEFORE_COMMIT_S="60")
    await service.wait_for_log("ingest subscribed")
    async with Fleet(own_broker.url, settings.mqtt_topic_root, retransmit_s=RETRANSMIT_S) as fleet:
        for n in range(50):
            fleet.alarm(f"59{n:05d}")
            for k in range(3):
                fleet.heartbeat(f"60{n:03d}{k}")
        await service.wait_for_log("paused")
        await asyncio.sleep(1.0)  # the burst has arrived: one batch open, the rest queued behind it
        paused = [line for _, line in service.lines if "paused" in line]
        sizes = [int(m.group(1)) for line in paused if (m := re.search(r"batch of (\d+)", line))]
        # the kill must land inside open batches holding several messages (a batch per loop: while an
        # alarm batch is open the heartbeat loops take alarms too, so each may hold only one)
        assert sum(sizes) > 1, f"the kill must land inside open batches of several messages, not {sizes}"
        assert all(s.answered_at is None for s in fleet.sent.values()), "nothing answered before COMMIT"

        await service.kill()
        restarted = time.monotonic()
        await service.start(LIFELINE_INGEST_FAULT_PAUSE_BEFORE_COMMIT_S="0")
        await fleet.settle(REDELIVERY_WITHIN_S)
        drained = max(s.answered_at or float("inf") for s in fleet.sent.values()) - restarted
        counts = await fleet.tally(session)
        resent = sum(s.sends - 1 for s in fleet.sent.values())

    record(f"kill -9 inside open batches of {'+'.join(map(str, sizes))} (burst of 200)", counts, recovery_s=round(drained, 2))
    assert resent == 0, "answered by the broker's redelivery, not by a unit's retransmission"
    assert (counts["lost"], counts["duplicated"], counts["unanswered"]) == (0, 0, 0)
    assert counts["stored_once"] == counts["sent"] == 200


KILLS = 3


async def test_repeated_kill_9_under_steady_load_loses_and_doubles_nothing(
    own_broker, services, settings, session, db, record
):
    service = await services(LIFELINE_MQTT_URL=own_broker.url)
    await service.wait_for_log("ingest subscribed")
    recoveries = []
    async with Fleet(own_broker.url, settings.mqtt_topic_root, retransmit_s=3.0) as fleet:
        for kill in range(KILLS):
            for n in range(40):  # ~100 messages/s while the kill lands
                fleet.alarm(f"63{kill}{n:04d}")
                fleet.heartbeat(f"64{kill}{n:04d}")
                if n == 20:
                    await service.kill()
                    down = time.monotonic()
                    await service.start()
                    recoveries.append(await service.wait_for_log("ingest subscribed") - down)
                await asyncio.sleep(0.01)
        await fleet.settle(12)
        counts = await fleet.tally(session)
    record(f"kill -9 + restart under load x{KILLS}", counts, recovery_s=round(max(recoveries), 2))
    assert (counts["lost"], counts["duplicated"], counts["unanswered"]) == (0, 0, 0)
    assert counts["stored_once"] == counts["sent"]

"""Two service processes share the load through an MQTT 5 shared subscription; one is killed -9.

Every alarm must reach the survivor within one unit retransmission interval: new alarms at
once (the broker must stop handing the dead member its share), and those the dead one held
unanswered on the unit's next retransmission. When the dead process returns, nothing it finds
waiting becomes a second alarm."""

from __future__ import annotations

import asyncio
import uuid

from tests.faults.fleet import Fleet

RETRANSMIT_S = 5.0  # the shortest retransmission interval of real units (5-20 s)
MARGIN_S = 1.5  # the retransmission's own round trip on two shared cores


async def test_killed_member_of_a_shared_group_holds_no_alarm_beyond_one_retransmission(
    own_broker, services, settings, session, db, record
):
    group = f"arc{uuid.uuid4().hex[:6]}"
    common = {"LIFELINE_MQTT_URL": own_broker.url, "LIFELINE_MQTT_SHARED_GROUP": group,
              "LIFELINE_MQTT_PROTOCOL": "5"}
    # the doomed member stores what it receives but pauses before COMMIT: it holds its share unanswered
    doomed = await services(
        **common,
        LIFELINE_MQTT_CLIENT_ID=f"{settings.mqtt_client_id}-a",
        LIFELINE_INGEST_FAULT_PAUSE_BEFORE_COMMIT_S="60",
    )
    survivor = await services(**common, LIFELINE_MQTT_CLIENT_ID=f"{settings.mqtt_client_id}-b")
    await doomed.wait_for_log("ingest subscribed")
    await survivor.wait_for_log("ingest subscribed")
    async with Fleet(own_broker.url, settings.mqtt_topic_root, retransmit_s=RETRANSMIT_S) as fleet:
        held = [fleet.alarm(f"57{n:05d}") for n in range(10)]
        await doomed.wait_for_log("paused")  # its share of those is inside an open transaction
        await asyncio.sleep(0.5)
        assert any(s.answered_at is None for s in held), "the doomed member holds some unanswered"

        await doomed.kill()
        after = []
        for n in range(20):  # an alarm every 0.3 s for 6 s after the kill
            after.append(fleet.alarm(f"58{n:05d}"))
            await asyncio.sleep(0.3)
        await fleet.settle(RETRANSMIT_S * 3)
        slowest = max((s.latency or float("inf")) for s in held + after)

        await doomed.start(LIFELINE_INGEST_FAULT_PAUSE_BEFORE_COMMIT_S="0")  # the dead member comes back: whatever waited for it is a duplicate now
        await doomed.wait_for_log("ingest subscribed")
        await asyncio.sleep(1.0)
        counts = await fleet.tally(session)

    record("2 processes, one kill -9 (shared subscription)", counts, recovery_s=round(slowest, 2))
    assert slowest <= RETRANSMIT_S + MARGIN_S, f"an alarm waited {slowest:.1f} s for the dead member"
    assert (counts["lost"], counts["duplicated"], counts["unanswered"]) == (0, 0, 0)

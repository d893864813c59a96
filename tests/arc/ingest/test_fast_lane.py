"""Alarms first: an alarm never waits behind heartbeats, and under overload heartbeats are shed
(snu 6, with a raised hbi) long before an alarm would be refused."""

from __future__ import annotations

import asyncio
import json

import pytest

from arc.ingest.models import InboxMessage
from arc.ingest.worker import IngestWorker
from arc.kit.db import make_sessionmaker
from tests.arc.ingest.conftest import FakeUnit, count

STATUSES = 200  # each raises a technical alarm: far slower to triage than a heartbeat
HEARTBEATS = 900  # under Mosquitto's default max_queued_messages (1000) for an offline session


class TestFastLane:
    @pytest.fixture
    def settings(self, settings):
        # a slow ingest (10 heartbeats a transaction, one batch at a time): the queue is long
        return settings.model_copy(update={"ingest_batch_max": 10, "ingest_concurrency": 1})

    async def test_an_alarm_behind_a_queue_of_heartbeats_is_answered_before_them(
        self, settings, engine, db, clock, unit_alone: FakeUnit
    ):
        maker = make_sessionmaker(engine)
        first = IngestWorker(settings, maker, clock)
        await first.start()  # the persistent session exists at the broker ...
        await first.stop()  # ... and queues what arrives while the ingest is away
        beats = [
            {"ref": f"H{n:05d}", "cid": f"77{n % 50:05d}", "dty": "1", "mty": "PI"} for n in range(HEARTBEATS)
        ]
        await asyncio.gather(*(unit_alone.publish(b["cid"], b) for b in beats))
        await unit_alone.publish("7800001", {"ref": "ALARM1", "cid": "7800001", "dty": "3", "stc": "10"})
        worker = IngestWorker(settings, maker, clock)
        await worker.start()  # the broker hands over the heartbeats, then the alarm, in one burst
        try:
            answer = await unit_alone.reply("7800001", within=20)
            answered_before = sum(unit_alone.replies[f"77{n:05d}"].qsize() for n in range(50))
        finally:
            await worker.stop()
        assert (answer["ref"], answer["snu"]) == ("ALARM1", 4)  # stored and queued for an operator
        assert answered_before < HEARTBEATS / 2, f"the alarm waited for {answered_before} heartbeats first"


    async def test_an_alarm_behind_a_burst_of_mains_failures_is_answered_before_them(
        self, settings, engine, db, clock, unit_alone: FakeUnit
    ):
        """A power cut reaches hundreds of units at once; the pendant pressed in one of those homes
        must not wait for every mains-failure status (each raises a technical alarm) to be triaged."""
        maker = make_sessionmaker(engine)
        first = IngestWorker(settings, maker, clock)
        await first.start()
        await first.stop()
        statuses = [{"ref": f"M{n:05d}", "cid": f"76{n:05d}", "dty": "1", "stc": "0085"} for n in range(STATUSES)]
        await asyncio.gather(*(unit_alone.publish(s["cid"], s) for s in statuses))
        await unit_alone.publish("7800002", {"ref": "ALARM2", "cid": "7800002", "dty": "3", "stc": "10"})
        worker = IngestWorker(settings, maker, clock)
        await worker.start()
        try:
            answer = await unit_alone.reply("7800002", within=30)
            answered_before = sum(unit_alone.replies[s["cid"]].qsize() for s in statuses)
        finally:
            await worker.stop()
        assert (answer["ref"], answer["snu"]) == ("ALARM2", 4)
        assert answered_before < STATUSES / 2, f"the alarm waited for {answered_before} mains failures first"


class TestShedding:
    @pytest.fixture
    def settings(self, settings):
        return settings.model_copy(update={"ingest_shed_heartbeats_backlog": 0, "ingest_shed_hbi_minutes": 180})

    async def test_overload_sheds_heartbeats_with_a_raised_hbi_and_still_stores_alarms(
        self, app, unit: FakeUnit, session
    ):
        shed = await unit.send("4401234", {"ref": "HB1", "cid": "4401234", "dty": "1", "mty": "PI", "hbo": "001"})
        assert (shed["snu"], shed.get("hbi")) == (6, 180)  # busy: come back later, and less often
        plain = await unit.send("4401235", {"ref": "HB2", "cid": "4401235", "dty": "1", "mty": "PI"})
        assert (plain["snu"], plain.get("hbi")) == (6, None)  # hbi only to a unit that accepts one
        alarm = await unit.send("4401234", json.dumps({"ref": "AL1", "cid": "4401234", "dty": "3", "stc": "10"}))
        assert alarm["snu"] == 4
        assert await count(session, InboxMessage, InboxMessage.ref.in_(["HB1", "HB2"])) == 0
        assert await count(session, InboxMessage, InboxMessage.ref == "AL1") == 1

    async def test_no_comms_is_not_counted_during_the_longer_interval_shed_units_were_given(
        self, app, unit: FakeUnit
    ):
        worker = app.state.ingest
        await unit.send("4401234", {"ref": "HB3", "cid": "4401234", "dty": "1", "mty": "PI", "hbo": "001"})
        extra = worker.silence_counted_from() - worker.last_shed_at
        assert extra.total_seconds() == (180 - 60) * 60  # hbi 180 instead of the 60-minute interval

"""Crash test: the ingest process is SIGKILLed between receipt and COMMIT while a unit is sending.

The fault-injection setting LIFELINE_INGEST_FAULT_PAUSE_BEFORE_COMMIT_S makes the ingest pause
before each COMMIT and log that it did, so the test can kill it at exactly that point. After a
restart, the broker redelivers the unacknowledged message (persistent session, PUBACK only after
COMMIT) and the unit retransmits: exactly one alarm is stored and exactly one final answer sent.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import sys
import uuid

import aiomqtt
from sqlalchemy import select, update

from arc.alarms.models import Alarm
from arc.ingest.models import InboxMessage
from arc.ingest.mqtt import broker_address
from tests.arc.ingest.conftest import count, parse_mrs
from tests.factories import create_customer_with_unit


async def start_ingest(env: dict[str, str]) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "arc.cli",
        "ingest",
        env=env,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )


async def wait_for_log(proc: asyncio.subprocess.Process, text: str, within: float = 20.0) -> None:
    async with asyncio.timeout(within):
        while True:
            line = await proc.stderr.readline()
            if not line:
                raise AssertionError(f"ingest exited before logging {text!r}")
            if text in line.decode(errors="replace"):
                return


async def test_killed_before_commit_then_restarted_stores_one_alarm_and_answers_once(
    settings, session, db, database_url, mqtt_url
):
    _, hub, _ = await create_customer_with_unit(session)
    await session.commit()
    env = {
        **os.environ,
        "LIFELINE_ENV": "test",
        "LIFELINE_DATABASE_URL": database_url,
        "LIFELINE_MQTT_URL": mqtt_url,
        "LIFELINE_MQTT_TOPIC_ROOT": settings.mqtt_topic_root,
        "LIFELINE_MQTT_CLIENT_ID": settings.mqtt_client_id,
        "LIFELINE_MQTT_SESSION_EXPIRY_SECONDS": "300",
        "LIFELINE_LOG_LEVEL": "INFO",
    }
    mrq = json.dumps({"ref": "CRASH1", "cid": hub.cid, "dty": "3", "stc": "10"})
    replies: list[dict] = []
    arrived: asyncio.Queue = asyncio.Queue()
    async with aiomqtt.Client(
        **broker_address(mqtt_url), identifier=f"crash-unit-{uuid.uuid4().hex[:8]}"
    ) as unit:
        await unit.subscribe(settings.topic(hub.cid, "mrs"), qos=1)

        async def collect() -> None:
            async for message in unit.messages:
                replies.append(parse_mrs(bytes(message.payload)))
                arrived.put_nowait(replies[-1])

        collector = asyncio.create_task(collect())
        doomed = await start_ingest({**env, "LIFELINE_INGEST_FAULT_PAUSE_BEFORE_COMMIT_S": "60"})
        try:
            await wait_for_log(doomed, "ingest subscribed")
            await unit.publish(settings.topic(hub.cid, "mrq"), mrq, qos=1)
            await wait_for_log(doomed, "paused")  # stored and triaged, not yet committed
        finally:
            doomed.send_signal(signal.SIGKILL)
            await doomed.wait()
        await asyncio.sleep(0.3)
        assert replies == []  # never answered what was never stored
        assert await count(session, InboxMessage) == 0
        assert await count(session, Alarm) == 0

        ingest = await start_ingest(env)
        try:
            await wait_for_log(ingest, "ingest subscribed")
            await unit.publish(settings.topic(hub.cid, "mrq"), mrq, qos=1)  # the unit's retransmission
            for _ in range(2):  # the broker's redelivery and the retransmission
                await asyncio.wait_for(arrived.get(), 10)
            assert [r["snu"] for r in replies] == [4, 4]
            assert await count(session, Alarm) == 1
            assert await count(session, InboxMessage, InboxMessage.ref == "CRASH1") == 1

            await session.execute(update(Alarm).values(status="accepted"))  # an operator takes it
            await session.commit()
            await unit.publish(settings.topic(hub.cid, "mrq"), mrq, qos=1)  # HOLD re-poll
            await asyncio.wait_for(arrived.get(), 10)
        finally:
            ingest.send_signal(signal.SIGTERM)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(ingest.wait(), 15)
            if ingest.returncode is None:
                ingest.kill()
            collector.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await collector
    assert [r["snu"] for r in replies] == [4, 4, 0]  # exactly one final answer
    assert await count(session, Alarm) == 1
    row = await session.scalar(select(InboxMessage).where(InboxMessage.ref == "CRASH1"))
    assert row.action == "alarm_opened" and row.final_answer_at is not None

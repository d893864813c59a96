"""The scheduler runs jobs on exactly one leader; a follower takes over when the leader goes."""

from __future__ import annotations

import asyncio
import random
from types import SimpleNamespace

from arc.kit.scheduler import Job, Scheduler


async def _until(predicate, within: float = 5.0) -> None:
    for _ in range(int(within / 0.02)):
        if predicate():
            return
        await asyncio.sleep(0.02)
    raise AssertionError("condition not met in time")


async def test_exactly_one_leader_runs_jobs_and_a_follower_takes_over(settings, db):
    tuned = settings.model_copy(
        update={"scheduler_retry_seconds": 0.05, "scheduler_lock_key": random.randint(1, 2**62)}
    )
    runs: list[str] = []

    async def probe(app) -> None:
        runs.append(app.name)

    jobs = [Job("test_probe", 0.05, probe)]
    first = Scheduler(SimpleNamespace(state=SimpleNamespace(settings=tuned), name="first"), jobs)
    second = Scheduler(SimpleNamespace(state=SimpleNamespace(settings=tuned), name="second"), jobs)
    try:
        await first.start()
        await _until(lambda: first.is_leader)
        await second.start()
        await _until(lambda: "first" in runs)
        await asyncio.sleep(0.3)
        assert (first.is_leader, second.is_leader) == (True, False)
        assert "second" not in runs

        await first.stop()  # the leader goes away: its lock goes with its connection
        await _until(lambda: second.is_leader)
        await _until(lambda: "second" in runs)
    finally:
        await first.stop()
        await second.stop()

"""The scheduler: periodic jobs, run by exactly one leader across all service processes.

Leadership is a PostgreSQL session advisory lock held on a dedicated
connection: whoever holds it runs the jobs; the others retry every few
seconds, so a leader that dies (its connection closes, the lock goes with it)
is replaced within ``scheduler_retry_seconds``.

The scheduler knows no job of its own: the composition layer lists every job in one place
(``arc/jobs.py``) and hands the list to ``Scheduler(app, jobs)``. Nothing registers itself by
being imported.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, create_async_engine
from sqlalchemy.pool import NullPool

from arc.kit.settings import Settings

log = logging.getLogger(__name__)

JobFn = Callable[[FastAPI], Awaitable[None]]
Interval = float | Callable[[Settings], float]


@dataclass(frozen=True)
class Job:
    name: str
    every: Interval
    fn: JobFn

    def seconds(self, settings: Settings) -> float:
        return float(self.every(settings) if callable(self.every) else self.every)


class LeaderLock:
    """A session-level advisory lock on a connection of its own (not from the app's pool)."""

    def __init__(self, database_url: str, key: int) -> None:
        self._engine = create_async_engine(database_url, poolclass=NullPool)
        self._key = key
        self._conn: AsyncConnection | None = None

    @property
    def held(self) -> bool:
        return self._conn is not None

    async def try_acquire(self) -> bool:
        if self._conn is None:
            conn = await self._engine.connect()
            conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
            try:
                got = await conn.scalar(text("SELECT pg_try_advisory_lock(:k)"), {"k": self._key})
            except Exception:
                await conn.close()
                raise
            if not got:
                await conn.close()
                return False
            self._conn = conn
        return True

    async def still_held(self) -> bool:
        """False if the connection (and with it the lock) was lost."""
        if self._conn is None:
            return False
        try:
            await self._conn.scalar(text("SELECT 1"))
            return True
        except Exception:
            log.warning("scheduler leader lost its database connection")
            with contextlib.suppress(Exception):
                await self._conn.close()
            self._conn = None
            return False

    async def release(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(Exception):
                await self._conn.scalar(text("SELECT pg_advisory_unlock(:k)"), {"k": self._key})
            with contextlib.suppress(Exception):
                await self._conn.close()
            self._conn = None
        await self._engine.dispose()


class Scheduler:
    """Follower until it wins the lock, then leader: runs every registered job on its interval."""

    def __init__(self, app: FastAPI, jobs: Iterable[Job]) -> None:
        self.app = app
        self.jobs: dict[str, Job] = {job.name: job for job in jobs}
        settings: Settings = app.state.settings
        self.settings = settings
        self.lock = LeaderLock(settings.database_url or "", settings.scheduler_lock_key)
        self._aps: AsyncIOScheduler | None = None
        self._task: asyncio.Task | None = None

    @property
    def is_leader(self) -> bool:
        return self._aps is not None

    async def run_job_now(self, name: str) -> None:
        await self.jobs[name].fn(self.app)

    async def _lead(self) -> None:
        self._aps = AsyncIOScheduler(timezone="UTC")
        for job in self.jobs.values():
            self._aps.add_job(
                job.fn,
                "interval",
                seconds=job.seconds(self.settings),
                args=[self.app],
                id=job.name,
                max_instances=1,
                coalesce=True,
                misfire_grace_time=None,
            )
        self._aps.start()
        log.info("scheduler: leader, running %d jobs (%s)", len(self.jobs), ", ".join(sorted(self.jobs)))

    def _follow(self) -> None:
        if self._aps is not None:
            self._aps.shutdown(wait=False)
            self._aps = None
            log.warning("scheduler: no longer leader")

    async def _loop(self) -> None:
        retry = self.settings.scheduler_retry_seconds
        while True:
            try:
                if self.lock.held:
                    if not await self.lock.still_held():
                        self._follow()
                elif await self.lock.try_acquire():
                    await self._lead()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the database may be away; keep trying
                log.warning("scheduler: leader election failed (%s); retrying", type(exc).__name__)
                self._follow()
            await asyncio.sleep(retry)

    async def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name="scheduler-leader-election")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self._follow()
        await self.lock.release()


@asynccontextmanager
async def run_scheduler(app: FastAPI, jobs: Iterable[Job]) -> AsyncIterator[Scheduler]:
    """Take part in the leader election for the app's lifetime; the leader runs ``jobs``."""
    scheduler = Scheduler(app, jobs)
    app.state.scheduler = scheduler
    if app.state.settings.scheduler_enabled:
        await scheduler.start()
    try:
        yield scheduler
    finally:
        await scheduler.stop()
        app.state.scheduler = None

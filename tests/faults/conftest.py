"""The fault suite: the real service processes (``lifeline ingest``), a Mosquitto of its own that
the tests kill and restart, PostgreSQL behind a proxy they cut, and a fleet of units that
retransmit like real ones. Every test records what happened; the run ends with the table:
sent, stored once, duplicated, lost, unanswered and recovery time per fault.

Run alone: ``python3 -m pytest -m faults -q tests/faults`` (bounded: each fault a few seconds).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
import time
from collections.abc import AsyncIterator

import pytest

from tests.faults.broker import OwnBroker

RESULTS: list[dict] = []
COLUMNS = ("sent", "stored_once", "duplicated", "lost", "unanswered", "recovery_s")


def pytest_collection_modifyitems(items) -> None:
    for item in items:
        if "tests/faults/" in str(item.fspath).replace(os.sep, "/"):
            item.add_marker(pytest.mark.faults)


def pytest_terminal_summary(terminalreporter) -> None:
    if not RESULTS:
        return
    write = terminalreporter.write_line
    terminalreporter.section("fault suite (counts per fault)")
    write(f"{'fault':<58}" + "".join(f"{c:>12}" for c in COLUMNS))
    for row in RESULTS:
        write(f"{row['fault'][:57]:<58}" + "".join(f"{row.get(c, '-')!s:>12}" for c in COLUMNS))


@pytest.fixture
def record():
    """``record(fault, counts, recovery_s=...)``: one line of the summary table."""

    def _record(fault: str, counts: dict, **extra) -> dict:
        row = {"fault": fault, **counts, **extra}
        RESULTS.append(row)
        print(row)  # also in the test's own output (-s / on failure)
        return row

    return _record


@pytest.fixture
async def own_broker(tmp_path) -> AsyncIterator[OwnBroker]:
    broker = await OwnBroker(tmp_path, persistence=True).start()
    yield broker
    await broker.kill()


class Service:
    """One ``lifeline ingest`` process; its log lines are kept with the time they arrived."""

    def __init__(self, env: dict[str, str]) -> None:
        self.env = env
        self.proc: asyncio.subprocess.Process | None = None
        self.lines: list[tuple[float, str]] = []
        self._reader: asyncio.Task | None = None
        self._seen = asyncio.Condition()

    async def start(self, **extra_env: str) -> Service:
        self.env = {**self.env, **extra_env}
        self.lines = []
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "arc.cli", "ingest",
            env=self.env,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
        )
        self._reader = asyncio.create_task(self._read())
        return self

    async def _read(self) -> None:
        while True:
            line = await self.proc.stderr.readline()
            if not line:
                return
            async with self._seen:
                self.lines.append((time.monotonic(), line.decode(errors="replace")))
                self._seen.notify_all()

    async def wait_for_log(self, text: str | tuple[str, ...], *, after: float = 0.0, within: float = 60.0) -> float:
        """The time a line containing ``text`` (or one of several) was logged (after ``after``)."""
        texts = (text,) if isinstance(text, str) else text
        async with asyncio.timeout(within), self._seen:
            while True:
                for at, line in self.lines:
                    if at >= after and any(t in line for t in texts):
                        return at
                if self.proc.returncode is not None and self._reader.done():
                    raise AssertionError(f"ingest exited before logging {text!r}")
                await self._seen.wait()

    def pid(self) -> int:
        return self.proc.pid

    async def kill(self) -> None:
        if self.proc and self.proc.returncode is None:
            self.proc.kill()
            await self.proc.wait()

    async def stop(self) -> None:
        if self.proc and self.proc.returncode is None:
            self.proc.terminate()
            try:
                await asyncio.wait_for(self.proc.wait(), 15)
            except TimeoutError:
                self.proc.kill()
                await self.proc.wait()
        if self._reader:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._reader, 2)


@pytest.fixture
def service_env(settings, database_url) -> dict[str, str]:
    return {
        **os.environ,
        "LIFELINE_ENV": "test",
        "LIFELINE_DATABASE_URL": database_url,
        "LIFELINE_MQTT_TOPIC_ROOT": settings.mqtt_topic_root,
        "LIFELINE_MQTT_CLIENT_ID": settings.mqtt_client_id,
        "LIFELINE_MQTT_SESSION_EXPIRY_SECONDS": "300",
        "LIFELINE_INGEST_BATCH_WAIT_MS": "2",
        "LIFELINE_LOG_LEVEL": "INFO",
    }


@pytest.fixture
async def services(service_env) -> AsyncIterator:
    """``await services(**env)`` starts a service process; all are stopped at the end."""
    started: list[Service] = []

    async def _start(**env: str) -> Service:
        service = await Service({**service_env, **env}).start()
        started.append(service)
        return service

    yield _start
    for service in started:
        await service.stop()

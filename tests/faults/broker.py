"""A Mosquitto of the test's own on a free port, to kill, stop and restart (never the shared one).

    broker = await OwnBroker(tmp_path, persistence=True).start()
    await broker.kill()      # SIGKILL: sessions kept only if persistence wrote them
    await broker.start()     # same port, same persistence file
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import socket
import subprocess
import time
from pathlib import Path

MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"


class OwnBroker:
    def __init__(self, workdir: Path, *, persistence: bool = True, port: int | None = None) -> None:
        self.workdir = workdir
        self.persistence = persistence
        self.port = port or free_port()
        self.process: asyncio.subprocess.Process | None = None
        self.conf = workdir / f"mosquitto-{self.port}.conf"
        self.conf.write_text(
            f"listener {self.port} 127.0.0.1\n"
            "allow_anonymous true\n"
            f"persistence {'true' if persistence else 'false'}\n"
            f"persistence_location {workdir}/\n"
            "autosave_interval 1\n"  # a kill -9 loses at most the last second of session state
            "max_queued_messages 100000\n"
            "max_inflight_messages 1000\n"  # as deploy/mosquitto/mosquitto.conf
            "log_dest none\n"
        )

    @property
    def url(self) -> str:
        return f"mqtt://127.0.0.1:{self.port}"

    async def start(self) -> OwnBroker:
        self.process = await asyncio.create_subprocess_exec(
            MOSQUITTO, "-c", str(self.conf), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        await wait_for_port(self.port)
        return self

    async def kill(self) -> None:
        """kill -9: no goodbye to clients, no final save."""
        if self.process is not None and self.process.returncode is None:
            self.process.kill()
            await self.process.wait()
        self.process = None

    async def stop(self) -> None:
        """A clean stop (SIGTERM): Mosquitto saves its sessions first when persistence is on."""
        if self.process is not None and self.process.returncode is None:
            self.process.terminate()
            try:
                await asyncio.wait_for(self.process.wait(), 10)
            except TimeoutError:
                self.process.kill()
                await self.process.wait()
        self.process = None

    def cpu_seconds(self) -> float:
        """User + system CPU time the broker process has used (from /proc)."""
        if self.process is None:
            return 0.0
        return process_cpu_seconds(self.process.pid)


def process_cpu_seconds(pid: int) -> float:
    import os

    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def wait_for_port(port: int, seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while True:
        with contextlib.suppress(OSError):
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"nothing listening on 127.0.0.1:{port}")
        await asyncio.sleep(0.02)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]

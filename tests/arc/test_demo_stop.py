"""``lifeline demo`` takes its embedded PostgreSQL (and everything else it started) with it when it
stops, on Ctrl-C (SIGINT) and on SIGTERM (docker stop, systemd, kill): no process is left behind."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import psutil
import pytest

STARTUP_S = 120  # seeding months of demo history on a shared 2-core machine
STOP_S = 30


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _left_behind(data_dir: Path, pid: int) -> list[str]:
    """Processes still running from this demo: its own, or any naming its data directory."""
    out = []
    for proc in psutil.process_iter(["pid", "cmdline"]):
        try:
            cmdline = " ".join(proc.info["cmdline"] or [])
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
        if proc.info["pid"] == pid or str(data_dir) in cmdline:
            out.append(f"{proc.info['pid']} {cmdline[:120]}")
    return out


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_demo_leaves_no_process_behind(tmp_path, stop):
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("LIFELINE_DATABASE_URL", "LIFELINE_MQTT_URL")}
    env.update(LIFELINE_DATA_DIR=str(tmp_path), LIFELINE_PORT=str(port), LIFELINE_LOG_LEVEL="WARNING")
    demo = subprocess.Popen(
        [sys.executable, "-m", "arc.cli", "demo", "--units", "1", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + STARTUP_S
        while True:
            assert demo.poll() is None, f"the demo stopped by itself: {demo.stderr.read()[-2000:]}"
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as answer:
                    if answer.status == 200:
                        break
            except OSError:
                pass
            assert time.monotonic() < deadline, "the demo did not start in time"
            time.sleep(0.5)
        assert any("postgres" in p for p in _left_behind(tmp_path, -1)), "the embedded PostgreSQL runs"

        demo.send_signal(stop)
        demo.wait(STOP_S)
        deadline = time.monotonic() + 10
        while (left := _left_behind(tmp_path, demo.pid)) and time.monotonic() < deadline:
            time.sleep(0.2)  # the postmaster's last children may take a moment
        assert left == []
        assert "Traceback" not in demo.stderr.read()
    finally:
        if demo.poll() is None:
            demo.kill()

"""`lifeline demo` really starts embedded PostgreSQL (pgserver) and amqtt, and serves /readyz."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import httpx

from arc.embedded import free_port


def test_demo_starts_embedded_services_and_is_ready(tmp_path):
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("LIFELINE_")}
    env.update(LIFELINE_DATA_DIR=str(tmp_path / "var"), LIFELINE_PORT=str(port))
    proc = subprocess.Popen(
        [sys.executable, "-m", "arc.cli", "demo", "--units", "0"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        ready = None
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                ready = httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2)
                if ready.status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        assert ready is not None and ready.status_code == 200, "demo never became ready"
        assert ready.json()["checks"] == {"database": "ok", "migrations": "ok", "broker": "ok"}
        assert (tmp_path / "var" / "postgres" / "PG_VERSION").exists()  # data kept under var/
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            output, _ = proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            output, _ = proc.communicate()
    assert "embedded PostgreSQL running" in output
    assert "embedded MQTT broker (amqtt) listening on 127.0.0.1" in output
    assert "demo data: 6 customers added" in output

"""A restarted ``lifeline ingest`` receives no alarm until it has subscribed, so it must not spend
its start-up loading code only other subcommands use: by the time ``lifeline ingest`` hands over
to the ingest worker it has configured logging, and has not loaded the web app, billing, PDF,
spreadsheet, statistics, log-in or migration code (bench: simulators/bench_restart.py)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# `lifeline ingest` as the supervisor runs it, stopped where the worker would connect to the broker
PROBE = """
import json, logging, sys
import arc.ingest.worker as worker

async def run_ingest(settings, args):
    root = logging.getLogger()
    print(json.dumps({"modules": sorted(sys.modules), "handlers": len(root.handlers), "level": root.level}))

worker.run_ingest = run_ingest
from arc.cli import main
raise SystemExit(main(["ingest"]))
"""

NOT_FOR_THE_INGEST = {
    "the web app": ("arc.app", "uvicorn", "arc.observability"),  # (fastapi itself: the worker's)
    "log-in (an argon2 hash at import)": ("arc.auth.service", "arc.auth.passwords", "argon2"),
    "billing": ("billing",),
    "PDF": ("fpdf", "reportlab"),
    "spreadsheets": ("openpyxl",),
    "statistics": ("scipy",),
    "migrations": ("alembic", "arc.migrate"),
}
# every command builds the whole parser: `lifeline billing`'s, with its argument types, is built too
PARSING = {"billing", "billing.cli", "billing.exports", "billing.money", "billing.periods"}


def loaded_by_lifeline_ingest() -> dict:
    env = {
        **os.environ,
        "LIFELINE_ENV": "test",
        "LIFELINE_DATABASE_URL": "postgresql+asyncpg://nobody@127.0.0.1:1/none",
        "LIFELINE_MQTT_URL": "mqtt://127.0.0.1:1",
        "LIFELINE_LOG_LEVEL": "WARNING",
    }
    done = subprocess.run(
        [sys.executable, "-c", PROBE],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_lifeline_ingest_loads_only_what_receiving_alarms_needs():
    seen = loaded_by_lifeline_ingest()
    modules = set(seen["modules"]) - PARSING
    loaded = {
        what: sorted(m for m in modules if any(m == p or m.startswith(p + ".") for p in prefixes))
        for what, prefixes in NOT_FOR_THE_INGEST.items()
    }
    endpoints = sorted(m for m in modules if m.startswith("arc.") and m.endswith(".endpoints"))
    found = {what: f"{len(mods)} modules: {', '.join(mods[:3])}..." for what, mods in loaded.items() if mods}
    assert found == {}
    assert endpoints == []
    assert seen["handlers"] >= 1 and seen["level"] == 30  # configure_logging(LIFELINE_LOG_LEVEL) ran

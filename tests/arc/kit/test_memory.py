"""The start-up heap is left out of full garbage collections, once per process (arc/kit/memory.py)."""

from __future__ import annotations

import subprocess
import sys

SCRIPT = """
import gc
from arc.kit.memory import settle_heap
kept = [[n] for n in range(50_000)]  # long-lived start-up objects
first = settle_heap()
later = [[n] for n in range(50_000)]  # made after start-up: still collected as usual
print(first >= 50_000, gc.get_freeze_count() == first, settle_heap() == 0, gc.get_freeze_count() == first)
"""


def test_start_up_objects_are_frozen_once_and_later_ones_are_not():
    out = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, check=True, timeout=60)
    assert out.stdout.split() == ["True", "True", "True", "True"]


FIRST_ALARM = """
from sqlalchemy import inspect
from arc.alarms.models import Alarm
from arc.kit.memory import settle_heap
before = inspect(Alarm).configured
settle_heap()
print(before, inspect(Alarm).configured)
"""


def test_the_orm_is_configured_at_start_up_not_by_the_first_alarm():
    """SQLAlchemy configures its mappers when the first ORM object is made — in the ingest, inside
    the first alarm's transaction (44 ms of CPU). Settling the heap does it first."""
    out = subprocess.run([sys.executable, "-c", FIRST_ALARM], capture_output=True, text=True, check=True, timeout=60)
    assert out.stdout.split() == ["False", "True"]

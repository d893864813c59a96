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

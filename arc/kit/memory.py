"""The start-up heap, left out of the garbage collector's full collections.

A running service holds ~300,000 objects it made while starting (modules, SQLAlchemy's mappers and
compiled statements, pydantic models, routes) and never frees. Python's full (generation 2)
collection walks all of them each time; under load that was up to 178 ms of CPU at once, and on a
service short of CPU — twice its capacity, capped at a tenth of a core (`simulators.bench_overload
--service-cpu 0.1`) — alarms waited behind it: p99 2.7 s. ``gc.freeze()`` moves them to the
permanent generation, which no collection visits: p99 0.4 s in the same run.

First it finishes what start-up would otherwise leave to the first request: SQLAlchemy configures
its mappers when the first ORM object is made, and in the ingest that is the first alarm — 44 ms of
CPU inside that alarm's transaction (its unit's row locked), ten times that on a capped service,
where it was the whole p99 of `bench_overload` at 2x (the alarms queued behind the first).
"""

from __future__ import annotations

import gc
import logging

from sqlalchemy.orm import configure_mappers

log = logging.getLogger(__name__)
_settled = False


def settle_heap() -> int:
    """Once per process, after start-up: configure the ORM's mappers (every model imported by then),
    collect, then freeze what is left. Returns how many objects
    are frozen (0 when an earlier call already did it: later objects stay collectable, so a test
    process starting many apps does not keep them all)."""
    global _settled
    if _settled:
        return 0
    _settled = True
    configure_mappers()
    gc.collect()
    gc.freeze()
    log.debug("%d start-up objects left out of garbage collection", gc.get_freeze_count())
    return gc.get_freeze_count()

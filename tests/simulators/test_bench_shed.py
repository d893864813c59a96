"""bench_shed measures what it says: every heartbeat read is queued, or answered busy once with
its PUBACK (hbi only to the units that sent hbo 001) — its own checks fail otherwise."""

from __future__ import annotations

import asyncio

from simulators.bench_shed import one_round, publishes


def test_bench_shed_reads_and_sheds_every_heartbeat_with_the_right_answers():
    for v5 in (True, False):
        data = publishes(300, v5)
        for shed in (False, True):
            cost = asyncio.run(one_round(data, 300, v5, shed, None, chunk=1024))
            assert cost > 0

"""When heartbeats are shed: only when one would wait longer to be stored than its unit waits to
resend it (or past the memory bound) — a storm the ingest clears in a few seconds is kept whole."""

from __future__ import annotations

from arc.ingest.shedding import ShedPolicy


def policy_storing(per_second: float, *, concurrency: int = 2, batches: int = 5) -> ShedPolicy:
    """A policy that has seen ``batches`` batches of 200 stored at ``per_second`` in all."""
    policy = ShedPolicy(after_seconds=5, ceiling=20_000, concurrency=concurrency)
    for _ in range(batches):
        policy.stored(200, 200 / (per_second / concurrency))
    return policy


def test_a_storm_the_ingest_stores_within_the_units_retransmission_interval_is_kept_whole():
    policy = policy_storing(4000)
    # 15,000 heartbeats ahead at 4,000 a second: stored within 4 s, before any unit sends again
    assert not policy.should_shed(15_000)


def test_a_heartbeat_that_would_wait_longer_than_the_retransmission_interval_is_shed():
    policy = policy_storing(1000)
    assert policy.should_shed(6_000)  # 6 s of work ahead of it
    assert not policy.should_shed(4_000)  # 4 s: kept


def test_before_anything_is_known_only_the_memory_bound_sheds():
    policy = ShedPolicy(after_seconds=5, ceiling=20_000, concurrency=2)
    assert not policy.should_shed(2_000)  # a storm's first messages, before its first batch commits
    assert policy.should_shed(20_000)


def test_the_rate_follows_the_recent_batches():
    policy = policy_storing(8000, batches=20)
    assert not policy.should_shed(30_000 // 2)
    for _ in range(20):  # the database has slowed down (or the machine is busy)
        policy.stored(200, 200 / 250)
    assert 450 < policy.rate() < 550
    assert policy.should_shed(4_000)  # 8 s at today's rate, though 0.5 s at the old one

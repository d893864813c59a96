"""The process's live-event hub: committed events only, in id order, slow subscribers dropped."""

from __future__ import annotations

import asyncio
import json

import pytest
from sqlalchemy import text

from arc.alarms.events import emit
from arc.kit.db import make_sessionmaker
from arc.live.stream import LiveHub, Subscription, plain_dsn

pytestmark = pytest.mark.asyncio


@pytest.fixture
async def hub(db, database_url):
    live = LiveHub(plain_dsn(database_url), poll_interval=0.5, gap_hold=1.0)
    await live.start()
    assert live.ready
    yield live
    await live.stop()


async def _next(sub: Subscription, within: float = 5.0):
    async with asyncio.timeout(within):
        return await sub.get()


async def _nothing_within(sub: Subscription, seconds: float) -> bool:
    try:
        async with asyncio.timeout(seconds):
            await sub.get()
    except TimeoutError:
        return True
    return False


async def _emit_committed(engine, n: int, kind: str = "alarm.opened") -> list[int]:
    ids = []
    async with make_sessionmaker(engine)() as s:
        for i in range(n):
            ids.append(await emit(s, kind, {"n": i}))
        await s.commit()
    return ids


async def test_event_arrives_only_after_commit(hub, engine):
    sub = hub.subscribe()
    async with make_sessionmaker(engine)() as s:
        event = await emit(s, "alarm.opened", {"id": 41, "title": "Pendant"}, alarm_id=41)
        assert await _nothing_within(sub, 0.3), "an uncommitted event reached a dashboard"
        await s.commit()
    got = await _next(sub)
    assert (got.id, got.kind, got.alarm_id) == (event, "alarm.opened", 41)
    assert json.loads(got.data) == {"id": 41, "title": "Pendant"}
    assert got.frame() == f"id: {event}\nevent: alarm.opened\ndata: {got.data}\n\n".encode()


async def test_rolled_back_event_never_arrives_and_does_not_hold_up_later_ones(hub, engine):
    sub = hub.subscribe()
    async with make_sessionmaker(engine)() as s:
        await emit(s, "alarm.opened", {"doomed": True})
        await s.rollback()
    assert await _nothing_within(sub, 0.3)
    [kept] = await _emit_committed(engine, 1)
    loop = asyncio.get_running_loop()
    started = loop.time()
    got = await _next(sub)
    assert got.id == kept and json.loads(got.data) == {"n": 0}
    assert loop.time() - started < hub.gap_hold, "a rolled-back id should not stall the stream"


async def test_a_transaction_in_another_database_does_not_hold_up_the_stream(hub, engine, database_url):
    """Ids of this database can only be held by its own transactions: a long transaction on
    another database of the same server (another service, a report) must not stall a gap."""
    from urllib.parse import urlsplit, urlunsplit

    import asyncpg

    parts = urlsplit(plain_dsn(database_url))
    other = await asyncpg.connect(urlunsplit(parts._replace(path="/postgres")))
    try:
        busy = other.transaction()
        await busy.start()
        await other.fetchval("SELECT txid_current()")  # it holds an xid until it ends
        sub = hub.subscribe()
        async with make_sessionmaker(engine)() as s:
            await emit(s, "alarm.opened", {"doomed": True})
            await s.rollback()
        [kept] = await _emit_committed(engine, 1)
        loop = asyncio.get_running_loop()
        started = loop.time()
        got = await _next(sub)
        assert got.id == kept
        assert loop.time() - started < hub.gap_hold / 2, "another database's transaction held the gap"
        await busy.rollback()
    finally:
        await other.close()


async def test_out_of_order_commits_are_delivered_in_id_order(hub, engine):
    sub = hub.subscribe()
    maker = make_sessionmaker(engine)
    async with maker() as first, maker() as second:
        early = await emit(first, "alarm.opened", {"which": "early"})
        late = await emit(second, "alarm.opened", {"which": "late"})
        assert early < late
        await second.commit()
        assert await _nothing_within(sub, 0.3), "id order must hold while the earlier id is in flight"
        await first.commit()
    assert [(await _next(sub)).id, (await _next(sub)).id] == [early, late]


async def test_a_commit_between_the_snapshot_and_the_activity_read_keeps_id_order(hub, engine, monkeypatch):
    """The hub's snapshot and its pg_stat_activity read are a moment apart. A transaction
    that commits in that moment is in neither (its row was hidden, its xid already gone):
    the hub must not take the gap it leaves as rolled back and deliver out of id order."""
    from arc.live import stream

    slow = stream._SNAPSHOT.replace(
        "coalesce((SELECT", "coalesce(CASE WHEN (SELECT pg_sleep(0.3)::text) IS NOT NULL THEN (SELECT"
    ).replace("), '{}')", ") END, '{}')")
    assert slow != stream._SNAPSHOT
    sub = hub.subscribe()
    maker = make_sessionmaker(engine)
    async with maker() as first, maker() as second:
        early = await emit(first, "alarm.opened", {"which": "early"})
        late = await emit(second, "alarm.opened", {"which": "late"})
        await asyncio.sleep(0.6)  # let the hub finish any drain it started with the old query
        monkeypatch.setattr(stream, "_SNAPSHOT", slow)
        await second.commit()
        await asyncio.sleep(0.1)  # the hub has its snapshot and sleeps before reading activity
        await first.commit()
    got = [await _next(sub), await _next(sub)]
    assert [(e.id, e.late) for e in got] == [(early, False), (late, False)]


async def test_event_committed_after_the_hold_still_arrives_without_moving_the_resume_point(hub, engine):
    sub = hub.subscribe()
    maker = make_sessionmaker(engine)
    async with maker() as slow:
        straggler = await emit(slow, "alarm.opened", {"which": "straggler"})
        [quick] = await _emit_committed(engine, 1)
        got = await _next(sub, within=hub.gap_hold + 3)  # the hub gives up waiting and moves on
        assert got.id == quick
        await slow.commit()
    got = await _next(sub)
    assert (got.id, got.late) == (straggler, True)
    assert not got.frame().startswith(b"id:"), "a late event must not move the browser's Last-Event-ID back"


async def test_event_in_flight_when_the_process_starts_is_still_delivered(db, database_url, engine):
    maker = make_sessionmaker(engine)
    async with maker() as slow:
        straggler = await emit(slow, "alarm.opened", {"which": "straggler"})
        [newest] = await _emit_committed(engine, 1)
        hub = LiveHub(plain_dsn(database_url), poll_interval=0.2)
        await hub.start()
        try:
            assert hub.cursor == newest
            sub = hub.subscribe()
            await slow.commit()
            got = await _next(sub)
            assert (got.id, got.late) == (straggler, True)
        finally:
            await hub.stop()


async def test_slow_subscriber_is_dropped_and_never_blocks_the_others(db, database_url, engine):
    hub = LiveHub(plain_dsn(database_url), queue_size=3, poll_interval=0.5)
    await hub.start()
    try:
        slow, fast = hub.subscribe(), hub.subscribe()
        received: list[int] = []

        async def keep_up() -> None:
            while len(received) < 10:
                received.append((await _next(fast)).id)

        reader = asyncio.create_task(keep_up())
        ids = await _emit_committed(engine, 10)
        async with asyncio.timeout(5):
            await reader
        assert received == ids
        assert slow.dropped and hub.dropped == 1
        assert await _next(slow) is None, "a dropped stream must end so the browser resumes by id"
        assert hub.subscribers == 1
    finally:
        await hub.stop()


async def test_listener_reconnects_and_catches_up_after_losing_its_connection(hub, engine):
    sub = hub.subscribe()
    pid = hub._conn.get_server_pid()
    async with engine.connect() as conn:
        await conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    ids = await _emit_committed(engine, 2)  # committed while the hub may not be listening
    assert [(await _next(sub, within=10)).id for _ in ids] == ids
    assert hub.connected and hub._conn.get_server_pid() != pid


async def test_stopping_the_hub_ends_every_stream(database_url, db):
    hub = LiveHub(plain_dsn(database_url))
    await hub.start()
    sub = hub.subscribe()
    await hub.stop()
    assert await _next(sub) is None
    assert await _next(hub.subscribe()) is None


async def test_stream_without_the_live_component_says_unavailable(client):
    answer = await client.get("/api/live/stream")
    assert answer.status_code == 503 and answer.json()["error"] == "unavailable"

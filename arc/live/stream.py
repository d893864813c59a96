"""One LISTEN connection per process, fanned out to every open dashboard stream.

``emit`` (arc/alarms/events.py) writes a ``live_events`` row and a ``pg_notify``
in the caller's transaction, so a notification means "something committed".
The hub reads the committed rows itself and hands each event, already framed
for SSE, to every subscriber's bounded queue. A subscriber whose queue is full
is dropped (its stream ends, the browser reconnects and catches up from the
table by id); it never slows the others down.

Ordering. Ids come from a sequence, but transactions commit in any order: id 11
can be visible while id 10 is still in flight (or rolled back and never coming).
The hub delivers in id order and holds back at such a gap until every
transaction of this database that was running when the gap was seen has finished
(``pg_current_snapshot()`` narrowed to this database's backends in ``pg_stat_activity`` —
transactions of other databases on the same server cannot hold our ids, and on a shared
server they would otherwise hold every gap for ``gap_hold``); after ``gap_hold`` seconds it
moves on anyway. A gap is never passed in the drain that first sees it (see ``_gap_settled``).
Either way the skipped ids stay on a watch list for a while, and if one of
them commits late it is still delivered — without an SSE ``id:`` line, so a
browser's resume point (``Last-Event-ID``) never moves backwards. So ``cursor``
means: every event up to here has been delivered, is known not to exist, or is
on the watch list. At start-up the ids just below the newest one that are not
in the table go on the watch list too (another process may be committing them).
A late event reaches the dashboards connected at that moment; one that was
disconnected then picks it up from its periodic queue reload.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field

import asyncpg
from fastapi import FastAPI

from arc.alarms.events import CHANNEL

log = logging.getLogger(__name__)

_FETCH = """
SELECT id, kind, alarm_id, payload::text AS data FROM live_events
WHERE id > $1 OR id = ANY($2::bigint[])
ORDER BY id LIMIT $3
"""


_MISSING_BELOW = """
SELECT g FROM generate_series(greatest($1::bigint - $2::bigint + 1, 1), $1::bigint) AS g
WHERE NOT EXISTS (SELECT 1 FROM live_events WHERE id = g)
"""
START_WATCH = 1000  # how many ids below the newest are checked for stragglers at start-up


@dataclass(frozen=True, slots=True)
class LiveEventOut:
    """A committed live event as dashboards receive it."""

    id: int
    kind: str
    alarm_id: int | None
    data: str  # the payload as JSON text (one line)
    late: bool = False  # delivered out of id order (see the module note)

    def frame(self) -> bytes:
        head = "" if self.late else f"id: {self.id}\n"
        return f"{head}event: {self.kind}\ndata: {self.data}\n\n".encode()


_CLOSED = object()  # put in a subscriber's queue: the stream must end


class Subscription:
    """One stream's view of the hub: a bounded queue of events after ``start``."""

    def __init__(self, hub: LiveHub, start: int, maxsize: int) -> None:
        self.hub = hub
        self.start = start  # every event with a greater id will arrive through the queue
        self.dropped = False
        self._queue: asyncio.Queue = asyncio.Queue(maxsize=maxsize)

    def _offer(self, event: LiveEventOut) -> bool:
        try:
            self._queue.put_nowait(event)
            return True
        except asyncio.QueueFull:
            self.dropped = True
            self._close()
            return False

    def _close(self) -> None:
        while not self._queue.empty():
            self._queue.get_nowait()
        self._queue.put_nowait(_CLOSED)

    async def get(self) -> LiveEventOut | None:
        """The next event; ``None`` once the stream must end."""
        item = await self._queue.get()
        if item is _CLOSED:
            self._queue.put_nowait(_CLOSED)  # stay closed for any later call
            return None
        return item

    def close(self) -> None:
        self.hub.unsubscribe(self)


@dataclass
class _Gap:
    start: int  # first missing id
    seen_at: float
    waiting_for: set[int] = field(default_factory=set)  # xids in progress when the gap was seen


class LiveHub:
    """LISTEN on ``lifeline_events`` and fan committed events out to subscribers."""

    def __init__(
        self,
        dsn: str,
        *,
        queue_size: int = 1000,
        poll_interval: float = 5.0,
        gap_recheck: float = 0.01,
        gap_hold: float = 2.0,
        late_watch: float = 600.0,
        batch: int = 500,
    ) -> None:
        self._dsn = dsn
        self.queue_size = queue_size
        self.poll_interval = poll_interval  # safety net for a lost notification
        self.gap_recheck = gap_recheck
        self.gap_hold = gap_hold
        self.late_watch = late_watch
        self.batch = batch
        self.cursor = 0
        self.connected = False
        self.delivered = 0
        self.dropped = 0
        self._subs: set[Subscription] = set()
        self._gap: _Gap | None = None
        self._late: dict[int, float] = {}  # skipped id -> watch until (monotonic)
        self._wake = asyncio.Event()
        self._ready = asyncio.Event()
        self._task: asyncio.Task | None = None
        self._stopping = False
        self._refusing = False
        self._conn: asyncpg.Connection | None = None

    # -- life cycle -------------------------------------------------------------------------------

    async def start(self, wait: float = 10.0) -> None:
        """Start listening; wait up to ``wait`` s for the first connection (it keeps trying after)."""
        self._task = asyncio.create_task(self._run(), name="live-hub")
        try:
            async with asyncio.timeout(wait):
                await self._ready.wait()
        except TimeoutError:
            log.warning("live stream: database not reachable yet; dashboards wait until it is")

    async def stop(self) -> None:
        self._stopping = True
        self._wake.set()
        if self._task is not None:
            self._task.cancel()
            with suppress(asyncio.CancelledError):
                await self._task
        self.close_streams()

    def close_streams(self, *, refuse_new: bool = False) -> int:
        """End every open stream now (shutdown, or to make every dashboard resume by id);
        with ``refuse_new`` a stream opened later ends at once too (the process is going away)."""
        self._refusing = self._refusing or refuse_new
        subs = list(self._subs)
        self._subs.clear()
        for sub in subs:
            sub._close()
        return len(subs)

    # -- subscribers ------------------------------------------------------------------------------

    def subscribe(self) -> Subscription:
        sub = Subscription(self, self.cursor, self.queue_size)
        if self._stopping or self._refusing:
            sub._close()
        else:
            self._subs.add(sub)
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        self._subs.discard(sub)

    @property
    def ready(self) -> bool:
        """True once the first LISTEN connection set the cursor."""
        return self._ready.is_set()

    async def wait_ready(self, within: float) -> bool:
        with suppress(TimeoutError):
            async with asyncio.timeout(within):
                await self._ready.wait()
        return self._ready.is_set()

    @property
    def subscribers(self) -> int:
        return len(self._subs)

    def late_ids(self) -> frozenset[int]:
        return frozenset(self._late)

    def _deliver(self, event: LiveEventOut) -> None:
        self.delivered += 1
        for sub in list(self._subs):
            if not sub._offer(event):
                self._subs.discard(sub)
                self.dropped += 1
                log.warning("live stream: dropped a slow subscriber (queue of %d full)", self.queue_size)

    # -- the listener -----------------------------------------------------------------------------

    def _on_notify(self, *_args) -> None:
        self._wake.set()

    async def _run(self) -> None:
        backoff = 0.2
        first = True
        while not self._stopping:
            try:
                conn = await asyncpg.connect(self._dsn, timeout=10)
            except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
                self.connected = False
                log.warning("live stream: cannot reach the database (%s); retrying", type(exc).__name__)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 10.0)
                continue
            self._conn = conn
            try:
                await conn.add_listener(CHANNEL, self._on_notify)
                conn.add_termination_listener(self._on_notify)
                if first:  # start at the present; history is served from the table by id
                    await self._start_cursor(conn)
                    first = False
                self.connected = True
                backoff = 0.2
                self._ready.set()
                log.info("live stream: listening on %s from event %d", CHANNEL, self.cursor)
                await self._pump(conn)  # also catches up whatever committed while we were away
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError) as exc:
                log.warning("live stream: listener connection lost (%s); reconnecting", type(exc).__name__)
            except Exception:  # never let the listener die: dashboards depend on it
                log.exception("live stream: unexpected error; reconnecting")
            finally:
                self.connected = False
                self._conn = None
                with suppress(Exception):
                    await asyncio.wait_for(conn.close(), 2)
                conn.terminate()
            if not self._stopping:
                await asyncio.sleep(backoff)

    async def _start_cursor(self, conn: asyncpg.Connection) -> None:
        """Start after the newest event; ids missing just below it may still be in flight
        in another process's transaction, so they go on the late watch list."""
        self.cursor = await conn.fetchval("SELECT coalesce(max(id), 0) FROM live_events")
        missing = await conn.fetch(_MISSING_BELOW, self.cursor, START_WATCH)
        until = time.monotonic() + self.late_watch
        self._late.update({row[0]: until for row in missing})

    async def _pump(self, conn: asyncpg.Connection) -> None:
        self._wake.set()
        while not self._stopping and not conn.is_closed():
            timeout = self.gap_recheck if self._gap else self.poll_interval
            with suppress(TimeoutError):
                async with asyncio.timeout(timeout):
                    await self._wake.wait()
            self._wake.clear()
            if conn.is_closed():
                break
            if await self._drain(conn):
                self._wake.set()  # a full batch: there is more to read

    async def _drain(self, conn: asyncpg.Connection) -> bool:
        """Read committed events past the cursor (and watched late ids); deliver in order."""
        now = time.monotonic()
        self._late = {i: until for i, until in self._late.items() if until > now}
        async with conn.transaction(isolation="repeatable_read", readonly=True):
            snapshot, local = await conn.fetchrow(_SNAPSHOT)
            rows = await conn.fetch(_FETCH, self.cursor, list(self._late), self.batch)
        running = _running_xids(snapshot, set(local))
        for row in rows:
            event_id = row["id"]
            if event_id <= self.cursor:
                if self._late.pop(event_id, None) is not None:
                    self._deliver(
                        LiveEventOut(event_id, row["kind"], row["alarm_id"], row["data"], late=True)
                    )
                    await asyncio.sleep(0)
                continue
            if event_id > self.cursor + 1 and not self._gap_settled(event_id, running, now):
                break  # hold back until the missing ids commit or are known not to be coming
            self._gap = None
            self._deliver(LiveEventOut(event_id, row["kind"], row["alarm_id"], row["data"]))
            self.cursor = event_id
            await asyncio.sleep(0)  # let the streams take it before the next one
        return len(rows) == self.batch

    def _gap_settled(self, next_id: int, running: set[int], now: float) -> bool:
        """Ids cursor+1 .. next_id-1 are missing: may the cursor move past them now?"""
        first_missing = self.cursor + 1
        if self._gap is None or self._gap.start != first_missing:
            # Never on first sight. ``running`` mixes two reads: the snapshot (which hid the
            # missing rows) and pg_stat_activity, read a moment later. A transaction that
            # committed in between is absent from both ``running`` and this drain's rows, so
            # "nobody is running" would skip an id that is already committed. The next drain's
            # snapshot is taken after that pg_stat_activity read: it sees the row, or the
            # transaction is in ``waiting_for``.
            self._gap = _Gap(first_missing, now, set(running))
            return False
        gap = self._gap
        settled = not (gap.waiting_for & running)  # everyone who might hold them has finished
        timed_out = now - gap.seen_at >= self.gap_hold
        if not (settled or timed_out):
            return False
        if timed_out and not settled:
            log.warning(
                "live stream: events %d..%d uncommitted after %.1f s; moving on",
                first_missing,
                next_id - 1,
                self.gap_hold,
            )
        until = now + self.late_watch
        for missing in range(first_missing, min(next_id, first_missing + 10_000)):
            self._late[missing] = until
        return True


_SNAPSHOT = """
SELECT pg_current_snapshot()::text,
       coalesce((SELECT array_agg(backend_xid::text::bigint) FROM pg_stat_activity
                 WHERE datname = current_database() AND backend_xid IS NOT NULL), '{}')
"""


def _running_xids(snapshot: str, local: set[int] | None = None) -> set[int]:
    """Transaction ids in progress in a ``pg_current_snapshot()`` text ``xmin:xmax:xip,...``;
    with ``local`` (32-bit xids of this database's backends) only those of this database."""
    xip = snapshot.split(":", 2)[2]
    running = {int(x) for x in xip.split(",") if x}
    if local is None:
        return running
    return {x for x in running if (x & 0xFFFFFFFF) in local}


def plain_dsn(database_url: str) -> str:
    return database_url.replace("postgresql+asyncpg://", "postgresql://", 1)


@asynccontextmanager
async def live_stream(app: FastAPI) -> AsyncIterator[None]:
    """App component: the process's live-event hub, as ``app.state.live_hub``."""
    hub = LiveHub(plain_dsn(app.state.settings.database_url))
    await hub.start()
    app.state.live_hub = hub
    try:
        yield
    finally:
        app.state.live_hub = None
        await hub.stop()

"""When to shed a heartbeat: when it would wait longer to be stored than the unit waits to send it again.

A heartbeat is shed (answered ``snu`` 6, busy, with a raised ``hbi`` to units that accept one)
only when storing it is pointless or unsafe:

- its expected wait — heartbeats queued ahead of it ÷ the rate recent heartbeat batches were
  stored at — is longer than ``after_seconds`` (LIFELINE_INGEST_SHED_AFTER_SECONDS,
  5 s: the shortest retransmission interval of a Lifeline unit), so the unit's retransmission would
  arrive before it was stored; or
- more than ``ceiling`` heartbeats are queued (LIFELINE_INGEST_SHED_HEARTBEATS_BACKLOG), whatever
  the rate: the memory bound.

A reconnect storm the ingest stores within a few seconds is therefore kept whole, rather than
shed and sent again (which lengthens it: every shed unit returns one retransmission later), and
sustained overload is shed as soon as the queue is longer than the units' patience. A database
that stops answering holds its batch, not the queue: heartbeats then queue up to the ceiling and
the ingest's status says ``stuck`` (the dashboard's red banner). Alarms are never shed here: they
have their own lane (``arc/ingest/worker.py``).
"""

from __future__ import annotations

from collections import deque

RECENT_BATCHES = 20  # the storing rate is judged from this many recent heartbeat batches


class ShedPolicy:
    """``should_shed(queued)`` for each arriving heartbeat; ``stored(count, seconds)`` after each
    heartbeat batch. The storing rate is what recent batches achieved while they ran (their size ÷
    their time, times the batches stored at once), not the arrival rate: it is known from the first
    batch of a storm, and does not fall just because the queue was empty for a while."""

    def __init__(self, after_seconds: float, ceiling: int, concurrency: int = 1) -> None:
        self.after_seconds = after_seconds
        self.ceiling = ceiling
        self.concurrency = concurrency
        self._batches: deque[tuple[int, float]] = deque()
        self._count, self._seconds = 0, 0.0  # totals over _batches: asked for every heartbeat read

    def stored(self, count: int, seconds: float) -> None:
        """A batch of ``count`` heartbeats took ``seconds`` to store and answer."""
        seconds = max(seconds, 1e-4)
        self._batches.append((count, seconds))
        self._count, self._seconds = self._count + count, self._seconds + seconds
        if len(self._batches) > RECENT_BATCHES:
            old_count, old_seconds = self._batches.popleft()
            self._count, self._seconds = self._count - old_count, self._seconds - old_seconds

    def rate(self) -> float | None:
        """Heartbeats the ingest stores per second; None before any batch has been stored."""
        if not self._batches:
            return None
        return self._count / self._seconds * self.concurrency

    def should_shed(self, queued: int) -> bool:
        """Shed the heartbeat that would join ``queued`` others?"""
        if queued >= self.ceiling:
            return True
        rate = self.rate()
        if rate is None:
            return False  # nothing stored yet to judge by: keep it (the ceiling still holds)
        return queued >= rate * self.after_seconds

"""When to shed a heartbeat: when it would wait longer to be stored than the unit waits to send it again.

A heartbeat is shed (answered ``snu`` 6, busy, with a raised ``hbi`` to units that accept one)
only when storing it is pointless or unsafe:

- its expected wait — heartbeats queued ahead of it ÷ the rate storing achieves (the fastest of
  the recent heartbeat batches) — is longer than ``after_seconds`` (LIFELINE_INGEST_SHED_AFTER_SECONDS,
  5 s: the shortest retransmission interval of a Lifeline unit), so the unit's retransmission would
  arrive before it was stored; or
- it has waited longer than ``after_seconds`` when its turn comes (``stale``): what the expected
  wait misjudged — before ``MATURE`` batches have been measured it is not judged at all — the
  actual wait catches; or
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
JUDGING_BATCH = 50  # smaller batches (quiet times) are mostly fixed cost: they say nothing of the rate
MATURE = 5  # judging batches in the window before the rate is trusted to shed on arrival


class ShedPolicy:
    """``should_shed(queued)`` for each arriving heartbeat; ``stored(count, seconds)`` after each
    heartbeat batch. The storing rate is what storing achieves when it runs: the fastest of the
    recent batches (their size ÷ their time, times the batches stored at once). A batch's wall time
    also holds whatever else the event loop did meanwhile — in a storm, reading the burst: one batch
    of 15 took 4 s while 20,000 messages were read, and an average over it shed the whole storm. Not
    the arrival rate either: the rate is known from the first batch of a storm, and does not fall
    because the queue was empty for a while. A database that has really slowed down shows in every
    batch, and after ``RECENT_BATCHES`` of them the rate is its rate."""

    def __init__(self, after_seconds: float, ceiling: int, concurrency: int = 1) -> None:
        self.after_seconds = after_seconds
        self.ceiling = ceiling
        self.concurrency = concurrency
        self._rates: deque[float] = deque(maxlen=RECENT_BATCHES)  # heartbeats a second, per batch
        self._best: float | None = None  # max(_rates): asked for every heartbeat read

    def stored(self, count: int, seconds: float) -> None:
        """A batch of ``count`` heartbeats took ``seconds`` to store and answer."""
        if count < JUDGING_BATCH:
            return
        rate = count / max(seconds, 1e-4)
        leaving = self._rates[0] if len(self._rates) == self._rates.maxlen else None
        self._rates.append(rate)
        if self._best is None or rate >= self._best:
            self._best = rate
        elif leaving is not None and leaving >= self._best:  # the best has left the window
            self._best = max(self._rates)

    def rate(self) -> float | None:
        """Heartbeats the ingest stores per second; None until ``MATURE`` batches have been judged
        (a storm's first batches run while it is being read: one of them alone is no measure)."""
        if self._best is None or len(self._rates) < MATURE:
            return None
        return self._best * self.concurrency

    def stale(self, received_at: float | None, now: float) -> bool:
        """A heartbeat read at ``received_at`` that has waited longer than the units' patience by
        ``now``: shed when its turn comes (what the expected wait misjudged, the actual wait sees)."""
        return received_at is not None and now - received_at > self.after_seconds

    def should_shed(self, queued: int) -> bool:
        """Shed the heartbeat that would join ``queued`` others?"""
        if queued >= self.ceiling:
            return True
        rate = self.rate()
        if rate is None:
            return False  # nothing stored yet to judge by: keep it (the ceiling still holds)
        return queued >= rate * self.after_seconds

"""When to shed a heartbeat: when the heartbeats queued ahead of it have already waited too long.

A heartbeat is shed (answered ``snu`` 6, busy, with a raised ``hbi`` to units that accept one)
only when storing it is pointless or harmful:

- on arrival, when the oldest heartbeat still queued has waited longer than ``queue_seconds``
  (LIFELINE_INGEST_SHED_QUEUE_SECONDS, 1 s): storing is not keeping up with arrivals, whatever
  the cause (a slow database, or a CPU that reading and storing share) — the wait itself says so,
  with no estimate of a rate to get wrong; or
- when its turn comes, if it has waited longer than ``after_seconds`` (LIFELINE_INGEST_SHED_AFTER_SECONDS,
  5 s: the shortest retransmission interval of a Lifeline unit): its unit is sending it again; or
- on arrival, past ``ceiling`` heartbeats queued (LIFELINE_INGEST_SHED_HEARTBEATS_BACKLOG): the
  memory bound.

Why the wait of the queue, and why short. Every heartbeat queued is a message the broker holds
unacknowledged for us, and Mosquitto walks its whole in-flight list for every PUBACK
(``db__message_delete_outgoing``): at 2x capacity the ingest once held 80,000, the broker spent a
core on PUBACKs alone and stopped reading our socket, and alarms waited in its queue for
seconds. Held to about a second of storing, the list stays a few thousand long.

A reconnect storm is still kept whole: it arrives in well under a second, so no heartbeat is
queued a second before the storm has been read, and storing it takes a few seconds more
(20,000 units: 2.4–3.3 s here, none shed). Sustained overload, by contrast, ages the queue within a second
and every further heartbeat is shed until storing catches up. A database that stops answering
holds its batch; the queue then ages and arrivals are shed, while the ingest's status says
``stuck`` (the dashboard's red banner). Alarms are never shed here: they have their own lane
(``arc/ingest/worker.py``).
"""

from __future__ import annotations


class ShedPolicy:
    """``should_shed(queued, oldest, now)`` for each arriving heartbeat; ``stale(received_at, now)``
    for each heartbeat when a batch takes it."""

    def __init__(self, after_seconds: float, ceiling: int, queue_seconds: float) -> None:
        self.after_seconds = after_seconds
        self.ceiling = ceiling
        self.queue_seconds = min(queue_seconds, after_seconds)

    def should_shed(self, queued: int, oldest: float | None, now: float) -> bool:
        """Shed the heartbeat read at ``now`` that would join ``queued`` others, the oldest of them
        read at ``oldest`` (``time.monotonic()``; None for one that was not read by the worker)?"""
        if queued >= self.ceiling:
            return True
        return oldest is not None and now - oldest > self.queue_seconds

    def stale(self, received_at: float | None, now: float) -> bool:
        """A heartbeat read at ``received_at`` that has waited longer than the units' patience by
        ``now``: shed when its turn comes (its unit is already sending it again)."""
        return received_at is not None and now - received_at > self.after_seconds

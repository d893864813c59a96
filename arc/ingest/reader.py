"""Reading a burst as fast as it arrives, so that an alarm inside it is found at once.

paho's ``loop_read()`` reads a single packet per call unless QoS 1 messages of our own are in
flight (it reads ``max(len(out) + len(in), 1)``), and aiomqtt calls it once each time the event
loop finds the socket readable. Each of those wakeups also runs a slice of the heartbeat lanes'
work, so in a reconnect storm reading fell behind: 20,000 messages took 4 s to read, and an alarm
in the middle of them waited for everything read before it — its own lane only helps once it has
been read. ``EagerClient`` reads up to ``READ_BURST`` packets per wakeup, for as long as the socket
has more, and the messages read wait in the ingest's own queues, where alarms jump them — except
while an alarm is waiting or being stored (``hold``): then it reads one packet per wakeup, as
before, so that the alarm's transaction is not slowed by reading. Alarms stored first, then
reading, then heartbeats.
"""

from __future__ import annotations

import select
from collections.abc import Callable
from typing import Any

import aiomqtt

READ_BURST = 100  # packets per wakeup: a few ms of reading, then the lanes (and an alarm read) run


class EagerClient(aiomqtt.Client):
    """aiomqtt's client, whose socket reader reads the socket dry (up to ``READ_BURST`` packets)
    unless ``hold()`` says an alarm has the CPU."""

    def __init__(self, *args: Any, hold: Callable[[], bool] = lambda: False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._hold = hold

    def _on_socket_open(self, client: Any, userdata: Any, sock: Any) -> None:
        super()._on_socket_open(client, userdata, sock)
        fd = sock.fileno()

        def read() -> None:
            try:
                for _ in range(READ_BURST):
                    client.loop_read()
                    if self._hold():
                        return
                    current = client._sock  # None once the connection is gone
                    if current is None:
                        return
                    pending = getattr(current, "pending", None)  # TLS: bytes decoded but not yet read
                    if not (pending and pending() > 0) and not select.select([fd], [], [], 0)[0]:
                        return
            except Exception as exc:  # as aiomqtt's own reader: a broken socket ends the connection
                if not self._disconnected.done():
                    self._disconnected.set_exception(exc)

        # after aiomqtt's own add_reader (queued the same way, so this one replaces it)
        self._loop.call_soon_threadsafe(self._loop.add_reader, fd, read)

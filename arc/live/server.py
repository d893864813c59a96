"""uvicorn, made aware of the dashboards' event streams.

An open SSE stream never finishes by itself, so a plain uvicorn shutdown waits for
every connected dashboard (or for ``timeout_graceful_shutdown``, then cancels them
with an error). This server ends the streams as shutdown begins: each browser
reconnects — to another process, or to this one when it is back — and catches up
by event id, missing nothing.
"""

from __future__ import annotations

import uvicorn


class LiveAwareServer(uvicorn.Server):
    async def shutdown(self, sockets=None) -> None:
        hub = getattr(getattr(self.config.app, "state", None), "live_hub", None)
        if hub is not None:
            hub.close_streams(refuse_new=True)
        await super().shutdown(sockets=sockets)

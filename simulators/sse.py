"""A small Server-Sent Events reader over httpx (what a dashboard's EventSource does)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx


@dataclass(frozen=True)
class SseEvent:
    event: str  # "message" when the stream named none
    data: str
    id: str | None  # the id: line of this event, if it had one
    last_id: str | None  # the resume point after this event (what Last-Event-ID would send)

    def json(self):
        return json.loads(self.data)


async def sse_events(response: httpx.Response) -> AsyncIterator[SseEvent]:
    """Yield each event of an open ``text/event-stream`` response; comments are skipped."""
    last_id: str | None = None
    event_id: str | None = None
    name = ""
    data: list[str] = []
    async for line in response.aiter_lines():
        if line == "":
            if data:
                yield SseEvent(name or "message", "\n".join(data), event_id, last_id)
            event_id, name, data = None, "", []
            continue
        if line.startswith(":"):
            continue
        field, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if field == "data":
            data.append(value)
        elif field == "event":
            name = value
        elif field == "id":
            event_id = last_id = value

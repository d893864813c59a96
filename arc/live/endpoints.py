"""``GET /api/live/stream``: Server-Sent Events for dashboards, with catch-up by id.

A stream starts with ``event: hello`` (``{"last_id", "now"}``), replays every
committed event after ``Last-Event-ID`` (or ``?after=``) from the
``live_events`` table, then carries live events from this process's hub, in id
order, with no gaps and no duplicates. A comment line every 15 s keeps proxies
from closing an idle stream; the signed-in session is re-checked at the same
time, so a logged-out or expired session stops receiving.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.responses import StreamingResponse
from sqlalchemy import Text, cast, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import selectinload

from arc.alarms.events import LiveEvent
from arc.auth.deps import CurrentSession, require_roles
from arc.auth.models import AuthSession, User
from arc.kit.errors import AppError, ErrorCode, Unprocessable
from arc.live.stream import LiveEventOut, LiveHub, Subscription

router = APIRouter(prefix="/live", tags=["live"])

STREAM_ROLES = ("operator", "supervisor")
HEARTBEAT_SECONDS = 15.0
RETRY_MS = 2000
REPLAY_PAGE = 500


class Unavailable(AppError):
    status_code = 503
    code = ErrorCode.UNAVAILABLE


def _resume_point(last_event_id: str | None, after: int | None) -> int | None:
    """The browser's ``Last-Event-ID`` (sent on its own reconnects) wins over ``?after=``."""
    if last_event_id is not None and last_event_id.strip():
        value = last_event_id.strip()
        # isascii: "²" is a digit to str.isdigit() but not to int(); an id fits a bigint
        if not (value.isascii() and value.isdigit()) or int(value) >= 2**63:
            raise Unprocessable("Last-Event-ID must be an event id (digits)")
        return int(value)
    return after


@router.get(
    "/stream",
    summary="Live events for dashboards (Server-Sent Events)",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}}},
)
async def stream(
    request: Request,
    user: Annotated[User, Depends(require_roles(*STREAM_ROLES))],
    auth: CurrentSession,
    after: Annotated[int | None, Query(ge=0, description="replay events after this id")] = None,
    last_event_id: Annotated[str | None, Header(alias="Last-Event-ID")] = None,
) -> StreamingResponse:
    resume = _resume_point(last_event_id, after)
    hub: LiveHub | None = getattr(request.app.state, "live_hub", None)
    if hub is None:
        raise Unavailable("the live stream is not running in this process")
    if not await hub.wait_ready(5.0):
        raise Unavailable("the live stream cannot reach the database yet; retry shortly")
    sub = hub.subscribe()
    state = request.app.state
    body = _events(sub, resume, state.sessionmaker, lambda: _still_allowed(state, auth.id), state.clock.now)
    return StreamingResponse(
        body,
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache, no-store", "X-Accel-Buffering": "no"},
    )


async def _events(
    sub: Subscription, resume: int | None, maker: async_sessionmaker[AsyncSession], allowed, now
) -> AsyncIterator[bytes]:
    try:
        hello = json.dumps({"last_id": sub.start, "now": now().isoformat()})
        # a fresh stream's resume point is "now"; a resuming one keeps the browser's own
        head = f"id: {sub.start}\n" if resume is None else ""
        yield f"retry: {RETRY_MS}\n{head}event: hello\ndata: {hello}\n\n".encode()
        replayed: set[int] = set()
        watched = sub.hub.late_ids()
        if resume is not None and resume < sub.start:
            async for event in replay(maker, resume, sub.start):
                if event.id in watched:
                    replayed.add(event.id)
                yield event.frame()
        while True:
            try:
                async with asyncio.timeout(HEARTBEAT_SECONDS):
                    event = await sub.get()
            except TimeoutError:
                if not await allowed():
                    yield b"event: signed_out\ndata: {}\n\n"
                    return
                yield b": keep-alive\n\n"
                continue
            if event is None:  # dropped as too slow, or shutting down: the browser resumes by id
                return
            if event.late and event.id in replayed:
                continue
            yield event.frame()
    finally:
        sub.close()


async def replay(
    maker: async_sessionmaker[AsyncSession], after: int, upto: int
) -> AsyncIterator[LiveEventOut]:
    """Committed events with ``after < id <= upto`` from the table, in id order, page by page."""
    last = after
    while last < upto:
        async with maker() as session:
            rows = (
                await session.execute(
                    select(LiveEvent.id, LiveEvent.kind, LiveEvent.alarm_id, cast(LiveEvent.payload, Text))
                    .where(LiveEvent.id > last, LiveEvent.id <= upto)
                    .order_by(LiveEvent.id)
                    .limit(REPLAY_PAGE)
                )
            ).all()
        if not rows:
            return
        for event_id, kind, alarm_id, data in rows:
            yield LiveEventOut(event_id, kind, alarm_id, data)
        last = rows[-1][0]


async def _still_allowed(state, auth_session_id: int) -> bool:
    """Is the stream's session still live and its user still allowed to watch?"""
    async with state.sessionmaker() as session:
        row = await session.scalar(
            select(AuthSession)
            .options(selectinload(AuthSession.user))
            .where(AuthSession.id == auth_session_id)
        )
    return (
        row is not None
        and row.revoked_at is None
        and row.expires_at > state.clock.now()
        and row.user.is_active
        and _may_watch(row.user)
    )


def _may_watch(user: User) -> bool:
    has_role = getattr(user, "has_role", None)  # users may hold extra roles besides their main one
    return has_role(*STREAM_ROLES) if has_role is not None else user.role in STREAM_ROLES

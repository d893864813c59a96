"""GET /api/live/stream over a real HTTP server: hello, catch-up by id, live events, roles."""

from __future__ import annotations

import asyncio
from contextlib import asynccontextmanager

import httpx
import pytest

from arc.alarms.events import emit
from arc.auth.service import issue_session
from arc.kit.db import make_sessionmaker
from arc.live.stream import live_stream
from simulators.sse import SseEvent, sse_events
from tests.factories import create_user

pytestmark = pytest.mark.asyncio


@pytest.fixture
def components() -> list:
    return [live_stream]


async def _token(engine, clock, role: str) -> str:
    async with make_sessionmaker(engine)() as s:
        user = await create_user(s, role=role)
        token, _ = await issue_session(s, user, "api", clock.now())
        await s.commit()
    return token


async def _emit(engine, n: int, start: int = 0) -> list[int]:
    ids = []
    async with make_sessionmaker(engine)() as s:
        for i in range(start, start + n):
            ids.append(await emit(s, "alarm.updated", {"n": i}, alarm_id=i))
        await s.commit()
    return ids


@asynccontextmanager
async def _open(live_server, token: str, *, headers=None, params=None):
    async with httpx.AsyncClient(base_url=live_server.url, timeout=10) as http:
        async with http.stream(
            "GET",
            "/api/live/stream",
            headers={"Authorization": f"Bearer {token}", **(headers or {})},
            params=params,
        ) as response:
            assert response.status_code == 200, await response.aread()
            assert response.headers["content-type"].startswith("text/event-stream")
            yield response, sse_events(response)


async def _take(events, n: int, within: float = 10.0) -> list[SseEvent]:
    out = []
    async with asyncio.timeout(within):
        while len(out) < n:
            out.append(await anext(events))
    return out


async def test_stream_opens_with_hello_naming_the_latest_event(live_server, engine, clock):
    ids = await _emit(engine, 3)
    token = await _token(engine, clock, "operator")
    async with _open(live_server, token) as (_, events):
        [hello] = await _take(events, 1)
        assert hello.event == "hello" and hello.json() == {"last_id": ids[-1], "now": clock.now().isoformat()}
        assert hello.id == str(ids[-1]), "a fresh stream resumes from now if it drops"
        [new] = await _emit(engine, 1, start=3)
        [live] = await _take(events, 1)
        assert (live.event, live.id, live.json()) == ("alarm.updated", str(new), {"n": 3})


async def test_reconnect_with_last_event_id_replays_everything_missed_then_goes_live(
    live_server, engine, clock
):
    ids = await _emit(engine, 6)
    token = await _token(engine, clock, "supervisor")
    async with _open(live_server, token, headers={"Last-Event-ID": str(ids[1])}) as (_, events):
        hello, *replayed = await _take(events, 5)
        assert hello.event == "hello" and hello.id is None
        assert [e.id for e in replayed] == [str(i) for i in ids[2:]]
        more = await _emit(engine, 2, start=6)
        assert [e.id for e in await _take(events, 2)] == [str(i) for i in more]


async def test_catch_up_has_no_gap_or_duplicate_while_events_keep_arriving(live_server, engine, clock):
    first = await _emit(engine, 5)
    token = await _token(engine, clock, "operator")
    stop = asyncio.Event()
    emitted: list[int] = list(first)

    async def keep_emitting() -> None:
        n = 100
        while not stop.is_set():
            emitted.extend(await _emit(engine, 1, start=n))
            n += 1
            await asyncio.sleep(0.005)

    writer = asyncio.create_task(keep_emitting())
    try:
        await asyncio.sleep(0.1)
        async with _open(live_server, token, params={"after": first[1]}) as (_, events):
            seen: list[int] = []
            async with asyncio.timeout(15):
                async for event in events:
                    if event.event == "hello":
                        continue
                    seen.append(int(event.id))
                    if len(seen) >= 40:
                        break
    finally:
        stop.set()
        await writer
    assert seen == list(range(first[1] + 1, first[1] + 41)), "ids must be contiguous with no repeats"
    assert set(seen) <= set(emitted)


async def test_last_event_id_header_wins_over_the_after_parameter(live_server, engine, clock):
    ids = await _emit(engine, 4)
    token = await _token(engine, clock, "operator")
    headers = {"Last-Event-ID": str(ids[2])}
    async with _open(live_server, token, headers=headers, params={"after": 0}) as (_, events):
        _, replayed = await _take(events, 2)
        assert replayed.id == str(ids[3])


async def test_stream_refuses_callers_without_an_operator_role(live_server, engine, clock):
    finance = await _token(engine, clock, "finance")
    ers = await _token(engine, clock, "ers")
    async with httpx.AsyncClient(base_url=live_server.url, timeout=10) as http:
        assert (await http.get("/api/live/stream")).status_code == 401
        for token in (finance, ers):
            answer = await http.get("/api/live/stream", headers={"Authorization": f"Bearer {token}"})
            assert answer.status_code == 403 and answer.json()["error"] == "forbidden"


async def test_a_garbled_last_event_id_is_refused_with_a_reason(live_server, engine, clock):
    token = await _token(engine, clock, "operator")
    async with httpx.AsyncClient(base_url=live_server.url, timeout=10) as http:
        answer = await http.get(
            "/api/live/stream", headers={"Authorization": f"Bearer {token}", "Last-Event-ID": "12; DROP"}
        )
    assert answer.status_code == 422 and "Last-Event-ID" in answer.json()["detail"]


async def test_idle_stream_keeps_alive_and_stops_once_the_session_is_revoked(
    live_server, engine, clock, monkeypatch
):
    from sqlalchemy import update

    from arc.auth.models import AuthSession
    from arc.live import endpoints

    monkeypatch.setattr(endpoints, "HEARTBEAT_SECONDS", 0.2)
    token = await _token(engine, clock, "operator")
    async with httpx.AsyncClient(base_url=live_server.url, timeout=10) as http:
        headers = {"Authorization": f"Bearer {token}"}
        async with http.stream("GET", "/api/live/stream", headers=headers) as response:
            lines = response.aiter_lines()
            async with asyncio.timeout(10):
                while await anext(lines) != ": keep-alive":
                    pass
                async with make_sessionmaker(engine)() as s:
                    await s.execute(update(AuthSession).values(revoked_at=clock.now()))
                    await s.commit()
                while await anext(lines) != "event: signed_out":
                    pass
                rest = [line async for line in lines]  # the server ends the stream
    assert rest[:1] == ["data: {}"]


async def test_shutting_the_server_down_ends_open_streams_promptly(live_server, engine, clock):
    token = await _token(engine, clock, "operator")
    hub = live_server.app.state.live_hub
    async with _open(live_server, token) as (_, events):
        [hello] = await _take(events, 1)
        assert hello.event == "hello"
        assert hub.subscribers == 1  # this stream
        live_server.server.should_exit = True  # as SIGTERM does
        async with asyncio.timeout(3):  # well before uvicorn's own graceful-shutdown timeout (10 s)
            rest = [event async for event in events]  # the stream ends instead of holding shutdown up
    assert rest == []
    # and the whole process goes: uvicorn's shutdown and the app's lifespan (the hub stopped) run
    # to their end in seconds, not at the graceful-shutdown backstop
    done, _ = await asyncio.wait({live_server.serving}, timeout=3)
    assert done, "the server was still shutting down 3 s later"
    assert live_server.app.state.live_hub is None and hub.subscribers == 0

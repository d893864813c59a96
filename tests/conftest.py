"""Shared fixtures: a real PostgreSQL and a real MQTT broker.

Where they come from, in order: ``LIFELINE_TEST_DATABASE_URL`` /
``LIFELINE_TEST_MQTT_URL``; else 127.0.0.1:5432 / 127.0.0.1:1883 when
reachable; else the embedded pgserver / amqtt. Each test run gets its own
database built by ``alembic upgrade heads``; every table is emptied after each
test, and each test gets its own MQTT topic root, so tests never see each
other's data or messages (and two runs on one machine do not collide).
"""

from __future__ import annotations

import os
import socket
import tempfile
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from arc.app import create_app
from arc.auth.service import issue_session
from arc.embedded import EmbeddedBroker, start_postgres
from arc.kit.clock import FrozenClock
from arc.kit.db import make_engine, make_sessionmaker
from arc.kit.model import Base
from arc.kit.settings import Settings
from simulators.benchkit import drop_database, scratch_database
from tests.factories import create_user


def _reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def _plain(url: str) -> str:
    """asyncpg wants postgresql://, SQLAlchemy postgresql+asyncpg://."""
    return url.replace("postgresql+asyncpg://", "postgresql://", 1)


@pytest.fixture(scope="session")
def _pg_server_url() -> str:
    env = os.environ.get("LIFELINE_TEST_DATABASE_URL")
    if env:
        return _plain(env)
    if _reachable("127.0.0.1", 5432):
        return "postgresql://postgres@127.0.0.1:5432/test"
    _server, url = start_postgres(Path(tempfile.mkdtemp(prefix="lifeline-test-pg-")), database="test")
    _pg_server_url.server = _server  # keep the handle alive for the session
    return _plain(url)


@pytest.fixture(scope="session")
async def database_url(_pg_server_url: str) -> AsyncIterator[str]:
    """A fresh database for this test run, migrated to head; dropped at the end."""
    url = await scratch_database(_pg_server_url, "lifeline_test")
    yield url.replace("postgresql://", "postgresql+asyncpg://", 1)
    await drop_database(_pg_server_url, url)


@pytest.fixture(scope="session")
async def mqtt_url() -> AsyncIterator[str]:
    env = os.environ.get("LIFELINE_TEST_MQTT_URL")
    if env:
        yield env
        return
    if _reachable("127.0.0.1", 1883):
        yield "mqtt://127.0.0.1:1883"
        return
    broker = EmbeddedBroker(port=None, open_for_tests=True)  # tests use many logins and topic roots
    yield await broker.start()
    await broker.stop()


@pytest.fixture(scope="session")
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    eng = make_engine(database_url, pool_size=5)
    yield eng
    await eng.dispose()


@pytest.fixture
async def db(engine: AsyncEngine) -> AsyncIterator[AsyncEngine]:
    """The test database, emptied after the test."""
    yield engine
    names = [t.name for t in Base.metadata.sorted_tables]
    names += ["procrastinate_jobs", "procrastinate_events", "procrastinate_periodic_defers"]  # the job queue
    tables = ", ".join(f'"{name}"' for name in names)
    async with engine.begin() as conn:
        await conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))


@pytest.fixture
async def session(db: AsyncEngine) -> AsyncIterator[AsyncSession]:
    """A session for arranging and checking data; commit explicitly to share it."""
    async with make_sessionmaker(db)() as s:
        yield s


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock()


@pytest.fixture
def settings(database_url: str, mqtt_url: str) -> Settings:
    tag = uuid.uuid4().hex[:10]
    return Settings(
        env="test",
        database_url=database_url,
        mqtt_url=mqtt_url,
        mqtt_topic_root=f"lt{tag}",
        mqtt_client_id=f"lifeline-test-{tag}",
        data_dir=Path(tempfile.mkdtemp(prefix="lifeline-test-")),
    )


@pytest.fixture
def components() -> list:
    """What runs beside the API in tests; override in a module to start the ingest etc."""
    return []


@pytest.fixture
async def app(db, settings: Settings, clock: FrozenClock, components: list):
    application = create_app(settings, clock=clock, components=components)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def anon_client(app) -> AsyncIterator[httpx.AsyncClient]:
    """No credentials at all."""
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c


@pytest.fixture
async def client_as(app, engine, clock):
    """``await client_as("operator")`` -> an httpx client with that role's bearer token."""
    opened: list[httpx.AsyncClient] = []

    async def _make(role: str, **user_fields) -> httpx.AsyncClient:
        async with make_sessionmaker(engine)() as s:
            user = await create_user(s, role=role, **user_fields)
            token, _ = await issue_session(s, user, "api", clock.now())
            await s.commit()
        c = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app),
            base_url="http://testserver",
            headers={"Authorization": f"Bearer {token}"},
        )
        c.user = user
        opened.append(c)
        return c

    yield _make
    for c in opened:
        await c.aclose()


@pytest.fixture
async def client(client_as) -> httpx.AsyncClient:
    """Signed in as a supervisor: may use the registry and the alarm queue."""
    return await client_as("supervisor")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
async def live_server(db, settings: Settings, clock: FrozenClock, components: list):
    """The app served for real by uvicorn on a free port (for SSE and the browser tests).

    Yields an object with ``url``, ``app`` and ``settings``; the app's components run in
    its lifespan, as in ``lifeline serve``.
    """
    import asyncio
    import contextlib
    from types import SimpleNamespace

    from arc.cli import server_config
    from arc.live.server import LiveAwareServer

    port = _free_port()
    served = settings.model_copy(update={"port": port})
    application = create_app(served, clock=clock, components=components)
    config = server_config(application, served, host="127.0.0.1", lifespan="on")  # as `lifeline serve`
    server = LiveAwareServer(config)  # ends open event streams at shutdown, as `lifeline serve` does
    server.capture_signals = contextlib.nullcontext  # pytest owns the signals
    task = asyncio.create_task(server.serve())
    async with asyncio.timeout(30):
        while not server.started:
            if task.done():
                task.result()  # raises what stopped it
                raise RuntimeError("uvicorn exited during start-up")
            await asyncio.sleep(0.02)
    yield SimpleNamespace(
        url=f"http://127.0.0.1:{port}", app=application, settings=served, server=server, serving=task
    )
    server.should_exit = True
    async with asyncio.timeout(30):
        await task

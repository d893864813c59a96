"""The FastAPI application factory and its lifespan."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager

from fastapi import FastAPI

from arc.auth.endpoints import router as auth_router
from arc.clock import Clock
from arc.db import make_engine, make_sessionmaker
from arc.errors import install_error_handlers
from arc.live.endpoints import router as live_router
from arc.observability import MetricsMiddleware
from arc.observability import router as health_router
from arc.registry.endpoints import router as registry_router
from arc.settings import Settings
from arc.web.pages import install_pages

log = logging.getLogger(__name__)

# Something that runs alongside the app (ingest, scheduler...): entered at start-up, exited at shutdown.
Component = Callable[[FastAPI], AbstractAsyncContextManager[None]]


def create_app(
    settings: Settings, *, clock: Clock | None = None, components: list[Component] | None = None
) -> FastAPI:
    """Build the app. ``settings.database_url`` and ``mqtt_url`` must be resolved
    (the CLI starts embedded services first when they are unset)."""
    if not settings.database_url or not settings.mqtt_url:
        raise ValueError("create_app needs resolved database_url and mqtt_url")

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = make_engine(settings.database_url)
        app.state.engine = engine
        app.state.sessionmaker = make_sessionmaker(engine)
        async with AsyncExitStack() as stack:
            for component in app.state.components:
                await stack.enter_async_context(component(app))
            log.info("Lifeline ARC ready on http://%s:%s", settings.host, settings.port)
            yield
        await engine.dispose()

    app = FastAPI(
        title="Lifeline ARC",
        version="0.1.0",
        summary="Alarm receiving centre and billing back office for council telecare",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.clock = clock or Clock()
    app.state.components = list(components or [])
    app.state.mqtt = None  # the ingest's publisher when it runs (arc/ingest/worker.py)
    install_error_handlers(app)
    app.add_middleware(MetricsMiddleware)
    app.include_router(health_router)
    app.include_router(auth_router)
    app.include_router(registry_router, prefix="/api")
    app.include_router(live_router, prefix="/api")
    install_pages(app)
    return app

"""The FastAPI application factory and its lifespan."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager

from fastapi import FastAPI

from arc.alarms.endpoints import router as alarms_router
from arc.auth.admin import router as users_router
from arc.auth.audit_search import router as audit_router
from arc.auth.endpoints import router as auth_router
from arc.auth.grants import router as grants_router
from arc.auth.oidc import router as oidc_router
from arc.card import router as card_router
from arc.dispatch.endpoints import router as dispatch_router
from arc.flows import wire_flows
from arc.history.db import read_side
from arc.history.endpoints import router as history_router
from arc.ingest.status import router as intake_status_router
from arc.jobs import job_queue
from arc.jobs import router as jobs_router
from arc.kit.clock import Clock
from arc.kit.cors import install_cors
from arc.kit.crypto import DataCipher
from arc.kit.db import make_engine, make_sessionmaker
from arc.kit.errors import install_error_handlers
from arc.kit.headers import SecurityHeadersMiddleware
from arc.kit.limits import install_size_limit
from arc.kit.memory import settle_heap
from arc.kit.openapi import document_errors
from arc.kit.redaction import install_redaction
from arc.kit.settings import Settings
from arc.live.endpoints import router as live_router
from arc.observability import MetricsMiddleware
from arc.observability import router as health_router
from arc.registry.endpoints import router as registry_router
from arc.web.pages import install_pages
from billing.api import router as billing_router

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
        engine = make_engine(settings.database_url, hide_parameters=True)  # no row values in error logs
        app.state.engine = engine
        app.state.sessionmaker = make_sessionmaker(engine)
        async with AsyncExitStack() as stack:
            await stack.enter_async_context(job_queue(app))
            await stack.enter_async_context(read_side(app))  # the read side's read-only pool
            for component in app.state.components:
                await stack.enter_async_context(component(app))
            settle_heap()  # the start-up heap out of full collections (arc/kit/memory.py)
            log.info("Lifeline ARC ready on http://%s:%s", settings.host, settings.port)
            yield
        await engine.dispose()

    app = FastAPI(
        title="Lifeline ARC",
        version="0.1.0",
        summary="Alarm receiving centre and billing back office for council telecare",
        lifespan=lifespan,
        docs_url=None,  # served from the package's own files by arc.web.pages (no CDN)
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.clock = clock or Clock()
    app.state.components = list(components or [])
    app.state.mqtt = None  # the ingest's publisher when it runs (arc/ingest/worker.py)
    app.state.data_cipher = DataCipher.from_settings(settings)
    install_redaction()
    wire_flows()
    install_error_handlers(app)
    app.add_middleware(MetricsMiddleware)
    # outermost last: headers on every answer (413s included), then CORS, then the size limit
    install_size_limit(app, settings.max_request_bytes)
    install_cors(app, settings)
    app.add_middleware(SecurityHeadersMiddleware, hsts=settings.env == "production")
    app.include_router(health_router)
    app.include_router(auth_router)
    app.include_router(oidc_router)
    app.include_router(registry_router, prefix="/api")
    app.include_router(audit_router, prefix="/api")
    app.include_router(users_router, prefix="/api")
    app.include_router(grants_router, prefix="/api")
    app.include_router(live_router, prefix="/api")
    app.include_router(intake_status_router, prefix="/api")
    app.include_router(alarms_router, prefix="/api")
    app.include_router(card_router, prefix="/api")  # after /alarms/queue
    app.include_router(dispatch_router, prefix="/api")
    app.include_router(history_router, prefix="/api")
    app.include_router(billing_router, prefix="/api")
    app.include_router(jobs_router, prefix="/api")
    install_pages(app)
    document_errors(app)  # after every route: the error shape on each
    return app

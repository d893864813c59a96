"""Health endpoints and Prometheus metrics (and, re-exported, the logging set-up of arc.kit.logs)."""

from __future__ import annotations

import asyncio
import time
import uuid

import aiomqtt
from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Histogram, generate_latest
from pydantic import BaseModel, Field
from sqlalchemy import text

from arc.auth.deps import public
from arc.kit.logs import QUIET_LOGGERS as QUIET_LOGGERS  # re-exported: the set-up lives in arc.kit.logs
from arc.kit.logs import configure_logging as configure_logging
from arc.migrate import current_revisions, head_revisions
from devices.broker import broker_address

HTTP_REQUESTS = Counter("lifeline_http_requests_total", "HTTP requests", ["method", "route", "status"])
HTTP_LATENCY = Histogram("lifeline_http_request_seconds", "HTTP request latency", ["method", "route"])


class HealthOut(BaseModel):
    status: str


class ReadyOut(BaseModel):
    status: str = Field(description="ready, or not ready (503)")
    checks: dict[str, str] = Field(description="database, migrations, broker: ok or what is wrong")


router = APIRouter(tags=["health"], dependencies=[Depends(public("health probes and metrics scrapes"))])


@router.get("/healthz", summary="Process is up", response_model=HealthOut)
async def healthz() -> dict:
    return {"status": "ok"}


async def broker_reachable(mqtt_url: str) -> bool:
    """A real MQTT CONNECT/DISCONNECT with a throw-away client id."""
    try:
        async with asyncio.timeout(3):
            async with aiomqtt.Client(
                **broker_address(mqtt_url), identifier=f"lifeline-readyz-{uuid.uuid4().hex[:12]}"
            ):
                return True
    except (aiomqtt.MqttError, OSError, TimeoutError):
        return False


@router.get(
    "/readyz",
    summary="Database and broker reachable, schema at head",
    response_model=ReadyOut,
    responses={503: {"model": ReadyOut, "description": "not ready: the checks say what is wrong"}},
)
async def readyz(request: Request) -> JSONResponse:
    state = request.app.state
    checks: dict[str, str] = {}
    try:
        async with state.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
        checks["database"] = "ok"
        current = await current_revisions(state.engine)
        checks["migrations"] = "ok" if current == head_revisions() else f"behind (at {sorted(current)})"
    except Exception as exc:  # report, don't crash the probe
        checks["database"] = f"unreachable: {type(exc).__name__}"
        checks["migrations"] = "unknown"
    # the ingest worker, when running, knows best whether the broker is there
    probe = getattr(state, "broker_connected", None)
    connected = probe() if probe is not None else await broker_reachable(state.settings.mqtt_url)
    checks["broker"] = "ok" if connected else "unreachable"
    ready = all(v == "ok" for v in checks.values())
    return JSONResponse(
        {"status": "ready" if ready else "not ready", "checks": checks}, status_code=200 if ready else 503
    )


@router.get("/metrics", summary="Prometheus metrics", include_in_schema=False)
async def metrics() -> Response:
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)


class MetricsMiddleware:
    """Pure ASGI (streams such as the dashboard's SSE pass through untouched)."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = {"code": 500}

        async def _send(message) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, _send)
        finally:
            template = getattr(scope.get("route"), "path", "unmatched")
            HTTP_REQUESTS.labels(scope["method"], template, str(status["code"])).inc()
            HTTP_LATENCY.labels(scope["method"], template).observe(time.perf_counter() - start)

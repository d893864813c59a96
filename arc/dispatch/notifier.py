"""Telling responders about a task: a small notifier interface and two implementations.

SMS and voice gateways are external; ``WebhookNotifier`` POSTs each request as
JSON to one gateway URL, signed with HMAC-SHA256, and ``LogNotifier`` just
writes a log line (ids only, never names or numbers).

Every attempt is a ``DeliveryAttempt`` row: written as ``pending`` inside the
dispatching transaction, sent only after that transaction commits (in the
background, so a slow gateway never holds up an operator), then stamped
``sent`` or ``failed``. A failure is recorded on the alarm's log and pushed to
dashboards as ``task.updated``; it is never fatal to the dispatch.

Webhook request: ``POST <url>`` with ``Content-Type: application/json``,
``X-Lifeline-Timestamp: <unix seconds>`` and
``X-Lifeline-Signature: sha256=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>``.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import time
from dataclasses import asdict, dataclass, field
from typing import Protocol

import httpx
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from arc.alarms.write import record as record_event
from arc.dispatch.models import DeliveryAttempt, ResponseTask
from arc.dispatch.views import emit_task
from arc.kit.clock import Clock
from arc.kit.db import after_commit, make_sessionmaker, session_scope

log = logging.getLogger(__name__)


@dataclass
class Delivery:
    """What a gateway needs to reach someone about a task."""

    task_id: int
    alarm_id: int
    kind: str  # responder | ers
    to_name: str | None
    to_phone: str | None
    message: str
    extra: dict = field(default_factory=dict)


@dataclass
class DeliveryResult:
    ok: bool
    status_code: int | None = None
    detail: str | None = None


class Notifier(Protocol):
    channel: str

    async def send(self, delivery: Delivery) -> DeliveryResult: ...


class LogNotifier:
    """For development and for sites whose operators phone responders themselves."""

    channel = "log"

    async def send(self, delivery: Delivery) -> DeliveryResult:
        log.info(
            "responder request: task %s alarm %s kind %s", delivery.task_id, delivery.alarm_id, delivery.kind
        )
        return DeliveryResult(ok=True, detail="logged")


def sign(secret: bytes, timestamp: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret, timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


class WebhookNotifier:
    channel = "webhook"

    def __init__(
        self,
        url: str,
        secret: str,
        *,
        timeout: float = 5.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.url = url
        self._secret = secret.encode()
        self.timeout = timeout
        self._transport = transport  # tests inject one; production uses the network

    async def send(self, delivery: Delivery) -> DeliveryResult:
        body = json.dumps({"type": "task.requested", **asdict(delivery)}, separators=(",", ":")).encode()
        stamp = str(int(time.time()))
        headers = {
            "Content-Type": "application/json",
            "X-Lifeline-Timestamp": stamp,
            "X-Lifeline-Signature": sign(self._secret, stamp, body),
        }
        try:
            async with httpx.AsyncClient(timeout=self.timeout, transport=self._transport) as client:
                response = await client.post(self.url, content=body, headers=headers)
        except httpx.TimeoutException:
            return DeliveryResult(ok=False, detail=f"timed out after {self.timeout:g} s")
        except httpx.HTTPError as exc:
            return DeliveryResult(ok=False, detail=f"{type(exc).__name__}: {exc}"[:500])
        if response.is_success:
            return DeliveryResult(ok=True, status_code=response.status_code)
        return DeliveryResult(
            ok=False, status_code=response.status_code, detail=f"HTTP {response.status_code}"
        )


def notifier_from_settings(settings) -> Notifier:
    if settings.notify_webhook_url:
        return WebhookNotifier(
            settings.notify_webhook_url,
            settings.notify_webhook_secret.get_secret_value(),
            timeout=settings.notify_timeout_seconds,
        )
    return LogNotifier()


def app_notifier(app) -> Notifier:
    """The app's notifier (``app.state.notifier`` if set, e.g. by a test; else from settings)."""
    notifier = getattr(app.state, "notifier", None)
    if notifier is None:
        notifier = app.state.notifier = notifier_from_settings(app.state.settings)
    return notifier


# Deliveries in flight, kept referenced until done; ``wait_for_deliveries`` drains them.
_IN_FLIGHT: set[asyncio.Task] = set()


async def wait_for_deliveries(limit_s: float = 10.0) -> None:
    """Wait until every background delivery has finished (tests, graceful shutdown)."""
    deadline = asyncio.get_running_loop().time() + limit_s
    while _IN_FLIGHT:
        remaining = deadline - asyncio.get_running_loop().time()
        if remaining <= 0:
            return
        await asyncio.wait(set(_IN_FLIGHT), timeout=remaining)


async def queue_delivery(
    session: AsyncSession, notifier: Notifier, delivery: Delivery, *, clock: Clock | None = None
) -> DeliveryAttempt:
    """Record a pending attempt now; send it once the caller's transaction has committed."""
    clock = clock or Clock()
    attempt = DeliveryAttempt(
        task_id=delivery.task_id, channel=notifier.channel, at=clock.now(), outcome="pending"
    )
    session.add(attempt)
    await session.flush()
    maker = make_sessionmaker(session.bind)
    attempt_id = attempt.id

    async def _start() -> None:
        task = asyncio.create_task(_deliver(maker, notifier, delivery, attempt_id, clock))
        _IN_FLIGHT.add(task)
        task.add_done_callback(_IN_FLIGHT.discard)

    after_commit(session, _start)
    return attempt


async def _deliver(maker, notifier: Notifier, delivery: Delivery, attempt_id: int, clock: Clock) -> None:
    try:
        result = await notifier.send(delivery)
    except Exception as exc:  # a broken notifier is a failed delivery, not a crash
        log.exception("notifier %s raised for task %s", notifier.channel, delivery.task_id)
        result = DeliveryResult(ok=False, detail=f"{type(exc).__name__}"[:500])
    try:
        async with session_scope(maker) as session:
            await _record(session, delivery, attempt_id, result, clock)
    except Exception:
        log.exception("could not record delivery attempt %s", attempt_id)


async def _record(
    session: AsyncSession, delivery: Delivery, attempt_id: int, result: DeliveryResult, clock: Clock
) -> None:
    now = clock.now()
    await session.execute(
        update(DeliveryAttempt)
        .where(DeliveryAttempt.id == attempt_id)
        .values(
            outcome="sent" if result.ok else "failed",
            finished_at=now,
            status_code=result.status_code,
            detail=result.detail,
        )
    )
    task = await session.get(ResponseTask, delivery.task_id)
    if task is None:
        return
    if not result.ok:
        log.warning("delivery %s for task %s failed: %s", attempt_id, task.id, result.detail)
        await record_event(
            session,
            task.alarm_id,
            "delivery_failed",
            now,
            data={
                "task_id": task.id,
                "attempt_id": attempt_id,
                "status_code": result.status_code,
                "detail": result.detail,
            },
        )
    await emit_task(session, task)

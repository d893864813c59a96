"""Telling responders about a task: a small notifier interface and two implementations.

SMS and voice gateways are external; ``WebhookNotifier`` POSTs each request as
JSON to one gateway URL, signed with HMAC-SHA256, and ``LogNotifier`` just
writes a log line (ids only, never names or numbers).

Sending is a durable job (``arc/dispatch/tasks.py``): written in the dispatching
transaction, run by a worker after COMMIT with retries and backoff; every try is a
``DeliveryAttempt`` row. A failure is recorded on the alarm's log and pushed to
dashboards as ``task.updated``; it is never fatal to the dispatch.

Webhook request: ``POST <url>`` with ``Content-Type: application/json``,
``X-Lifeline-Timestamp: <unix seconds>`` and
``X-Lifeline-Signature: sha256=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
from dataclasses import asdict, dataclass, field
from typing import Protocol

import httpx

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
        return await post_signed(
            self.url,
            self._secret,
            {"type": "task.requested", **asdict(delivery)},
            wait_seconds=self.timeout,
            transport=self._transport,
        )


async def post_signed(
    url: str,
    secret: bytes,
    payload: dict,
    *,
    wait_seconds: float,
    transport: httpx.AsyncBaseTransport | None = None,
) -> DeliveryResult:
    """POST ``payload`` as JSON signed as the module docstring says; never raises for the network."""
    body = json.dumps(payload, separators=(",", ":")).encode()
    stamp = str(int(time.time()))
    headers = {
        "Content-Type": "application/json",
        "X-Lifeline-Timestamp": stamp,
        "X-Lifeline-Signature": sign(secret, stamp, body),
    }
    try:
        async with httpx.AsyncClient(timeout=wait_seconds, transport=transport) as client:
            response = await client.post(url, content=body, headers=headers)
    except httpx.TimeoutException:
        return DeliveryResult(ok=False, detail=f"timed out after {wait_seconds:g} s")
    except httpx.HTTPError as exc:
        return DeliveryResult(ok=False, detail=f"{type(exc).__name__}: {exc}"[:500])
    if response.is_success:
        return DeliveryResult(ok=True, status_code=response.status_code)
    return DeliveryResult(ok=False, status_code=response.status_code, detail=f"HTTP {response.status_code}")


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

"""Responders are told through a notifier; every attempt is recorded, and a failure never stops dispatch."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import socket

import httpx
import pytest
from sqlalchemy import select

from arc.alarms.models import AlarmEvent
from arc.dispatch.models import DeliveryAttempt
from arc.dispatch.notifier import (
    Delivery,
    LogNotifier,
    WebhookNotifier,
    notifier_from_settings,
)
from arc.jobs import run_jobs_now
from arc.kit.settings import Settings
from tests.arc.alarms.helpers import scene

SECRET = "gateway-shared-secret-for-tests"


async def _dispatch_rita(app, client_as, session, clock) -> tuple[int, dict]:
    s = await scene(session, clock)
    operator = await client_as("operator")
    await operator.post(f"/api/alarms/{s.alarm.id}/accept")
    response = await operator.post(
        f"/api/alarms/{s.alarm.id}/dispatch", json={"kind": "responder", "responder_id": s.responders[0].id}
    )
    assert response.status_code == 201, response.text  # whatever the gateway does
    await run_jobs_now(app)
    return s.alarm.id, response.json()


async def _attempts(session, task_id: int) -> list[DeliveryAttempt]:
    rows = await session.scalars(
        select(DeliveryAttempt)
        .where(DeliveryAttempt.task_id == task_id)
        .execution_options(populate_existing=True)
    )
    return list(rows)


async def test_webhook_posts_a_signed_request_and_the_attempt_is_recorded(app, client_as, session, clock):
    received: list[httpx.Request] = []

    def gateway(request: httpx.Request) -> httpx.Response:
        received.append(request)
        return httpx.Response(202)

    app.state.notifier = WebhookNotifier(
        "https://sms-gateway.example/send", SECRET, transport=httpx.MockTransport(gateway)
    )
    alarm_id, task = await _dispatch_rita(app, client_as, session, clock)

    [request] = received
    stamp = request.headers["X-Lifeline-Timestamp"]
    expected = hmac.new(SECRET.encode(), stamp.encode() + b"." + request.content, hashlib.sha256).hexdigest()
    assert request.headers["X-Lifeline-Signature"] == f"sha256={expected}"
    body = json.loads(request.content)
    assert (body["type"], body["task_id"], body["alarm_id"]) == ("task.requested", task["id"], alarm_id)
    assert (body["to_name"], body["to_phone"]) == ("Rita Daughter", "07700 900123")
    assert "4 Hope Street, CB2 1TN" in body["message"]

    [attempt] = await _attempts(session, task["id"])
    assert (attempt.channel, attempt.outcome, attempt.status_code) == ("webhook", "sent", 202)


@pytest.mark.parametrize(
    ("gateway", "status_code", "detail"),
    [
        (lambda request: httpx.Response(500), 500, "HTTP 500"),
        ("refused", None, "ConnectError"),
    ],
)
async def test_a_failed_delivery_is_recorded_and_shown_never_fatal(
    app, client_as, session, clock, gateway, status_code, detail
):
    if gateway == "refused":  # a real connection to a port nobody listens on
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        app.state.notifier = WebhookNotifier(f"http://127.0.0.1:{port}/send", SECRET, timeout=2)
    else:
        app.state.notifier = WebhookNotifier(
            "https://sms-gateway.example/send", SECRET, transport=httpx.MockTransport(gateway)
        )

    alarm_id, task = await _dispatch_rita(app, client_as, session, clock)

    [attempt] = await _attempts(session, task["id"])
    assert attempt.outcome == "failed" and attempt.status_code == status_code
    assert detail in attempt.detail
    failure = (
        await session.scalars(
            select(AlarmEvent).where(AlarmEvent.alarm_id == alarm_id, AlarmEvent.type == "delivery_failed")
        )
    ).one()
    assert failure.data["task_id"] == task["id"]
    operator = await client_as("operator")
    card = (await operator.get(f"/api/alarms/{alarm_id}")).json()
    assert card["tasks"][0]["status"] == "requested"  # still waiting: escalation carries on
    assert card["tasks"][0]["deliveries"][0]["outcome"] == "failed"


async def test_a_notifier_that_crashes_is_a_failed_delivery(app, client_as, session, clock):
    class Broken:
        channel = "broken"

        async def send(self, delivery: Delivery):
            raise RuntimeError("gateway library bug")

    app.state.notifier = Broken()
    _alarm_id, task = await _dispatch_rita(app, client_as, session, clock)
    [attempt] = await _attempts(session, task["id"])
    assert (attempt.channel, attempt.outcome) == ("broken", "failed")


async def test_log_notifier_is_the_default_and_logs_no_personal_data(app, client_as, session, clock, caplog):
    caplog.set_level(logging.INFO, logger="arc.dispatch.notifier")
    _alarm_id, task = await _dispatch_rita(app, client_as, session, clock)
    [attempt] = await _attempts(session, task["id"])
    assert (attempt.channel, attempt.outcome) == ("log", "sent")
    logged = caplog.text
    assert f"task {task['id']}" in logged
    for personal in ("Rita", "07700", "Hope Street", "Clarke"):
        assert personal not in logged


def test_webhook_settings_need_a_secret(database_url, mqtt_url):
    with pytest.raises(ValueError, match="SECRET"):
        Settings(database_url=database_url, mqtt_url=mqtt_url, notify_webhook_url="https://gw.example/x")
    chosen = notifier_from_settings(
        Settings(
            database_url=database_url,
            mqtt_url=mqtt_url,
            notify_webhook_url="https://gw.example/x",
            notify_webhook_secret=SECRET,
        )
    )
    assert isinstance(chosen, WebhookNotifier)
    assert isinstance(
        notifier_from_settings(Settings(database_url=database_url, mqtt_url=mqtt_url)), LogNotifier
    )

"""Click-to-dial: "Call" on the card is recorded on the alarm's log, and with a gateway configured
a durable job asks the gateway (a signed POST) to ring the number and says on the log what it
answered. The number never reaches the log."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy import select

from arc.alarms.models import AlarmEvent
from arc.dispatch.dial import WebhookDialer, app_dialer
from arc.jobs import run_jobs_now
from tests.arc.alarms.helpers import scene

SECRET = "dial-gateway-shared-secret-for-tests"


async def _dial_events(session, alarm_id, kind="dial"):
    rows = await session.scalars(
        select(AlarmEvent)
        .where(AlarmEvent.alarm_id == alarm_id, AlarmEvent.type == kind)
        .execution_options(populate_existing=True)
    )
    return list(rows)


async def test_with_a_gateway_calling_a_responder_posts_a_signed_request(
    app, client_as, session, clock, caplog
):
    received: list[httpx.Request] = []

    def gateway(request: httpx.Request) -> httpx.Response:
        received.append(request)
        return httpx.Response(202)

    app.state.dialer = WebhookDialer(
        "https://pbx.example/dial", SECRET, transport=httpx.MockTransport(gateway)
    )
    s = await scene(session, clock)
    operator = await client_as("operator")
    await operator.post(f"/api/alarms/{s.alarm.id}/accept")
    rita = s.responders[0]
    with caplog.at_level(logging.INFO, logger="arc.dispatch.dial"):
        answer = await operator.post(
            f"/api/alarms/{s.alarm.id}/dial", json={"party": "responder", "responder_id": rita.id}
        )
    assert answer.status_code == 201, answer.text
    assert answer.json()["gateway"] == "webhook"
    assert received == []  # a durable job rings, once the request has committed
    with caplog.at_level(logging.INFO, logger="arc.dispatch.dial"):
        await run_jobs_now(app)

    [request] = received
    stamp = request.headers["X-Lifeline-Timestamp"]
    expected = hmac.new(SECRET.encode(), stamp.encode() + b"." + request.content, hashlib.sha256).hexdigest()
    assert request.headers["X-Lifeline-Signature"] == f"sha256={expected}"
    body = json.loads(request.content)
    assert (body["type"], body["alarm_id"], body["party"], body["responder_id"]) == (
        "call.requested",
        s.alarm.id,
        "responder",
        rita.id,
    )
    assert (body["to_phone"], body["operator_id"]) == (rita.phone_primary, operator.user.id)

    [event] = await _dial_events(session, s.alarm.id)
    assert event.data == {"party": "responder", "responder_id": rita.id, "gateway": "webhook"}
    assert body["event_id"] == event.id
    assert "dial requested" in caplog.text and f"alarm {s.alarm.id}" in caplog.text and ": ok" in caplog.text
    assert rita.phone_primary not in caplog.text and rita.phone_primary not in str(event.data)
    [sent] = await _dial_events(session, s.alarm.id, "dial_sent")
    assert sent.data == {"dial_event_id": event.id, "party": "responder", "responder_id": rita.id}
    assert sent.actor == "system"


async def test_without_a_gateway_the_call_is_only_recorded_and_logged(app, client_as, session, clock, caplog):
    assert app_dialer(app).channel == "log"  # the default: LIFELINE_DIAL_WEBHOOK_URL unset
    s = await scene(session, clock)
    operator = await client_as("operator")
    await operator.post(f"/api/alarms/{s.alarm.id}/accept")
    with caplog.at_level(logging.INFO, logger="arc.dispatch.dial"):
        answer = await operator.post(f"/api/alarms/{s.alarm.id}/dial", json={"party": "customer"})
    assert answer.status_code == 201 and answer.json()["gateway"] == "log"
    [event] = await _dial_events(session, s.alarm.id)
    assert event.data == {"party": "customer", "gateway": "log"}
    assert "01223 555123" not in caplog.text and f"event {event.id}" in caplog.text


async def test_a_request_the_worker_reaches_too_late_rings_nobody(app, client_as, session, clock):
    received: list[httpx.Request] = []
    app.state.dialer = WebhookDialer(
        "https://pbx.example/dial", SECRET, transport=httpx.MockTransport(lambda r: received.append(r))
    )
    s = await scene(session, clock)
    operator = await client_as("operator")
    await operator.post(f"/api/alarms/{s.alarm.id}/dial", json={"party": "customer"})
    clock.advance(seconds=61)  # the workers were down for a minute
    await run_jobs_now(app)
    assert received == []
    [failed] = await _dial_events(session, s.alarm.id, "dial_failed")
    assert failed.data["reason"].startswith("too late") and failed.data["party"] == "customer"


async def test_bad_dial_requests_name_the_problem(client_as, session, clock):
    s = await scene(session, clock)
    other = await scene(session, clock)
    operator = await client_as("operator")
    url = f"/api/alarms/{s.alarm.id}/dial"
    missing = await operator.post(url, json={"party": "responder"})
    assert missing.status_code == 422 and "responder_id" in missing.text
    foreign = await operator.post(url, json={"party": "responder", "responder_id": other.responders[0].id})
    assert foreign.status_code == 422 and "not one of this person's responders" in foreign.text
    assert (await operator.post(url, json={"party": "gp"})).status_code == 422
    assert len(await _dial_events(session, s.alarm.id)) == 0


def test_the_dial_gateway_needs_a_secret(settings):
    with pytest.raises(ValueError, match="LIFELINE_DIAL_WEBHOOK_SECRET"):
        type(settings)(**{**settings.model_dump(), "dial_webhook_url": "https://pbx.example/dial"})
    ok = type(settings)(
        **{
            **settings.model_dump(),
            "dial_webhook_url": "https://pbx.example/dial",
            "dial_webhook_secret": SecretStr("s"),
        }
    )
    assert ok.dial_webhook_url

"""A click-to-dial gateway that refuses: the operator learns it from the alarm's log within the
job's run, live, in words — the request itself stays recorded."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlalchemy import select

from arc.alarms.events import LiveEvent
from arc.alarms.models import AlarmEvent
from arc.dispatch.dial import WebhookDialer
from arc.jobs import run_jobs_now
from tests.arc.alarms.helpers import scene


@pytest.fixture
def refusing_gateway():
    """A real HTTP server on loopback that answers every request 503 and keeps its bodies."""
    bodies: list[dict] = []

    class Refuse(BaseHTTPRequestHandler):
        def do_POST(self):  # the http.server hook
            bodies.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(503)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):  # quiet
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Refuse)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/dial", bodies
    finally:
        server.shutdown()
        server.server_close()


async def test_a_refusing_gateway_is_on_the_alarms_log_live_with_the_reason_in_words(
    app, client_as, session, clock, refusing_gateway
):
    url, bodies = refusing_gateway
    app.state.dialer = WebhookDialer(url, "dial-gateway-shared-secret-for-tests", timeout=2)
    s = await scene(session, clock)
    operator = await client_as("operator")
    await operator.post(f"/api/alarms/{s.alarm.id}/accept")
    answer = await operator.post(f"/api/alarms/{s.alarm.id}/dial", json={"party": "customer"})
    assert answer.status_code == 201 and answer.json()["gateway"] == "webhook"
    last_live = await session.scalar(select(LiveEvent.id).order_by(LiveEvent.id.desc()).limit(1))

    await run_jobs_now(app)
    assert [b["type"] for b in bodies] == ["call.requested"]  # it was asked, once (no late retries)
    failed = await session.scalar(
        select(AlarmEvent).where(AlarmEvent.alarm_id == s.alarm.id, AlarmEvent.type == "dial_failed")
    )
    assert failed is not None, "the refusal must be on the alarm's log"
    assert failed.data["reason"] == "the phone system refused it (HTTP 503)"
    dial = await session.scalar(
        select(AlarmEvent).where(AlarmEvent.alarm_id == s.alarm.id, AlarmEvent.type == "dial")
    )
    assert failed.data["dial_event_id"] == dial.id and failed.data["party"] == "customer"
    assert s.customer.phone_primary not in json.dumps(failed.data)  # the card looks the number up
    live = (
        await session.scalars(select(LiveEvent).where(LiveEvent.id > last_live, LiveEvent.alarm_id == s.alarm.id))
    ).all()
    assert [e.kind for e in live] == ["alarm.updated"]  # the operator's card reloads at once

    card = (await operator.get(f"/api/alarms/{s.alarm.id}")).json()
    assert [e["type"] for e in card["events"]][-2:] == ["dial", "dial_failed"]
    await run_jobs_now(app)
    assert len(bodies) == 1  # a refused call is not rung again later


async def test_an_unreachable_gateway_is_said_in_words(app, client_as, session, clock, refusing_gateway):
    url, _ = refusing_gateway
    dead = url.rsplit(":", 1)[0] + ":9/dial"  # nothing listens on the discard port
    app.state.dialer = WebhookDialer(dead, "dial-gateway-shared-secret-for-tests", timeout=2)
    s = await scene(session, clock)
    operator = await client_as("operator")
    await operator.post(f"/api/alarms/{s.alarm.id}/dial", json={"party": "customer"})
    await run_jobs_now(app)
    failed = await session.scalar(
        select(AlarmEvent).where(AlarmEvent.alarm_id == s.alarm.id, AlarmEvent.type == "dial_failed")
    )
    assert failed.data["reason"] == "the phone system could not be reached"

"""Responder notifications are durable jobs: written with the dispatch, sent by any worker after
COMMIT (also after the process that dispatched has died), retried with backoff, every try
recorded, and a job that used up its attempts is on the admins' dead-letter list."""

from __future__ import annotations

import httpx
from sqlalchemy import select, text

from arc.alarms.models import AlarmEvent
from arc.dispatch.models import DeliveryAttempt, ResponseTask
from arc.dispatch.notifier import WebhookNotifier
from arc.dispatch.tasks import DELIVER
from arc.jobs import run_jobs_now
from tests.arc.alarms.helpers import scene

SECRET = "gateway-shared-secret-for-tests"


def _gateway(app, answers: list[int]) -> list[httpx.Request]:
    """A gateway that answers each request with the next status in ``answers``."""
    received: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        received.append(request)
        return httpx.Response(answers[min(len(received), len(answers)) - 1])

    app.state.notifier = WebhookNotifier(
        "https://sms-gateway.example/send", SECRET, transport=httpx.MockTransport(answer)
    )
    return received


async def _dispatch(client_as, session, clock) -> tuple[int, int]:
    s = await scene(session, clock)
    operator = await client_as("operator")
    await operator.post(f"/api/alarms/{s.alarm.id}/accept")
    response = await operator.post(
        f"/api/alarms/{s.alarm.id}/dispatch", json={"kind": "responder", "responder_id": s.responders[0].id}
    )
    assert response.status_code == 201, response.text
    return s.alarm.id, response.json()["id"]


async def _jobs(session) -> list[tuple[str, str]]:
    rows = await session.execute(text("SELECT task_name, status::text FROM procrastinate_jobs ORDER BY id"))
    return [tuple(row) for row in rows]


async def _attempts(session, task_id: int) -> list[tuple[int, str]]:
    rows = await session.scalars(
        select(DeliveryAttempt)
        .where(DeliveryAttempt.task_id == task_id)
        .order_by(DeliveryAttempt.id)
        .execution_options(populate_existing=True)
    )
    return [(a.attempt, a.outcome) for a in rows]


async def _make_retries_due(session) -> None:
    await session.execute(text("UPDATE procrastinate_jobs SET scheduled_at = now() WHERE status = 'todo'"))
    await session.commit()


async def test_the_job_is_stored_with_the_dispatch_and_sent_by_a_later_worker(app, client_as, session, clock):
    """The process that dispatched 'dies' before sending: the committed job is still there,
    and the next worker to run sends it once."""
    received = _gateway(app, [202])
    _alarm_id, task_id = await _dispatch(client_as, session, clock)
    assert await _jobs(session) == [(DELIVER.name, "todo")]
    assert received == []  # nothing sent before a worker runs
    assert await _attempts(session, task_id) == [(1, "pending")]

    await run_jobs_now(app)  # a worker in another (or a restarted) process
    await run_jobs_now(app)  # and again: nothing is sent twice
    assert len(received) == 1
    assert await _attempts(session, task_id) == [(1, "sent")]
    assert await _jobs(session) == [(DELIVER.name, "succeeded")]


async def test_a_refused_dispatch_enqueues_nothing(app, client_as, session, clock):
    s = await scene(session, clock)
    operator = await client_as("operator")
    await operator.post(f"/api/alarms/{s.alarm.id}/accept")
    bad = await operator.post(f"/api/alarms/{s.alarm.id}/dispatch", json={"kind": "responder", "responder_id": 999})
    assert bad.status_code == 422
    assert await _jobs(session) == []


async def test_a_failing_gateway_is_retried_until_it_takes_the_request(app, client_as, session, clock):
    received = _gateway(app, [500, 503, 202])
    alarm_id, task_id = await _dispatch(client_as, session, clock)
    for _ in range(3):
        await run_jobs_now(app)
        await _make_retries_due(session)
    assert len(received) == 3
    assert await _attempts(session, task_id) == [(1, "failed"), (2, "failed"), (3, "sent")]
    failures = await session.scalars(
        select(AlarmEvent).where(AlarmEvent.alarm_id == alarm_id, AlarmEvent.type == "delivery_failed")
    )
    assert [e.data["retrying"] for e in failures] == [True, True]


async def test_after_the_last_attempt_the_job_is_a_dead_letter_admins_can_see_and_retry(
    app, client_as, session, clock
):
    received = _gateway(app, [500])
    alarm_id, task_id = await _dispatch(client_as, session, clock)
    for _ in range(DELIVER.max_attempts + 1):
        await run_jobs_now(app)
        await _make_retries_due(session)
    assert len(received) == DELIVER.max_attempts
    assert [n for n, outcome in await _attempts(session, task_id) if outcome == "failed"] == list(
        range(1, DELIVER.max_attempts + 1)
    )
    gave_up = await session.scalar(
        select(AlarmEvent).where(AlarmEvent.alarm_id == alarm_id, AlarmEvent.type == "delivery_gave_up")
    )
    assert gave_up is not None  # the operator's log says so

    admin = await client_as("admin")
    [dead] = (await admin.get("/api/admin/jobs/dead")).json()["items"]
    assert (dead["task_name"], dead["args"]) == (DELIVER.name, {"task_id": task_id, "attempt_id": dead["args"]["attempt_id"]})
    assert (await (await client_as("operator")).get("/api/admin/jobs/dead")).status_code == 403

    _gateway(app, [202])
    assert (await admin.post(f"/api/admin/jobs/{dead['id']}/retry")).status_code == 200
    await run_jobs_now(app)
    assert (await _attempts(session, task_id))[-1] == (DELIVER.max_attempts + 1, "sent")
    assert (await admin.post(f"/api/admin/jobs/{dead['id']}/retry")).status_code == 404  # not failed now


async def test_a_request_cancelled_before_the_job_runs_is_skipped_not_sent(app, client_as, session, clock):
    received = _gateway(app, [202])
    alarm_id, task_id = await _dispatch(client_as, session, clock)
    operator = await client_as("supervisor")  # a supervisor may close an alarm another holds
    closed = await operator.post(f"/api/alarms/{alarm_id}/close", json={"outcome_code": "false_alarm"})
    assert closed.status_code == 200, closed.text
    assert (await session.get(ResponseTask, task_id, populate_existing=True)).status == "cancelled"
    await run_jobs_now(app)
    assert received == []
    assert await _attempts(session, task_id) == [(1, "skipped")]

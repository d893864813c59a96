"""An operator's shift: queue, accept, notes, dispatch, responder replies, close — logged and streamed."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from arc.alarms.events import LiveEvent
from arc.alarms.models import Alarm, AlarmEvent
from arc.dispatch.models import ResponseTask
from tests.arc.alarms.helpers import event_types, fresh, live_events, scene
from tests.factories import create_alarm


async def test_queue_lists_open_alarms_most_urgent_first_then_oldest(client_as, session, clock):
    now = clock.now()
    old_battery = await create_alarm(
        session, category="technical", priority=40, title="Battery low", raised_at=now - timedelta(hours=2)
    )
    new_pendant = await create_alarm(session, priority=20, raised_at=now - timedelta(minutes=1))
    old_pendant = await create_alarm(session, priority=20, raised_at=now - timedelta(minutes=5))
    smoke = await create_alarm(session, priority=10, dty="0023", title="Smoke", raised_at=now)
    await create_alarm(session, status="closed", priority=1, closed_at=now)
    await session.commit()

    operator = await client_as("operator")
    response = await operator.get("/api/alarms/queue")

    assert response.status_code == 200
    assert [a["id"] for a in response.json()["items"]] == [
        smoke.id,
        old_pendant.id,
        new_pendant.id,
        old_battery.id,
    ]


async def test_whole_lifecycle_is_logged_with_who_and_when_and_streamed(client_as, session, clock):
    s = await scene(session, clock)
    operator = await client_as("operator", full_name="Olive Operator")
    raised = clock.now()

    clock.advance(seconds=42)
    accepted = await operator.post(f"/api/alarms/{s.alarm.id}/accept")
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["status"] == "accepted"
    assert accepted.json()["accepted_by"] == {"id": operator.user.id, "name": "Olive Operator"}
    assert accepted.json()["accepted_at"] == (raised + timedelta(seconds=42)).isoformat()

    clock.advance(seconds=10)
    note = await operator.post(f"/api/alarms/{s.alarm.id}/notes", json={"text": "Fell in kitchen, conscious"})
    assert note.status_code == 201
    assert note.json() == {
        "at": clock.now().isoformat(),
        "type": "note",
        "actor": "Olive Operator",
        "data": {"text": "Fell in kitchen, conscious"},
    }
    assert (await fresh(session, Alarm, s.alarm.id)).status == "in_progress"

    dispatched = await operator.post(
        f"/api/alarms/{s.alarm.id}/dispatch", json={"kind": "responder", "responder_id": s.responders[0].id}
    )
    assert dispatched.status_code == 201, dispatched.text
    task = dispatched.json()
    assert task["status"] == "requested"
    assert task["responder_name"] == "Rita Daughter"
    assert task["escalate_at"] == (clock.now() + timedelta(seconds=300)).isoformat()
    assert (await fresh(session, Alarm, s.alarm.id)).status == "dispatched"

    for status in ("accepted", "en_route", "arrived", "done"):
        clock.advance(minutes=3)
        reply = await operator.post(f"/api/tasks/{task['id']}/status", json={"status": status})
        assert reply.status_code == 200, reply.text
        assert reply.json()["status"] == status
    assert (await fresh(session, Alarm, s.alarm.id)).status == "on_scene"

    closed = await operator.post(
        f"/api/alarms/{s.alarm.id}/close", json={"outcome_code": "family_attended", "note": "Daughter stayed"}
    )
    assert closed.status_code == 200, closed.text
    assert closed.json()["status"] == "closed"
    assert closed.json()["outcome_code"] == "family_attended"
    assert (await operator.get("/api/alarms/queue")).json()["items"] == []

    assert await event_types(session, s.alarm.id) == [
        "accepted",
        "note",
        "in_progress",
        "task_requested",
        "dispatched",
        "task_status",
        "task_status",
        "task_status",
        "on_scene",
        "task_status",
        "closed",
    ]
    actors = set(await session.scalars(select(AlarmEvent.actor).where(AlarmEvent.alarm_id == s.alarm.id)))
    assert actors == {"Olive Operator"}

    streamed = await live_events(session, s.alarm.id)
    assert streamed[0].kind == "alarm.updated" and streamed[0].payload["status"] == "accepted"
    assert streamed[-1].kind == "alarm.closed" and streamed[-1].payload["outcome_code"] == "family_attended"
    task_states = [e.payload["status"] for e in streamed if e.kind == "task.updated"]
    # (the delivery report re-sends the task in whatever state it is then: drop repeats)
    assert [x for n, x in enumerate(task_states) if n == 0 or task_states[n - 1] != x] == [
        "requested",
        "accepted",
        "en_route",
        "arrived",
        "done",
    ]


async def test_accepting_twice_is_harmless_but_a_closed_alarm_cannot_be_accepted(client_as, session, clock):
    s = await scene(session, clock)
    operator = await client_as("operator")
    assert (await operator.post(f"/api/alarms/{s.alarm.id}/accept")).status_code == 200
    again = await operator.post(f"/api/alarms/{s.alarm.id}/accept")
    assert again.status_code == 200
    assert await event_types(session, s.alarm.id) == ["accepted"]

    await operator.post(f"/api/alarms/{s.alarm.id}/close", json={"outcome_code": "false_alarm"})
    late = await (await client_as("operator")).post(f"/api/alarms/{s.alarm.id}/accept")
    assert late.status_code == 409
    assert late.json()["error"] == "closed"


async def test_only_the_holder_or_a_supervisor_may_dispatch_or_close(client_as, session, clock):
    s = await scene(session, clock)
    holder = await client_as("operator", full_name="Holly Holder")
    other = await client_as("operator")
    supervisor = await client_as("supervisor", full_name="Sue Supervisor")
    not_yet = await holder.post(f"/api/alarms/{s.alarm.id}/close", json={"outcome_code": "false_alarm"})
    assert not_yet.status_code == 409 and not_yet.json()["error"] == "not_accepted"
    await holder.post(f"/api/alarms/{s.alarm.id}/accept")

    refused = await other.post(f"/api/alarms/{s.alarm.id}/close", json={"outcome_code": "false_alarm"})
    assert refused.status_code == 409
    assert refused.json()["error"] == "taken"
    assert refused.json()["detail"] == "accepted by Holly Holder"
    refused = await other.post(
        f"/api/alarms/{s.alarm.id}/dispatch", json={"kind": "emergency", "service": "fire"}
    )
    assert refused.status_code == 409
    assert await session.scalar(select(func.count()).select_from(ResponseTask)) == 0

    closed = await supervisor.post(f"/api/alarms/{s.alarm.id}/close", json={"outcome_code": "false_alarm"})
    assert closed.status_code == 200
    closed_event = (
        await session.scalars(
            select(AlarmEvent).where(AlarmEvent.alarm_id == s.alarm.id, AlarmEvent.type == "closed")
        )
    ).one()
    assert closed_event.actor == "Sue Supervisor"


async def test_closed_as_technical_fault_cancels_requests_nobody_took_up(client_as, session, clock):
    s = await scene(session, clock, category="technical", priority=40, stc="0085", title="Mains failure")
    operator = await client_as("operator")
    await operator.post(f"/api/alarms/{s.alarm.id}/accept")
    task = (
        await operator.post(
            f"/api/alarms/{s.alarm.id}/dispatch",
            json={"kind": "responder", "responder_id": s.responders[0].id},
        )
    ).json()

    closed = await operator.post(
        f"/api/alarms/{s.alarm.id}/close", json={"outcome_code": "technical_fault", "note": "Fuse replaced"}
    )

    assert closed.status_code == 200
    alarm = await fresh(session, Alarm, s.alarm.id)
    assert (alarm.status, alarm.outcome_code, alarm.outcome_note) == (
        "closed",
        "technical_fault",
        "Fuse replaced",
    )
    assert alarm.closed_by_id == operator.user.id and alarm.closed_at == clock.now()
    assert (await fresh(session, ResponseTask, task["id"])).status == "cancelled"


async def test_a_unit_reset_alarm_still_needs_an_operator_to_close_it(client_as, session, clock):
    s = await scene(session, clock, reset_at_unit_at=clock.now())
    operator = await client_as("operator")
    queue = (await operator.get("/api/alarms/queue")).json()["items"]
    assert [a["id"] for a in queue] == [s.alarm.id]
    assert queue[0]["reset_at_unit_at"] == clock.now().isoformat()
    await operator.post(f"/api/alarms/{s.alarm.id}/accept")
    closed = await operator.post(
        f"/api/alarms/{s.alarm.id}/close", json={"outcome_code": "cancelled_at_unit"}
    )
    assert closed.status_code == 200


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("close", {"outcome_code": "made_up"}, "outcome_code"),
        ("close", {}, "outcome_code"),
        ("close", {"outcome_code": "false_alarm", "colour": "red"}, "colour"),
        ("notes", {"text": "   "}, "text"),
        ("notes", {"text": "x" * 10_001}, "text"),
        ("dispatch", {"kind": "helicopter"}, "kind"),
        ("dispatch", {"kind": "responder"}, "responder_id"),
        ("dispatch", {"kind": "responder", "responder_id": 999_999}, "responder_id"),
        ("dispatch", {"kind": "emergency"}, "service"),
        ("dispatch", {"kind": "emergency", "service": "coastguard"}, "service"),
        ("dispatch", {"kind": "ers", "ers_user_id": 999_999}, "ers_user_id"),
        ("dispatch", {"kind": "ers"}, "ers_user_id"),  # nobody on ERS duty
    ],
)
async def test_bad_input_is_422_naming_the_field_and_writes_nothing(
    client_as, session, clock, path, body, field
):
    s = await scene(session, clock)
    operator = await client_as("operator")
    await operator.post(f"/api/alarms/{s.alarm.id}/accept")
    events_before = await session.scalar(select(func.count()).select_from(AlarmEvent))
    live_before = await session.scalar(select(func.count()).select_from(LiveEvent))

    response = await operator.post(f"/api/alarms/{s.alarm.id}/{path}", json=body)

    assert response.status_code == 422, response.text
    problems = response.json()
    named = (
        {p["field"] for p in problems["detail"]}
        if isinstance(problems["detail"], list)
        else {problems["field"]}
    )
    assert any(field in name for name in named), problems
    assert (await fresh(session, Alarm, s.alarm.id)).status == "accepted"
    assert await session.scalar(select(func.count()).select_from(AlarmEvent)) == events_before
    assert await session.scalar(select(func.count()).select_from(LiveEvent)) == live_before
    assert await session.scalar(select(func.count()).select_from(ResponseTask)) == 0


async def test_a_responder_of_another_customer_cannot_be_sent(client_as, session, clock):
    mine = await scene(session, clock)
    theirs = await scene(session, clock)
    operator = await client_as("operator")
    await operator.post(f"/api/alarms/{mine.alarm.id}/accept")
    response = await operator.post(
        f"/api/alarms/{mine.alarm.id}/dispatch",
        json={"kind": "responder", "responder_id": theirs.responders[0].id},
    )
    assert response.status_code == 422
    assert await session.scalar(select(func.count()).select_from(ResponseTask)) == 0


async def test_unknown_alarm_is_404_everywhere(client_as):
    operator = await client_as("operator")
    for method, path, body in [
        ("GET", "/api/alarms/424242", None),
        ("POST", "/api/alarms/424242/accept", None),
        ("POST", "/api/alarms/424242/notes", {"text": "hello"}),
        ("POST", "/api/alarms/424242/close", {"outcome_code": "false_alarm"}),
        ("POST", "/api/tasks/424242/status", {"status": "accepted"}),
    ]:
        response = await operator.request(method, path, json=body)
        assert response.status_code == 404, (path, response.text)


async def test_alarm_routes_are_for_operators_and_supervisors_only(client_as, anon_client, session, clock):
    s = await scene(session, clock)
    assert (await anon_client.get("/api/alarms/queue")).status_code == 401
    for role in ("ers", "finance", "tec"):
        someone = await client_as(role)
        assert (await someone.get("/api/alarms/queue")).status_code == 403
        assert (await someone.post(f"/api/alarms/{s.alarm.id}/accept")).status_code == 403
    assert (await fresh(session, Alarm, s.alarm.id)).status == "queued"

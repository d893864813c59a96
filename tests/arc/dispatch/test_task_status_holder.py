"""Only the operator holding the alarm (or a supervisor) records a responder's reply, as for
dispatch; nobody changes the tasks of a closed alarm (issue 11, item 3)."""

from __future__ import annotations

from sqlalchemy import func, select

from arc.dispatch.models import ResponseTask
from tests.arc.alarms.helpers import fresh, scene


async def _dispatched(client_as, session, clock):
    s = await scene(session, clock)
    holder = await client_as("operator")
    await holder.post(f"/api/alarms/{s.alarm.id}/accept")
    task = await holder.post(
        f"/api/alarms/{s.alarm.id}/dispatch", json={"kind": "responder", "responder_id": s.responders[0].id}
    )
    assert task.status_code == 201, task.text
    return s, holder, task.json()


async def test_another_operator_cannot_decline_or_cancel_a_task_of_an_alarm_they_do_not_hold(
    client_as, session, clock
):
    s, _holder, task = await _dispatched(client_as, session, clock)
    colleague = await client_as("operator")
    for status in ("declined", "cancelled"):
        refused = await colleague.post(f"/api/tasks/{task['id']}/status", json={"status": status})
        assert refused.status_code == 409 and refused.json()["error"] == "taken", refused.text
    assert (await fresh(session, ResponseTask, task["id"])).status == "requested"
    count = select(func.count()).select_from(ResponseTask).where(ResponseTask.alarm_id == s.alarm.id)
    assert await session.scalar(count) == 1  # no escalation was started by the refused decline


async def test_the_holder_and_a_supervisor_may_record_replies(client_as, session, clock):
    _s, holder, task = await _dispatched(client_as, session, clock)
    accepted = await holder.post(f"/api/tasks/{task['id']}/status", json={"status": "accepted"})
    assert accepted.status_code == 200, accepted.text
    supervisor = await client_as("supervisor")
    en_route = await supervisor.post(f"/api/tasks/{task['id']}/status", json={"status": "en_route"})
    assert en_route.status_code == 200 and en_route.json()["status"] == "en_route"


async def test_nothing_changes_on_a_closed_alarm(client_as, session, clock):
    s, holder, task = await _dispatched(client_as, session, clock)
    assert (await holder.post(f"/api/tasks/{task['id']}/status", json={"status": "done"})).status_code == 200
    closed = await holder.post(
        f"/api/alarms/{s.alarm.id}/close", json={"outcome_code": "assistance_by_phone"}
    )
    assert closed.status_code == 200, closed.text
    for who in (holder, await client_as("supervisor")):
        late = await who.post(f"/api/tasks/{task['id']}/status", json={"status": "done", "note": "rewritten"})
        assert late.status_code == 409 and late.json()["error"] == "closed", late.text
    assert (await fresh(session, ResponseTask, task["id"])).note is None

"""The ERS responder's jobs: only their own, accept / en route / arrived / done with a note."""

from __future__ import annotations

from sqlalchemy import func, select

from arc.alarms.models import Alarm, AlarmEvent
from arc.audit.models import AuditEntry
from arc.dispatch.models import ResponseTask
from tests.arc.alarms.helpers import fresh, give_key_safe, scene


async def _ers_job(client_as, session, clock):
    s = await scene(session, clock)
    erin = await client_as("ers", full_name="Erin ERS")
    operator = await client_as("operator")
    await operator.post(f"/api/alarms/{s.alarm.id}/accept")
    task = await operator.post(
        f"/api/alarms/{s.alarm.id}/dispatch", json={"kind": "ers", "ers_user_id": erin.user.id}
    )
    assert task.status_code == 201, task.text
    return s, erin, operator, task.json()


async def test_ers_responder_works_a_job_from_request_to_done(app, client_as, session, clock):
    s, erin, operator, task = await _ers_job(client_as, session, clock)
    await give_key_safe(app, session, s.customer, "Key safe 4321")

    jobs = (await erin.get("/api/ers/jobs")).json()["items"]
    assert [j["id"] for j in jobs] == [task["id"]]
    job = jobs[0]
    assert job["status"] == "requested"
    assert job["responder_name"] == "Erin ERS"
    assert job["alarm"]["id"] == s.alarm.id and job["alarm"]["title"] == "Pendant alarm"
    assert job["address"]["address_line1"] == "4 Hope Street" and job["address"]["postcode"] == "CB2 1TN"
    assert job["key_safe"] is None  # not until the job is accepted

    accepted = await erin.post(f"/api/ers/jobs/{task['id']}/status", json={"status": "accepted"})
    assert accepted.status_code == 200
    assert accepted.json()["key_safe"] == "Key safe 4321"
    for status in ("en_route", "arrived"):
        clock.advance(minutes=4)
        assert (
            await erin.post(f"/api/ers/jobs/{task['id']}/status", json={"status": status})
        ).status_code == 200
    assert (await fresh(session, Alarm, s.alarm.id)).status == "on_scene"
    done = await erin.post(
        f"/api/ers/jobs/{task['id']}/status", json={"status": "done", "note": "Helped up, no injury"}
    )
    assert done.status_code == 200
    assert (done.json()["status"], done.json()["note"]) == ("done", "Helped up, no injury")
    assert (await erin.get("/api/ers/jobs")).json()["items"] == []  # done jobs leave the list

    card = (await operator.get(f"/api/alarms/{s.alarm.id}")).json()
    assert card["tasks"][0]["status"] == "done"
    assert card["tasks"][0]["arrived_at"] == clock.now().isoformat()
    actors = {e["actor"] for e in card["events"] if e["type"] == "task_status"}
    assert actors == {"Erin ERS"}


async def test_ers_responders_see_and_touch_only_their_own_jobs(client_as, session, clock):
    _s, erin, operator, task = await _ers_job(client_as, session, clock)
    fred = await client_as("ers", full_name="Fred ERS")
    assert (await fred.get("/api/ers/jobs")).json()["items"] == []
    refused = await fred.post(f"/api/ers/jobs/{task['id']}/status", json={"status": "accepted"})
    assert refused.status_code == 404
    assert (await fresh(session, ResponseTask, task["id"])).status == "requested"
    assert (await operator.get("/api/ers/jobs")).status_code == 403
    assert (await erin.get("/api/alarms/queue")).status_code == 403


async def test_ers_may_not_cancel_and_a_done_job_cannot_go_back(client_as, session, clock):
    _s, erin, operator, task = await _ers_job(client_as, session, clock)
    cancel = await erin.post(f"/api/ers/jobs/{task['id']}/status", json={"status": "cancelled"})
    assert cancel.status_code == 422
    await erin.post(f"/api/ers/jobs/{task['id']}/status", json={"status": "done"})
    events = await session.scalar(select(func.count()).select_from(AlarmEvent))

    back = await operator.post(f"/api/tasks/{task['id']}/status", json={"status": "accepted"})

    assert back.status_code == 409 and back.json()["error"] == "bad_transition"
    assert (await fresh(session, ResponseTask, task["id"])).status == "done"
    assert await session.scalar(select(func.count()).select_from(AlarmEvent)) == events


async def test_a_repeated_tap_changes_nothing(client_as, session, clock):
    _s, erin, _operator, task = await _ers_job(client_as, session, clock)
    await erin.post(f"/api/ers/jobs/{task['id']}/status", json={"status": "accepted"})
    events = await session.scalar(select(func.count()).select_from(AlarmEvent))
    again = await erin.post(f"/api/ers/jobs/{task['id']}/status", json={"status": "accepted"})
    assert again.status_code == 200
    assert await session.scalar(select(func.count()).select_from(AlarmEvent)) == events


async def test_ers_dispatch_without_a_name_goes_to_the_least_busy_responder(client_as, session, clock):
    _s, _erin, operator, _task = await _ers_job(client_as, session, clock)  # Erin has one job
    fred = await client_as("ers", full_name="Fred ERS")
    second = await scene(session, clock)
    await operator.post(f"/api/alarms/{second.alarm.id}/accept")
    sent = await operator.post(f"/api/alarms/{second.alarm.id}/dispatch", json={"kind": "ers"})
    assert sent.status_code == 201
    assert (sent.json()["ers_user_id"], sent.json()["responder_name"]) == (fred.user.id, "Fred ERS")


async def test_operator_records_a_999_reference_on_an_emergency_task(client_as, session, clock):
    s = await scene(session, clock)
    operator = await client_as("operator")
    await operator.post(f"/api/alarms/{s.alarm.id}/accept")
    task = (
        await operator.post(
            f"/api/alarms/{s.alarm.id}/dispatch", json={"kind": "emergency", "service": "ambulance"}
        )
    ).json()
    assert (task["status"], task["reference"]) == ("requested", None)  # the operator still has to phone

    recorded = await operator.post(
        f"/api/tasks/{task['id']}/status", json={"status": "accepted", "reference": "CAD-2026-1142"}
    )
    assert recorded.status_code == 200
    assert (recorded.json()["status"], recorded.json()["reference"]) == ("accepted", "CAD-2026-1142")


async def test_ers_job_reads_are_audited_and_show_the_phone_only_once_accepted(client_as, session, clock):
    s, erin, _operator, task = await _ers_job(client_as, session, clock)
    offered = (await erin.get("/api/ers/jobs")).json()["items"][0]
    assert offered["address"]["postcode"] == "CB2 1TN" and offered["address"]["phone_primary"] is None
    accepted = (await erin.post(f"/api/ers/jobs/{task['id']}/status", json={"status": "accepted"})).json()
    assert accepted["address"]["phone_primary"] == "01223 555123"
    declined = await erin.post(f"/api/ers/jobs/{task['id']}/status", json={"status": "declined"})
    assert declined.json()["address"] is None and declined.json()["alarm"]["customer"] is None
    rows = (
        await session.scalars(
            select(AuditEntry).where(AuditEntry.object_type == "ers_job").order_by(AuditEntry.id)
        )
    ).all()
    assert [(r.actor_user_id, r.customer_id, r.detail["fields"]) for r in rows] == [
        (erin.user.id, s.customer.id, ["name", "address"]),
        (erin.user.id, s.customer.id, ["name", "address", "phone", "key_safe", "risk_notes"]),
    ]


async def test_ers_job_shows_the_risks_once_accepted_and_says_when_the_alarm_is_closed(
    client_as, session, clock
):
    s, erin, operator, task = await _ers_job(client_as, session, clock)
    offered = (await erin.get("/api/ers/jobs")).json()["items"][0]
    assert offered["risk_notes"] is None and offered["alarm_closed"] is False
    accepted = (await erin.post(f"/api/ers/jobs/{task['id']}/status", json={"status": "accepted"})).json()
    assert accepted["risk_notes"] == "Lives alone; dog in the house"

    await operator.post(f"/api/alarms/{s.alarm.id}/close", json={"outcome_code": "ers_attended"})
    [job] = (await erin.get("/api/ers/jobs")).json()["items"]
    assert job["alarm_closed"] is True
    assert job["risk_notes"] is None and job["key_safe"] is None and job["address"] is None
    clock.advance(hours=3)
    assert (await erin.get("/api/ers/jobs")).json()["items"] == []  # gone from the list later


async def test_ers_page_polling_one_view_is_audited_once_per_stage(client_as, session, clock):
    _s, erin, _operator, task = await _ers_job(client_as, session, clock)
    for _ in range(4):  # the page polls every 15 s
        await erin.get("/api/ers/jobs", params={"view": "page1"})
    await erin.post(f"/api/ers/jobs/{task['id']}/status", json={"status": "accepted"})
    for _ in range(4):
        await erin.get("/api/ers/jobs", params={"view": "page1"})
    rows = (
        await session.scalars(
            select(AuditEntry).where(AuditEntry.object_type == "ers_job").order_by(AuditEntry.id)
        )
    ).all()
    fields = [r.detail["fields"] for r in rows]
    # the status answer itself (no view) is one look; each stage of the page's view is one more
    assert fields.count(["name", "address"]) == 1
    assert fields.count(["name", "address", "phone", "key_safe", "risk_notes"]) == 2


async def test_medical_notes_reach_the_responder_only_when_marked_shareable_and_accepted(
    client_as, session, clock
):
    s, erin, _operator, task = await _ers_job(client_as, session, clock)
    s.customer.medical_notes = "Type 2 diabetes; warfarin"
    await session.commit()
    accepted = (await erin.post(f"/api/ers/jobs/{task['id']}/status", json={"status": "accepted"})).json()
    assert accepted["medical_notes"] is None  # not marked shareable: the responder never sees them

    tec = await client_as("tec")
    marked = await tec.patch(f"/api/customers/{s.customer.id}", json={"medical_notes_shareable": True})
    assert marked.status_code == 200 and marked.json()["medical_notes_shareable"] is True
    [job] = (await erin.get("/api/ers/jobs")).json()["items"]
    assert job["medical_notes"] == "Type 2 diabetes; warfarin"
    looked = await session.scalar(
        select(AuditEntry).where(AuditEntry.object_type == "ers_job").order_by(AuditEntry.id.desc()).limit(1)
    )
    assert "medical_notes" in looked.detail["fields"]

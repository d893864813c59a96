"""Supervisors see who holds what, and re-assign or release alarms; operators record their calls."""

from __future__ import annotations

from sqlalchemy import select

from arc.audit.models import AuditEntry
from tests.arc.alarms.helpers import event_types, scene


async def test_supervisor_reassigns_then_releases_a_held_alarm_and_each_is_logged_and_audited(
    client_as, session, clock
):
    s = await scene(session, clock)
    olive = await client_as("operator", full_name="Olive Operator")
    pat = await client_as("operator", full_name="Pat Operator")
    boss = await client_as("supervisor", full_name="Sue Supervisor")
    await olive.post(f"/api/alarms/{s.alarm.id}/accept")
    clock.advance(seconds=90)

    handlers = {h["name"]: h for h in (await boss.get("/api/operators")).json()["items"]}
    assert [a["id"] for a in handlers["Olive Operator"]["holding"]] == [s.alarm.id]
    assert handlers["Pat Operator"]["holding"] == []
    assert (await olive.get("/api/operators")).status_code == 403

    moved = await boss.post(
        f"/api/alarms/{s.alarm.id}/reassign", json={"to_user_id": pat.user.id, "reason": "Olive on break"}
    )
    assert moved.status_code == 200, moved.text
    assert moved.json()["accepted_by"]["name"] == "Pat Operator"
    assert (await olive.post(f"/api/alarms/{s.alarm.id}/notes", json={"text": "x"})).status_code == 201
    refused = await olive.post(f"/api/alarms/{s.alarm.id}/close", json={"outcome_code": "false_alarm"})
    assert refused.status_code == 409 and refused.json()["error"] == "taken"

    released = await boss.post(f"/api/alarms/{s.alarm.id}/reassign", json={"to_user_id": None})
    assert (released.json()["status"], released.json()["accepted_by"]) == ("queued", None)
    first_answer = released.json()["accepted_at"]
    retaken = (await olive.post(f"/api/alarms/{s.alarm.id}/accept")).json()
    assert retaken["accepted_at"] == first_answer, "the KPIs keep the first answer time"

    assert (await event_types(session, s.alarm.id))[-4:] == ["reassigned", "note", "released", "accepted"]
    audits = (
        await session.execute(
            select(AuditEntry.actor_user_id, AuditEntry.detail["change"].astext).where(
                AuditEntry.object_type == "alarm"
            )
        )
    ).all()
    assert audits == [(boss.user.id, "reassigned"), (boss.user.id, "released")]


async def test_reassign_is_refused_to_operators_and_for_bad_targets(client_as, session, clock):
    s = await scene(session, clock)
    olive = await client_as("operator")
    boss = await client_as("supervisor")
    ers = await client_as("ers")
    queued = await boss.post(f"/api/alarms/{s.alarm.id}/reassign", json={"to_user_id": None})
    assert queued.status_code == 409 and queued.json()["error"] == "not_accepted"
    await olive.post(f"/api/alarms/{s.alarm.id}/accept")
    assert (await olive.post(f"/api/alarms/{s.alarm.id}/reassign", json={})).status_code == 403
    bad = await boss.post(f"/api/alarms/{s.alarm.id}/reassign", json={"to_user_id": ers.user.id})
    assert bad.status_code == 422 and "to_user_id" in bad.text


async def test_operator_records_a_call_and_its_result_on_the_alarm(client_as, session, clock):
    s = await scene(session, clock)
    olive = await client_as("operator")
    await olive.post(f"/api/alarms/{s.alarm.id}/accept")
    made = await olive.post(
        f"/api/alarms/{s.alarm.id}/calls",
        json={"party": "responder", "responder_id": s.responders[0].id, "result": "no_answer"},
    )
    assert made.status_code == 201, made.text
    card = (await olive.get(f"/api/alarms/{s.alarm.id}")).json()
    assert card["events"][-1]["type"] == "call"
    assert card["events"][-1]["data"] == {
        "party": "responder",
        "responder_id": s.responders[0].id,
        "result": "no_answer",
    }
    bad = await olive.post(f"/api/alarms/{s.alarm.id}/calls", json={"party": "customer", "result": "maybe"})
    assert bad.status_code == 422

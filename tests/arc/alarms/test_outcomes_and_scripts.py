"""Outcome codes and call-handling scripts are configurable by supervisors and admins."""

from __future__ import annotations

from sqlalchemy import func, select

from arc.alarms.outcomes import DEFAULT_OUTCOMES, OutcomeCode
from arc.alarms.scripts import CallScript
from tests.arc.alarms.helpers import scene
from tests.factories import create_alarm


async def test_default_outcomes_are_offered_in_order(client_as):
    operator = await client_as("operator")
    response = await operator.get("/api/outcomes")
    assert response.status_code == 200
    assert [(o["code"], o["label"]) for o in response.json()] == DEFAULT_OUTCOMES


async def test_supervisor_adds_relabels_and_retires_outcomes(client_as, session, clock):
    supervisor = await client_as("supervisor")
    added = await supervisor.post(
        "/api/outcomes", json={"code": "gp_contacted", "label": "GP contacted", "position": 15}
    )
    assert added.status_code == 201, added.text
    codes = [o["code"] for o in (await supervisor.get("/api/outcomes")).json()]
    assert codes[:3] == ["false_alarm", "gp_contacted", "assistance_by_phone"]

    relabelled = await supervisor.patch(
        "/api/outcomes/false_alarm", json={"label": "False alarm (accidental)"}
    )
    assert relabelled.json()["label"] == "False alarm (accidental)"
    retired = await supervisor.patch("/api/outcomes/test_call", json={"active": False})
    assert retired.json()["active"] is False
    offered = [o["code"] for o in (await supervisor.get("/api/outcomes")).json()]
    assert "test_call" not in offered
    everything = (await supervisor.get("/api/outcomes", params={"include_inactive": "true"})).json()
    assert {"code": "test_call", "label": "Test call", "position": 110, "active": False} in everything

    s = await scene(session, clock)
    operator = await client_as("operator")
    await operator.post(f"/api/alarms/{s.alarm.id}/accept")
    refused = await operator.post(f"/api/alarms/{s.alarm.id}/close", json={"outcome_code": "test_call"})
    assert refused.status_code == 422
    closed = await operator.post(f"/api/alarms/{s.alarm.id}/close", json={"outcome_code": "gp_contacted"})
    assert closed.status_code == 200


async def test_outcome_changes_are_refused_to_operators_and_bad_codes_rejected(client_as, session):
    operator = await client_as("operator")
    admin = await client_as("admin")
    assert len((await operator.get("/api/outcomes")).json()) == len(DEFAULT_OUTCOMES)
    assert (await operator.post("/api/outcomes", json={"code": "x", "label": "X"})).status_code == 403
    assert (await operator.patch("/api/outcomes/false_alarm", json={"label": "Y"})).status_code == 403
    bad = await admin.post("/api/outcomes", json={"code": "Has Spaces", "label": "X"})
    assert bad.status_code == 422
    duplicate = await admin.post("/api/outcomes", json={"code": "false_alarm", "label": "Again"})
    assert duplicate.status_code == 409 and duplicate.json()["error"] == "duplicate"
    missing = await admin.patch("/api/outcomes/no_such_code", json={"label": "Y"})
    assert missing.status_code == 404
    assert await session.scalar(select(func.count()).select_from(OutcomeCode)) == len(DEFAULT_OUTCOMES)
    assert (
        await session.scalar(select(OutcomeCode.label).where(OutcomeCode.code == "false_alarm"))
        == "False alarm"
    )


async def test_card_shows_the_most_specific_script_and_supervisors_can_edit_it(client_as, session, clock):
    smoke = await create_alarm(session, dty="0023", stc="0009", priority=10, raised_at=clock.now())
    battery = await create_alarm(session, dty="0023", stc="0016", category="technical", raised_at=clock.now())
    odd = await create_alarm(session, dty="0099", stc="0950", raised_at=clock.now())
    await session.commit()
    operator = await client_as("operator")
    supervisor = await client_as("supervisor")

    assert (await operator.get(f"/api/alarms/{smoke.id}")).json()["script"].startswith("SMOKE DETECTOR.")
    assert (await operator.get(f"/api/alarms/{battery.id}")).json()["script"].startswith("Battery low")
    assert (
        (await operator.get(f"/api/alarms/{odd.id}")).json()["script"].startswith("1. Speak through the unit")
    )

    specific = await supervisor.post(
        "/api/scripts", json={"match": "dty:0023/stc:0009", "text": "Automatic smoke alarm: call 999 first."}
    )
    assert specific.status_code == 201, specific.text
    assert (await operator.get(f"/api/alarms/{smoke.id}")).json()[
        "script"
    ] == "Automatic smoke alarm: call 999 first."

    scripts = {s["match"]: s for s in (await operator.get("/api/scripts")).json()}
    edited = await supervisor.patch(f"/api/scripts/{scripts['default']['id']}", json={"text": "Be kind."})
    assert edited.status_code == 200
    assert (await operator.get(f"/api/alarms/{odd.id}")).json()["script"] == "Be kind."

    deleted = await supervisor.delete(f"/api/scripts/{specific.json()['id']}")
    assert deleted.status_code == 204
    assert (await operator.get(f"/api/alarms/{smoke.id}")).json()["script"].startswith("SMOKE DETECTOR.")


async def test_script_rules_are_checked_and_the_default_cannot_be_deleted(client_as, session):
    supervisor = await client_as("supervisor")
    operator = await client_as("operator")
    scripts = {s["match"]: s for s in (await supervisor.get("/api/scripts")).json()}
    before = await session.scalar(select(func.count()).select_from(CallScript))

    for bad in ("dty:3", "stc:0016/dty:0003", "everything", "kind:No Comms"):
        response = await supervisor.post("/api/scripts", json={"match": bad, "text": "x"})
        assert response.status_code == 422, bad
    assert (await supervisor.post("/api/scripts", json={"match": "dty:0003", "text": "x"})).status_code == 409
    assert (await supervisor.delete(f"/api/scripts/{scripts['default']['id']}")).status_code == 409
    assert (await operator.post("/api/scripts", json={"match": "dty:0012", "text": "x"})).status_code == 403
    assert await session.scalar(select(func.count()).select_from(CallScript)) == before

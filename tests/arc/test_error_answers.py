"""Values the database refuses are the client's mistake: 422 in the one error shape, nothing kept.

Found by fuzzing the API: a NUL character in a search, a key-safe reason, a login name, an outcome
label or an alarm note reached PostgreSQL and came back as 503 "database error, try again" (so a
client would retry a request that can never succeed). ``arc/errors.py`` now answers PostgreSQL's
data exceptions (SQLSTATE class 22) with 422, for every route at once.
"""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import func, select

from arc.alarms.models import AlarmEvent
from arc.alarms.outcomes import OutcomeCode
from arc.audit.models import AuditEntry
from tests.arc.alarms.helpers import scene
from tests.factories import create_customer


def _refused(response) -> dict:
    assert response.status_code == 422, response.text
    body = response.json()
    assert set(body) >= {"error", "detail"} and body["error"] == "invalid", body
    return body


async def _count(session, model, *where) -> int:
    return await session.scalar(select(func.count()).select_from(model).where(*where))


@pytest.mark.parametrize(
    "role, path",
    [("supervisor", "/api/customers"), ("tec", "/api/units"), ("finance", "/api/finance/customers")],
)
async def test_nul_in_a_search_is_422_not_a_database_error(client_as, role, path):
    who = await client_as(role)
    _refused(await who.get(path, params={"q": "Cla\x00rke"}))


async def test_nul_in_a_key_safe_reason_is_422_and_shows_nothing(client_as, session):
    customer = await create_customer(session)
    await session.commit()
    supervisor = await client_as("supervisor")
    body = _refused(
        await supervisor.get(f"/api/customers/{customer.id}/key-safe", params={"reason": "welfare\x00check"})
    )
    assert "NUL" in body["detail"]
    assert (
        await _count(session, AuditEntry, AuditEntry.object_type == "key_safe", AuditEntry.action == "view")
        == 0
    )


async def test_nul_in_a_login_name_is_422(anon_client):
    _refused(await anon_client.post("/auth/login", json={"username": "ad\x00min", "password": "x"}))


async def test_outcome_label_or_code_with_nul_is_422_and_not_saved(client_as, session):
    supervisor = await client_as("supervisor")
    before = await _count(session, OutcomeCode)
    _refused(await supervisor.post("/api/outcomes", json={"code": "gp_contacted", "label": "GP\x00"}))
    _refused(await supervisor.patch("/api/outcomes/false%00alarm", json={"label": "False alarm"}))
    assert await _count(session, OutcomeCode) == before
    assert await _count(session, OutcomeCode, OutcomeCode.code == "gp_contacted") == 0


async def test_alarm_note_with_nul_is_422_and_not_logged(client_as, session, clock):
    s = await scene(session, clock)
    operator = await client_as("operator")
    assert (await operator.post(f"/api/alarms/{s.alarm.id}/accept")).status_code == 200
    before = await _count(session, AlarmEvent, AlarmEvent.alarm_id == s.alarm.id)
    _refused(await operator.post(f"/api/alarms/{s.alarm.id}/notes", json={"text": "fell in\x00 hall"}))
    assert await _count(session, AlarmEvent, AlarmEvent.alarm_id == s.alarm.id) == before
    await session.refresh(s.alarm)
    assert s.alarm.status == "accepted"  # the refused note did not move it to in_progress


@pytest.mark.parametrize("ident", [2**63, 10**30, -(2**63) - 1])
async def test_id_beyond_bigint_is_404_or_422_not_a_server_error(client, ident):
    response = await client.get(f"/api/customers/{ident}")
    assert response.status_code in (404, 422), response.text
    assert set(response.json()) >= {"error", "detail"}


async def test_an_unexpected_failure_is_a_500_in_the_same_error_shape(app):
    @app.get("/test-boom")
    async def boom():
        raise RuntimeError("boom")

    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        response = await c.get("/test-boom")
    assert response.status_code == 500
    assert response.json() == {"error": "internal", "detail": "unexpected server error; it has been logged"}

"""A double click must not call the same person out twice."""

from __future__ import annotations

import asyncio

from sqlalchemy import func, select

from arc.dispatch.models import ResponseTask
from tests.arc.alarms.helpers import scene


async def test_sending_the_same_responder_twice_is_409_and_one_request_goes_out(client_as, session, clock):
    s = await scene(session, clock)
    operator = await client_as("operator")
    await operator.post(f"/api/alarms/{s.alarm.id}/accept")
    body = {"kind": "responder", "responder_id": s.responders[0].id}

    first, second = await asyncio.gather(
        operator.post(f"/api/alarms/{s.alarm.id}/dispatch", json=body),
        operator.post(f"/api/alarms/{s.alarm.id}/dispatch", json=body),
    )

    assert sorted([first.status_code, second.status_code]) == [201, 409]
    refused = first if first.status_code == 409 else second
    assert refused.json()["error"] == "already_dispatched"
    count = select(func.count()).select_from(ResponseTask).where(ResponseTask.alarm_id == s.alarm.id)
    assert await session.scalar(count) == 1


async def test_after_a_decline_the_same_responder_may_be_asked_again(client_as, session, clock):
    s = await scene(session, clock)
    operator = await client_as("operator")
    await operator.post(f"/api/alarms/{s.alarm.id}/accept")
    body = {"kind": "responder", "responder_id": s.responders[0].id}
    task = (await operator.post(f"/api/alarms/{s.alarm.id}/dispatch", json=body)).json()
    assert (
        await operator.post(f"/api/tasks/{task['id']}/status", json={"status": "declined"})
    ).status_code == 200

    again = await operator.post(f"/api/alarms/{s.alarm.id}/dispatch", json=body)

    assert again.status_code == 201, again.text


async def test_a_second_999_call_to_another_service_is_allowed(client_as, session, clock):
    s = await scene(session, clock)
    operator = await client_as("operator")
    await operator.post(f"/api/alarms/{s.alarm.id}/accept")
    url = f"/api/alarms/{s.alarm.id}/dispatch"
    assert (await operator.post(url, json={"kind": "emergency", "service": "ambulance"})).status_code == 201
    assert (await operator.post(url, json={"kind": "emergency", "service": "ambulance"})).status_code == 409
    assert (await operator.post(url, json={"kind": "emergency", "service": "fire"})).status_code == 201

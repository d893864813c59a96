"""A request nobody accepts in time escalates to the next in the plan, and the operator is told."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from sqlalchemy import select

from arc.alarms.events import LiveEvent
from arc.alarms.models import AlarmEvent
from arc.dispatch.escalation import escalation_job, run_escalations
from arc.dispatch.models import ResponseTask
from arc.jobs import run_jobs_now
from arc.kit.db import make_sessionmaker
from tests.arc.alarms.helpers import event_types, fresh, scene
from tests.factories import create_user

WEEKDAY_DAYTIME = [{"days": [0, 1, 2, 3, 4], "start": "09:00", "end": "17:00"}]


async def _tasks(session, alarm_id: int) -> list[tuple[str, int | None, int | None, str]]:
    rows = await session.scalars(
        select(ResponseTask)
        .where(ResponseTask.alarm_id == alarm_id)
        .order_by(ResponseTask.id)
        .execution_options(populate_existing=True)
    )
    return [(t.kind, t.responder_id, t.ers_user_id, t.status) for t in rows]


async def _accepted_scene(session, clock, client_as, **kw):
    """Rita (available), Sam (weekday daytimes only; it is Sunday noon), Tom (available); Erin on ERS."""
    s = await scene(session, clock, responders=3, **kw)
    s.responders[1].availability = WEEKDAY_DAYTIME
    erin = await create_user(session, role="ers", full_name="Erin ERS")
    await session.commit()
    operator = await client_as("operator")
    await operator.post(f"/api/alarms/{s.alarm.id}/accept")
    return s, erin, operator


async def test_unaccepted_requests_walk_the_plan_responders_then_ers_then_999(
    app, client_as, session, clock, settings
):
    s, erin, operator = await _accepted_scene(session, clock, client_as)
    rita, _sam, tom = s.responders
    first = await operator.post(
        f"/api/alarms/{s.alarm.id}/dispatch", json={"kind": "responder", "responder_id": rita.id}
    )
    assert first.status_code == 201

    clock.advance(seconds=299)
    assert await run_escalations(session, clock.now(), settings=settings) == 0
    await session.commit()

    clock.advance(seconds=1)  # Rita's 5 minutes are up
    await run_jobs_now(app)  # (Rita's request has gone out and been recorded)
    last_live = await session.scalar(select(LiveEvent.id).order_by(LiveEvent.id.desc()).limit(1))
    assert await run_escalations(session, clock.now(), settings=settings) == 1
    await session.commit()
    assert await _tasks(session, s.alarm.id) == [
        ("responder", rita.id, None, "escalated"),
        ("responder", tom.id, None, "requested"),  # Sam is not available on a Sunday
    ]
    told = list(
        await session.scalars(select(LiveEvent).where(LiveEvent.id > last_live).order_by(LiveEvent.id))
    )
    assert [(e.kind, e.payload.get("status")) for e in told] == [
        ("task.updated", "escalated"),
        ("task.updated", "requested"),
        ("alarm.updated", "dispatched"),
    ]
    assert told[1].payload["escalate_at"] == (clock.now() + timedelta(seconds=300)).isoformat()
    assert (await run_escalations(session, clock.now(), settings=settings)) == 0  # once only

    clock.advance(seconds=300)
    assert await run_escalations(session, clock.now(), settings=settings) == 1
    await session.commit()
    assert (await _tasks(session, s.alarm.id))[-1] == ("ers", None, erin.id, "requested")

    clock.advance(seconds=599)
    assert await run_escalations(session, clock.now(), settings=settings) == 0
    clock.advance(seconds=1)  # ERS gets 10 minutes
    assert await run_escalations(session, clock.now(), settings=settings) == 1
    await session.commit()
    emergency = (await session.scalars(select(ResponseTask).where(ResponseTask.kind == "emergency"))).one()
    assert (emergency.status, emergency.service, emergency.escalate_at) == ("requested", "ambulance", None)

    clock.advance(hours=2)  # 999 is the end of the plan: nothing further escalates
    assert await run_escalations(session, clock.now(), settings=settings) == 0
    types = await event_types(session, s.alarm.id)
    assert types.count("escalated") == 3
    escalations = (
        await session.scalars(
            select(AlarmEvent).where(AlarmEvent.alarm_id == s.alarm.id, AlarmEvent.type == "escalated")
        )
    ).all()
    assert [e.data["not_accepted_after_s"] for e in escalations] == [300, 300, 600]


async def test_smoke_alarm_plan_ends_with_the_fire_service(client_as, session, clock, settings):
    s = await scene(session, clock, responders=1, dty="0023", priority=10, title="Smoke")
    operator = await client_as("operator")
    await operator.post(f"/api/alarms/{s.alarm.id}/accept")
    await operator.post(
        f"/api/alarms/{s.alarm.id}/dispatch", json={"kind": "responder", "responder_id": s.responders[0].id}
    )
    clock.advance(minutes=5)
    assert await run_escalations(session, clock.now(), settings=settings) == 1  # nobody on ERS duty: 999
    await session.commit()
    assert (await _tasks(session, s.alarm.id))[-1] == ("emergency", None, None, "requested")
    emergency = (await session.scalars(select(ResponseTask).where(ResponseTask.kind == "emergency"))).one()
    assert emergency.service == "fire"


async def test_a_request_accepted_in_time_does_not_escalate(client_as, session, clock, settings):
    s, _erin, operator = await _accepted_scene(session, clock, client_as)
    task = (
        await operator.post(
            f"/api/alarms/{s.alarm.id}/dispatch",
            json={"kind": "responder", "responder_id": s.responders[0].id},
        )
    ).json()
    clock.advance(seconds=200)
    await operator.post(f"/api/tasks/{task['id']}/status", json={"status": "accepted"})
    clock.advance(seconds=200)
    assert await run_escalations(session, clock.now(), settings=settings) == 0
    assert await _tasks(session, s.alarm.id) == [("responder", s.responders[0].id, None, "accepted")]


async def test_a_declined_request_goes_straight_to_the_next_in_the_plan(client_as, session, clock):
    s, _erin, operator = await _accepted_scene(session, clock, client_as)
    rita, _sam, tom = s.responders
    task = (
        await operator.post(
            f"/api/alarms/{s.alarm.id}/dispatch", json={"kind": "responder", "responder_id": rita.id}
        )
    ).json()
    declined = await operator.post(
        f"/api/tasks/{task['id']}/status", json={"status": "declined", "note": "Away"}
    )
    assert declined.status_code == 200
    assert await _tasks(session, s.alarm.id) == [
        ("responder", rita.id, None, "declined"),
        ("responder", tom.id, None, "requested"),
    ]


async def test_help_that_turns_up_late_is_still_recorded(client_as, session, clock, settings):
    s, _erin, operator = await _accepted_scene(session, clock, client_as)
    rita = s.responders[0]
    task = (
        await operator.post(
            f"/api/alarms/{s.alarm.id}/dispatch", json={"kind": "responder", "responder_id": rita.id}
        )
    ).json()
    clock.advance(minutes=6)
    await run_escalations(session, clock.now(), settings=settings)
    await session.commit()
    late = await operator.post(f"/api/tasks/{task['id']}/status", json={"status": "arrived"})
    assert late.status_code == 200
    body = late.json()
    assert (body["status"], body["accepted_at"], body["arrived_at"]) == (
        "arrived",
        clock.now().isoformat(),
        clock.now().isoformat(),
    )


async def test_closing_the_alarm_stops_its_escalation(client_as, session, clock, settings):
    s, _erin, operator = await _accepted_scene(session, clock, client_as)
    await operator.post(
        f"/api/alarms/{s.alarm.id}/dispatch", json={"kind": "responder", "responder_id": s.responders[0].id}
    )
    await operator.post(f"/api/alarms/{s.alarm.id}/close", json={"outcome_code": "assistance_by_phone"})
    clock.advance(hours=1)
    assert await run_escalations(session, clock.now(), settings=settings) == 0
    assert await _tasks(session, s.alarm.id) == [("responder", s.responders[0].id, None, "cancelled")]


async def test_two_schedulers_sweeping_at_once_escalate_each_task_once(
    client_as, session, clock, settings, db
):
    s, _erin, operator = await _accepted_scene(session, clock, client_as)
    await operator.post(
        f"/api/alarms/{s.alarm.id}/dispatch", json={"kind": "responder", "responder_id": s.responders[0].id}
    )
    clock.advance(minutes=6)
    maker = make_sessionmaker(db)

    async def sweep() -> int:
        async with maker() as own:
            done = await run_escalations(own, clock.now(), settings=settings)
            await own.commit()
            return done

    results = await asyncio.gather(sweep(), sweep(), sweep())
    assert sum(results) == 1
    assert [t[3] for t in await _tasks(session, s.alarm.id)] == ["escalated", "requested"]


async def test_the_scheduler_job_runs_the_sweep_on_the_app(app, client_as, session, clock):
    from arc.jobs import JOBS

    assert JOBS["escalations"].seconds(app.state.settings) == 5
    s, _erin, operator = await _accepted_scene(session, clock, client_as)
    task = (
        await operator.post(
            f"/api/alarms/{s.alarm.id}/dispatch",
            json={"kind": "responder", "responder_id": s.responders[0].id},
        )
    ).json()
    clock.advance(minutes=5)
    await escalation_job(app)
    assert (await fresh(session, ResponseTask, task["id"])).status == "escalated"

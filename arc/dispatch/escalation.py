"""The escalation sweep: a request nobody accepted in time gives way to the next in the plan.

``run_escalations(session, now)`` is a plain function (the scheduler calls it
every few seconds through ``escalation_job``; tests call it with a FrozenClock's
time). It is safe to run in several processes at once: each due task is taken
with ``FOR UPDATE SKIP LOCKED`` on its alarm and re-checked under the lock, so a
task escalates once. Each task escalates in its own savepoint: one bad row is
logged and skipped, never fatal to the sweep.
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from arc.alarms import service as alarms
from arc.alarms.models import Alarm
from arc.dispatch.models import ResponseTask
from arc.dispatch.notifier import LogNotifier, Notifier, app_notifier
from arc.dispatch.service import DispatchContext, escalate_if_uncovered
from arc.dispatch.views import emit_task
from arc.kit.clock import Clock
from arc.kit.db import _KEY as AFTER_COMMIT_KEY
from arc.kit.db import session_scope

log = logging.getLogger(__name__)



async def run_escalations(
    session: AsyncSession,
    now: datetime,
    *,
    settings=None,
    notifier: Notifier | None = None,
    clock: Clock | None = None,
    limit: int = 200,
) -> int:
    """Escalate every ``requested`` task whose ``escalate_at`` has passed; return how many did."""
    if settings is None:
        from arc.kit.settings import get_settings

        settings = get_settings()
    ctx = DispatchContext(settings=settings, notifier=notifier or LogNotifier(), clock=clock or Clock())
    due = (
        await session.execute(
            select(ResponseTask.id, ResponseTask.alarm_id)
            .where(ResponseTask.status == "requested", ResponseTask.escalate_at <= now)
            .order_by(ResponseTask.escalate_at, ResponseTask.id)
            .limit(limit)
        )
    ).all()
    escalated = 0
    for task_id, alarm_id in due:
        effects_before = len(session.info.get(AFTER_COMMIT_KEY, []))
        try:
            async with session.begin_nested():
                if await _escalate_one(session, task_id, alarm_id, ctx, now):
                    escalated += 1
        except Exception:
            # drop notifications queued by the rolled-back savepoint, keep the rest of the sweep
            del session.info.get(AFTER_COMMIT_KEY, [])[effects_before:]
            log.exception("escalating task %s failed; will retry on the next sweep", task_id)
    return escalated


async def _escalate_one(
    session: AsyncSession, task_id: int, alarm_id: int, ctx: DispatchContext, now: datetime
) -> bool:
    alarm = await session.scalar(
        select(Alarm)
        .where(Alarm.id == alarm_id)
        .with_for_update(skip_locked=True)
        .execution_options(populate_existing=True)
    )
    if alarm is None:  # another process (or an operator) holds it right now: next sweep
        return False
    task = await session.scalar(
        select(ResponseTask)
        .where(ResponseTask.id == task_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if task is None or task.status != "requested" or task.escalate_at is None or task.escalate_at > now:
        return False  # accepted, declined or cancelled meanwhile
    task.status = "escalated"
    task.ended_at = now
    await session.flush()
    waited = (now - task.requested_at).total_seconds()
    await alarms.record_event(
        session,
        alarm.id,
        "escalated",
        now,
        data={"task_id": task.id, "kind": task.kind, "not_accepted_after_s": round(waited)},
    )
    await emit_task(session, task)
    if alarm.status != "closed":
        await escalate_if_uncovered(session, alarm, ctx, now, reason=f"task {task.id} not accepted in time")
    await alarms.emit_alarm(session, alarm)
    log.info("task %s of alarm %s escalated after %d s", task.id, alarm.id, waited)
    return True


async def escalation_job(app) -> None:
    """One sweep, run by the scheduler leader (listed in ``arc/jobs.py``)."""
    state = app.state
    async with session_scope(state.sessionmaker) as session:
        await run_escalations(
            session, state.clock.now(), settings=state.settings, notifier=app_notifier(app), clock=state.clock
        )

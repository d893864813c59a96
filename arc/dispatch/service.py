"""Dispatching responders and recording their replies.

``request_task`` is the one place a task is created (by an operator's dispatch or
by escalation): it stamps ``escalate_at`` from the per-kind setting, writes the
alarm event, enqueues the notification as a durable job (``arc/dispatch/tasks.py``) in the
same transaction and emits ``task.updated``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from arc.alarms import service as alarms
from arc.alarms.models import Alarm
from arc.auth.models import User
from arc.dispatch import states
from arc.dispatch.models import ResponseTask
from arc.dispatch.notifier import Notifier
from arc.dispatch.plan import Step, next_step, pick_ers_user
from arc.dispatch.tasks import queue_delivery
from arc.dispatch.views import emit_task
from arc.kit.clock import Clock
from arc.kit.errors import Conflict, ErrorCode, NotFound, Unprocessable
from arc.registry.models import Responder

log = logging.getLogger(__name__)


@dataclass
class DispatchContext:
    """What creating a task needs besides the session: settings, notifier, clock."""

    settings: object
    notifier: Notifier
    clock: Clock

    def timeout(self, kind: str) -> timedelta | None:
        seconds = {
            "responder": self.settings.escalate_responder_after_seconds,
            "ers": self.settings.escalate_ers_after_seconds,
        }.get(kind)
        return timedelta(seconds=seconds) if seconds else None


async def _check_target(session: AsyncSession, alarm: Alarm, step: Step) -> None:
    """422 (nothing written) unless the target exists and belongs to this alarm's plan."""
    if step.kind == "responder":
        responder = await session.get(Responder, step.responder_id) if step.responder_id else None
        if responder is None or responder.customer_id != alarm.customer_id:
            raise Unprocessable(
                "responder_id must be one of this customer's responders", field="responder_id"
            )
    elif step.kind == "ers":
        user = await session.get(User, step.ers_user_id) if step.ers_user_id else None
        if user is None or user.role != "ers" or not user.is_active:
            raise Unprocessable("ers_user_id must be an active ERS responder", field="ers_user_id")
    elif step.service not in ("ambulance", "fire", "police"):
        raise Unprocessable("service must be ambulance, fire or police", field="service")


async def request_task(
    session: AsyncSession,
    alarm: Alarm,
    step: Step,
    ctx: DispatchContext,
    now: datetime,
    *,
    user: User | None = None,
    reference: str | None = None,
    note: str | None = None,
    reason: str | None = None,
    announce: bool = True,
) -> ResponseTask:
    """Create a task for ``step`` on a locked alarm and ask the responder (after commit).

    Emits ``task.updated``, and ``alarm.updated`` if the alarm moved on (unless ``announce`` is
    False because the caller sends one ``alarm.updated`` for all it did)."""
    await _check_target(session, alarm, step)
    timeout = ctx.timeout(step.kind)
    # a 999 call the operator has already placed (reference given) has been taken by the service
    placed = step.kind == "emergency" and bool(reference)
    task = ResponseTask(
        alarm_id=alarm.id,
        kind=step.kind,
        responder_id=step.responder_id,
        ers_user_id=step.ers_user_id,
        service=step.service,
        reference=reference,
        status="accepted" if placed else "requested",
        requested_by_id=user.id if user else None,
        requested_at=now,
        accepted_at=now if placed else None,
        escalate_at=now + timeout if timeout else None,
        note=note,
    )
    session.add(task)
    await session.flush()
    data = {"task_id": task.id, "kind": step.kind, "service": step.service, "reference": reference}
    if reason:
        data["reason"] = reason
    await alarms.record_event(session, alarm.id, "task_requested", now, user=user, data=data)
    moved = await alarms.advance(session, alarm, "dispatched", now, user=user)
    if step.kind in ("responder", "ers"):
        await queue_delivery(session, ctx.notifier.channel, task, ctx.clock.now())
    await emit_task(session, task)
    if moved and announce:
        await alarms.emit_alarm(session, alarm)
    log.info("task %s (%s) requested for alarm %s", task.id, step.kind, alarm.id)
    return task


async def dispatch(
    session: AsyncSession, alarm_id: int, user: User, body, ctx: DispatchContext, now: datetime
) -> ResponseTask:
    """An operator sends someone. ERS without a named responder goes to the least busy one."""
    if body.kind == "responder" and body.responder_id is None:
        raise Unprocessable("responder_id is required to dispatch a responder", field="responder_id")
    if body.kind == "emergency" and body.service is None:
        raise Unprocessable("service is required for an emergency dispatch", field="service")
    alarm = await alarms.held_alarm(session, alarm_id, user)
    ers_user_id = body.ers_user_id
    if body.kind == "ers" and ers_user_id is None:
        ers_user_id = await pick_ers_user(session)
        if ers_user_id is None:
            raise Unprocessable("no ERS responder is available", field="ers_user_id")
    step = Step(
        body.kind,
        responder_id=body.responder_id if body.kind == "responder" else None,
        ers_user_id=ers_user_id if body.kind == "ers" else None,
        service=body.service if body.kind == "emergency" else None,
    )
    await _refuse_second_call_out(session, alarm, step)
    return await request_task(
        session, alarm, step, ctx, now, user=user, reference=body.reference, note=body.note
    )


async def _refuse_second_call_out(session: AsyncSession, alarm: Alarm, step: Step) -> None:
    """A double click must not send the same person (or service) twice: 409 while the first
    request is still open. Safe against races: the caller holds the alarm's row lock."""
    same = select(ResponseTask.id).where(
        ResponseTask.alarm_id == alarm.id,
        ResponseTask.kind == step.kind,
        ResponseTask.status.in_(states.OPEN),
    )
    if step.kind == "responder":
        same = same.where(ResponseTask.responder_id == step.responder_id)
    elif step.kind == "ers":
        same = same.where(ResponseTask.ers_user_id == step.ers_user_id)
    else:
        same = same.where(ResponseTask.service == step.service)
    task_id = await session.scalar(same.limit(1))
    if task_id is not None:
        raise Conflict(
            f"already dispatched: task {task_id} is still open for this {step.kind}",
            code=ErrorCode.ALREADY_DISPATCHED,
            task_id=task_id,
        )


async def _locked_task(
    session: AsyncSession, task_id: int, user: User, *, own_jobs_only: bool
) -> tuple[Alarm, ResponseTask]:
    """Lock the alarm, then the task. An operator must hold the alarm (or supervise), as for
    dispatch; an ERS responder may touch only their own job; nobody changes a closed alarm's."""
    task = await session.get(ResponseTask, task_id)
    if task is None or (own_jobs_only and task.ers_user_id != user.id):
        raise NotFound(f"task {task_id} not found")
    if own_jobs_only:
        alarm = await alarms.get_alarm(session, task.alarm_id, lock=True)  # alarm first, then task
        if alarm.status == "closed":
            raise Conflict(f"alarm {alarm.id} is closed", code=ErrorCode.CLOSED)
    else:
        alarm = await alarms.held_alarm(session, task.alarm_id, user)
    task = await session.scalar(
        select(ResponseTask)
        .where(ResponseTask.id == task_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return alarm, task


def _stamp(task: ResponseTask, status: str, now: datetime) -> None:
    """Set the time of ``status`` and of any main-line step it skipped (arrived implies accepted)."""
    if status in states.MAIN_LINE:
        reached = states.MAIN_LINE[1 : states.MAIN_LINE.index(status) + 1]
    else:
        reached = (status,)
    for step in reached:
        column = states.STAMPS[step]
        if getattr(task, column) is None:
            setattr(task, column, now)


async def update_status(
    session: AsyncSession,
    task_id: int,
    status: str,
    user: User,
    ctx: DispatchContext,
    now: datetime,
    *,
    note: str | None = None,
    reference: str | None = None,
    own_jobs_only: bool = False,
) -> ResponseTask:
    """Record a responder's reply (operator) or an ERS responder's own progress."""
    alarm, task = await _locked_task(session, task_id, user, own_jobs_only=own_jobs_only)
    if task.status == status and not note and not reference:
        return task  # a repeated tap changes nothing
    if task.status != status:
        states.check(task.status, status)
        previous, task.status = task.status, status
        _stamp(task, status, now)
    else:
        previous = status
    if note:
        task.note = note
    if reference:
        task.reference = reference
    await session.flush()
    await alarms.record_event(
        session,
        alarm.id,
        "task_status",
        now,
        user=user,
        data={"task_id": task.id, "kind": task.kind, "from": previous, "status": status, "note": note},
    )
    await emit_task(session, task)
    if alarm.status != "closed":
        changed = False
        if status in ("arrived", "done"):
            changed = await alarms.advance(
                session, alarm, "on_scene", now, user=user, data={"task_id": task.id}
            )
        if status in ("declined", "no_answer"):
            await escalate_if_uncovered(session, alarm, ctx, now, reason=f"task {task.id} {status}")
            changed = True  # tell the operator: someone said no
        if changed:
            await alarms.emit_alarm(session, alarm)
    return task


async def escalate_if_uncovered(
    session: AsyncSession, alarm: Alarm, ctx: DispatchContext, now: datetime, *, reason: str
) -> ResponseTask | None:
    """Ask the next in the plan unless someone else is already asked, on the way, or there."""
    covered = await session.scalar(
        select(ResponseTask.id)
        .where(ResponseTask.alarm_id == alarm.id, ResponseTask.status.in_((*states.OPEN, "done")))
        .limit(1)
    )
    if covered is not None:
        return None
    step = await next_step(session, alarm, now, ctx.settings.zone)
    if step is None:
        await alarms.record_event(session, alarm.id, "plan_exhausted", now, data={"reason": reason})
        return None
    return await request_task(session, alarm, step, ctx, now, reason=reason, announce=False)


async def cancel_open_requests(session: AsyncSession, alarm: Alarm, now: datetime) -> dict:
    """Closing hook: requests nobody took up are cancelled with the alarm (its row is locked
    by the caller: alarm first, then its tasks)."""
    pending = list(
        await session.scalars(
            select(ResponseTask)
            .where(ResponseTask.alarm_id == alarm.id, ResponseTask.status == "requested")
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    )
    for task in pending:
        task.status = "cancelled"
        task.ended_at = now
    await session.flush()
    for task in pending:
        await emit_task(session, task)
    return {"cancelled_tasks": [task.id for task in pending]}

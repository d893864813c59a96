"""Telling a responder, durably: the notification is a job written with the dispatch.

``queue_delivery`` runs inside the dispatching transaction: it writes the first
``DeliveryAttempt`` (``pending``) and the job, so a process that dies after COMMIT cannot leave
a request unsent — another worker picks the job up. ``deliver`` is the job: it re-reads the
task (a request cancelled, escalated or answered meanwhile is ``skipped``, never sent late),
sends outside any transaction, records the outcome, and raises on failure so the queue retries
with backoff (2, 4, 8, 16 s). Each try is its own ``DeliveryAttempt`` row; after the last one
the alarm's log says the gateway gave up, and the job stays in the dead-letter list.
Delivery is at least once: a crash between the gateway's answer and its record sends again.
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from arc.alarms.models import Alarm
from arc.alarms.write import record as record_event
from arc.auth.models import User
from arc.dispatch.models import DeliveryAttempt, ResponseTask
from arc.dispatch.notifier import Delivery, DeliveryResult, app_notifier
from arc.dispatch.views import emit_task
from arc.kit.db import session_scope
from arc.kit.jobs import TaskSpec, enqueue
from arc.registry.models import Customer, Responder

log = logging.getLogger(__name__)


class DeliveryFailed(Exception):
    """The gateway did not take the request; the job queue tries again."""


def _message(customer: Customer | None, alarm: Alarm) -> str:
    where = f"{customer.address_line1}, {customer.postcode}" if customer else "address unknown"
    who = f"{customer.given_name} {customer.family_name}" if customer else "a Lifeline customer"
    return f"Lifeline alarm: {who} at {where} needs help ({alarm.title}). Please reply to the ARC."


async def delivery_for(session: AsyncSession, task: ResponseTask) -> Delivery:
    """What the gateway needs, read at send time (names and numbers never go on the job row)."""
    alarm = await session.get(Alarm, task.alarm_id)
    customer = await session.get(Customer, alarm.customer_id) if alarm and alarm.customer_id else None
    name = phone = None
    if task.responder_id:
        responder = await session.get(Responder, task.responder_id)
        name, phone = responder.name, responder.phone_primary
    elif task.ers_user_id:
        ers_user = await session.get(User, task.ers_user_id)
        name = ers_user.full_name
    return Delivery(
        task_id=task.id,
        alarm_id=task.alarm_id,
        kind=task.kind,
        to_name=name,
        to_phone=phone,
        message=_message(customer, alarm),
        extra={"ers_user_id": task.ers_user_id} if task.ers_user_id else {},
    )


async def queue_delivery(session: AsyncSession, channel: str, task: ResponseTask, now: datetime) -> DeliveryAttempt:
    """In the dispatching transaction: the first (pending) attempt and its durable job."""
    attempt = DeliveryAttempt(task_id=task.id, channel=channel, at=now, outcome="pending", attempt=1)
    session.add(attempt)
    await session.flush()
    attempt.job_id = await enqueue(session, DELIVER, task_id=task.id, attempt_id=attempt.id)
    return attempt


async def _this_try(session: AsyncSession, first: DeliveryAttempt, channel: str, now: datetime):
    """The pending row written with the dispatch on the first run; a new row on each retry."""
    if first.outcome == "pending":
        return first
    tries = await session.scalar(
        select(func.max(DeliveryAttempt.attempt)).where(
            DeliveryAttempt.task_id == first.task_id, DeliveryAttempt.job_id == first.job_id
        )
    )
    attempt = DeliveryAttempt(
        task_id=first.task_id, channel=channel, at=now, outcome="pending", job_id=first.job_id, attempt=tries + 1
    )
    session.add(attempt)
    await session.flush()
    return attempt


async def deliver(app, *, task_id: int, attempt_id: int) -> None:
    """The job: one try at telling the responder about ``task_id``."""
    state = app.state
    notifier = app_notifier(app)
    async with session_scope(state.sessionmaker) as session:
        task = await session.get(ResponseTask, task_id)
        first = await session.get(DeliveryAttempt, attempt_id)
        if task is None or first is None:
            return  # erased meanwhile: nothing to send
        attempt = await _this_try(session, first, notifier.channel, state.clock.now())
        attempt_id, number = attempt.id, attempt.attempt
        if task.status != "requested":
            attempt.outcome, attempt.finished_at = "skipped", state.clock.now()
            attempt.detail = f"not sent: the request is {task.status}"
            return
        delivery = await delivery_for(session, task)
    try:
        result = await notifier.send(delivery)
    except Exception as exc:  # a broken notifier is a failed delivery, not a crash
        log.exception("notifier %s raised for task %s", notifier.channel, task_id)
        result = DeliveryResult(ok=False, detail=type(exc).__name__[:500])
    last = number >= DELIVER.max_attempts
    async with session_scope(state.sessionmaker) as session:
        await _record(session, task_id, attempt_id, number, result, state.clock.now(), last=last)
    if not result.ok:
        raise DeliveryFailed(f"delivery {attempt_id} for task {task_id}: {result.detail}")


async def _record(
    session: AsyncSession, task_id: int, attempt_id: int, number: int, result: DeliveryResult, now, *, last: bool
) -> None:
    attempt = await session.get(DeliveryAttempt, attempt_id)
    attempt.outcome = "sent" if result.ok else "failed"
    attempt.finished_at, attempt.status_code, attempt.detail = now, result.status_code, result.detail
    task = await session.get(ResponseTask, task_id)
    if not result.ok:
        log.warning("delivery %s (try %s) for task %s failed: %s", attempt_id, number, task_id, result.detail)
        data = {"task_id": task_id, "attempt_id": attempt_id, "attempt": number}
        data |= {"status_code": result.status_code, "detail": result.detail, "retrying": not last}
        await record_event(session, task.alarm_id, "delivery_failed", now, data=data)
        if last:
            await record_event(session, task.alarm_id, "delivery_gave_up", now, data={"task_id": task_id})
    await emit_task(session, task)


DELIVER = TaskSpec("dispatch.deliver", deliver, max_attempts=5, wait_base_s=2.0)

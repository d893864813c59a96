"""The one JSON shape of a response task (queue, card, ERS page, live stream)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from arc.alarms.events import emit
from arc.auth.models import User
from arc.dispatch.models import DeliveryAttempt, ResponseTask
from arc.registry.models import Responder

OPEN_STATUSES = ("requested", "accepted", "en_route", "arrived")


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def delivery_view(attempt: DeliveryAttempt) -> dict:
    return {
        "at": _iso(attempt.at),
        "channel": attempt.channel,
        "outcome": attempt.outcome,
        "status_code": attempt.status_code,
        "detail": attempt.detail,
    }


def task_view(
    task: ResponseTask,
    *,
    responder_name: str | None = None,
    ers_user_name: str | None = None,
    deliveries: list[DeliveryAttempt] | None = None,
) -> dict:
    return {
        "id": task.id,
        "alarm_id": task.alarm_id,
        "kind": task.kind,
        "responder_id": task.responder_id,
        # who was asked: the nominated responder, or the ERS responder for an ERS task
        "responder_name": responder_name if task.kind == "responder" else ers_user_name,
        "ers_user_id": task.ers_user_id,
        "service": task.service,
        "reference": task.reference,
        "status": task.status,
        "requested_at": _iso(task.requested_at),
        "accepted_at": _iso(task.accepted_at),
        "en_route_at": _iso(task.en_route_at),
        "arrived_at": _iso(task.arrived_at),
        "done_at": _iso(task.done_at),
        "ended_at": _iso(task.ended_at),
        "escalate_at": _iso(task.escalate_at),
        "note": task.note,
        "deliveries": [delivery_view(d) for d in deliveries or []],
    }


async def task_views(session: AsyncSession, tasks: list[ResponseTask]) -> list[dict]:
    """Views of several tasks with their names and delivery attempts, in three queries."""
    if not tasks:
        return []
    responder_ids = {t.responder_id for t in tasks if t.responder_id}
    user_ids = {t.ers_user_id for t in tasks if t.ers_user_id}
    responders = (
        dict(
            (
                await session.execute(
                    select(Responder.id, Responder.name).where(Responder.id.in_(responder_ids))
                )
            ).all()
        )
        if responder_ids
        else {}
    )
    users = (
        dict((await session.execute(select(User.id, User.full_name).where(User.id.in_(user_ids)))).all())
        if user_ids
        else {}
    )
    attempts: dict[int, list[DeliveryAttempt]] = {}
    rows = await session.scalars(
        select(DeliveryAttempt)
        .where(DeliveryAttempt.task_id.in_([t.id for t in tasks]))
        .order_by(DeliveryAttempt.id)
        .execution_options(populate_existing=True)
    )
    for attempt in rows:
        attempts.setdefault(attempt.task_id, []).append(attempt)
    return [
        task_view(
            t,
            responder_name=responders.get(t.responder_id),
            ers_user_name=users.get(t.ers_user_id),
            deliveries=attempts.get(t.id),
        )
        for t in tasks
    ]


async def one_task_view(session: AsyncSession, task: ResponseTask) -> dict:
    return (await task_views(session, [task]))[0]


async def alarm_tasks(session: AsyncSession, alarm_id: int) -> list[ResponseTask]:
    return list(
        await session.scalars(
            select(ResponseTask)
            .where(ResponseTask.alarm_id == alarm_id)
            .order_by(ResponseTask.id)
            .execution_options(populate_existing=True)
        )
    )


async def emit_task(session: AsyncSession, task: ResponseTask) -> dict:
    """Tell dashboards about a task change (``task.updated``), delivered on COMMIT."""
    payload = await one_task_view(session, task)
    await emit(session, "task.updated", payload, alarm_id=task.alarm_id)
    return payload

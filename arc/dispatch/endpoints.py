"""Task replies (operators) and the ERS responder's own jobs."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Request, status
from pydantic import BaseModel, ConfigDict, Field, StringConstraints
from sqlalchemy import or_, select

from arc.alarms.keysafe import read_key_safe
from arc.alarms.models import Alarm
from arc.alarms.views import alarm_summary
from arc.audit.service import ViewId, record, seen_in_view
from arc.auth.deps import Operator, require_roles
from arc.auth.models import User
from arc.dispatch import service
from arc.dispatch.dial import router as dial_router
from arc.dispatch.models import ResponseTask
from arc.dispatch.notifier import app_notifier
from arc.dispatch.schemas import ErsJobOut, ErsJobs, TaskOut
from arc.dispatch.states import OPEN
from arc.dispatch.views import one_task_view, task_views
from arc.kit.db import Session
from arc.kit.openapi import error_responses
from arc.registry.models import Customer

router = APIRouter(tags=["dispatch"])
CLOSED_JOB_SHOWN = timedelta(hours=2)

ErsUser = Annotated[User, Depends(require_roles("ers"))]
Note = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=10_000)]
Reference = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]


class TaskStatusIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    status: Literal["accepted", "declined", "no_answer", "en_route", "arrived", "done", "cancelled"]
    note: Note | None = None
    reference: Reference | None = None  # the 999 call reference, once the operator has it


class DispatchIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: Literal["responder", "ers", "emergency"]
    responder_id: int | None = Field(default=None, ge=1)
    ers_user_id: int | None = Field(default=None, ge=1)
    service: Literal["ambulance", "fire", "police"] | None = None
    reference: (
        Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)] | None
    ) = None
    note: Note | None = None


class ErsStatusIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    status: Literal["accepted", "en_route", "arrived", "done", "declined"]
    note: Note | None = None


def _context(request: Request) -> service.DispatchContext:
    state = request.app.state
    return service.DispatchContext(
        settings=state.settings, notifier=app_notifier(request.app), clock=state.clock
    )


async def _update_status(request: Request, session, user, task_id: int, body, **kw):
    """A responder's reply, recorded by an operator or by the ERS responder themselves."""
    ctx = _context(request)
    return await service.update_status(
        session, task_id, body.status, user, ctx, ctx.clock.now(), note=body.note, **kw
    )


@router.post(
    "/alarms/{alarm_id}/dispatch",
    status_code=status.HTTP_201_CREATED,
    summary="Send a responder",
    response_model=TaskOut,
    responses=error_responses(409),
)
async def dispatch(
    request: Request, session: Session, user: Operator, alarm_id: int, body: DispatchIn
) -> dict:
    task = await service.dispatch(
        session, alarm_id, user, body, _context(request), request.app.state.clock.now()
    )
    return await one_task_view(session, task)


@router.post(
    "/tasks/{task_id}/status",
    summary="Record a responder's reply",
    response_model=TaskOut,
    responses=error_responses(409),
)
async def task_status(
    request: Request, session: Session, user: Operator, task_id: int, body: TaskStatusIn
) -> dict:
    task = await _update_status(request, session, user, task_id, body, reference=body.reference)
    return await one_task_view(session, task)


async def _job(
    request: Request, session, user: User, task: ResponseTask, task_view: dict, view: str | None = None
) -> dict:
    """An ERS responder's view of a job: name and address once it is offered to them (open, alarm
    not closed), phone, key safe and the risks a responder walking in must know (lives alone,
    oxygen, a dog...) only once they accept it. Each showing is audited. The job of an alarm the
    ARC has closed says so and shows nothing about the person."""
    alarm = await session.get(Alarm, task.alarm_id)
    customer = await session.get(Customer, alarm.customer_id) if alarm.customer_id else None
    closed = alarm.status == "closed"
    offered = customer is not None and task.status in OPEN and not closed
    on_the_job = offered and task.status in ("accepted", "en_route", "arrived")
    key_safe = None
    now = request.app.state.clock.now()
    # once per page view and stage: accepting shows more (phone, key safe, risks), audited anew
    stage_view = f"{view}-{'on-job' if on_the_job else 'offered'}" if view else None
    if offered and not await seen_in_view(session, user, "ers_job", task.id, stage_view, now=now):
        shares_medical = on_the_job and customer.medical_notes_shareable and bool(customer.medical_notes)
        fields = ["name", "address", *(["phone", "key_safe", "risk_notes"] if on_the_job else [])]
        fields += ["medical_notes"] if shares_medical else []
        await record(
            session,
            actor=user,
            action="view",
            object_type="ers_job",
            object_id=task.id,
            customer_id=customer.id,
            request=request,
            detail={"fields": fields, **({"view": stage_view} if stage_view else {})},
        )
    if on_the_job:
        key_safe = await read_key_safe(
            session,
            customer,
            user,
            purpose=f"ERS task {task.id}",
            request=request,
            alarm_id=alarm.id,
            view=view,
        )
    return {
        **task_view,
        "alarm": alarm_summary(alarm, customer if offered else None),
        "alarm_closed": closed,
        "address": (
            {
                "name": f"{customer.given_name} {customer.family_name}",
                "address_line1": customer.address_line1,
                "address_line2": customer.address_line2,
                "town": customer.town,
                "postcode": customer.postcode,
                "phone_primary": customer.phone_primary if on_the_job else None,
            }
            if offered
            else None
        ),
        "key_safe": key_safe.value if key_safe else None,
        "key_safe_state": key_safe.state if key_safe else None,
        "risk_notes": customer.risk_notes if on_the_job else None,
        "medical_notes": (
            customer.medical_notes if on_the_job and customer.medical_notes_shareable else None
        ),
    }


@router.get("/ers/jobs", summary="My open jobs (ERS responder)", response_model=ErsJobs)
async def ers_jobs(request: Request, session: Session, user: ErsUser, view: ViewId = None) -> dict:
    # a job whose alarm the ARC has closed stays listed for a while, marked closed, then goes
    closed_since = request.app.state.clock.now() - CLOSED_JOB_SHOWN
    tasks = list(
        await session.scalars(
            select(ResponseTask)
            .join(Alarm, Alarm.id == ResponseTask.alarm_id)
            .where(
                ResponseTask.ers_user_id == user.id,
                ResponseTask.status.in_(OPEN),
                or_(Alarm.status != "closed", Alarm.closed_at >= closed_since),
            )
            .order_by(ResponseTask.requested_at, ResponseTask.id)
        )
    )
    views = await task_views(session, tasks)
    return {
        "items": [await _job(request, session, user, t, v, view) for t, v in zip(tasks, views, strict=True)]
    }


@router.post(
    "/ers/jobs/{task_id}/status",
    summary="Update my job (ERS responder)",
    response_model=ErsJobOut,
    responses=error_responses(409),
)
async def ers_job_status(
    request: Request, session: Session, user: ErsUser, task_id: int, body: ErsStatusIn
) -> dict:
    task = await _update_status(request, session, user, task_id, body, own_jobs_only=True)
    return await _job(request, session, user, task, await one_task_view(session, task))


router.include_router(dial_router)  # POST /alarms/{id}/dial (click-to-dial)

"""Alarm-handling API: queue, accept, notes, close, the key safe; outcome codes and call scripts.

The card (``arc/card.py``) and dispatching (``arc/dispatch/endpoints.py``) live above alarms."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request, Response, status
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from arc.alarms import outcomes, scripts, service
from arc.alarms.keysafe import router as keysafe_router
from arc.alarms.schemas import AlarmEventOut, AlarmQueue, AlarmSummary, OutcomeAdminOut, OutcomeOut, ScriptOut
from arc.audit.service import record as record_audit
from arc.auth.deps import Operator, Supervisor, require_roles
from arc.kit.db import Session
from arc.kit.openapi import error_responses

router = APIRouter(tags=["alarms"])
router.include_router(keysafe_router)

NoteText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=10_000)]
Label = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Code = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^[a-z][a-z0-9_]{0,31}$")]


class Input(BaseModel):
    model_config = ConfigDict(extra="forbid")


class NoteIn(Input):
    text: NoteText


class CloseIn(Input):
    outcome_code: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=32)]
    note: NoteText | None = None


class ReassignIn(Input):
    to_user_id: int | None = Field(
        default=None, ge=1, description="the operator to hold it; null releases it to the queue"
    )
    reason: Annotated[str, StringConstraints(strip_whitespace=True, max_length=500)] | None = None


class CallIn(Input):
    party: Literal["customer", "responder", "caller_id", "gp", "other"]
    result: Literal[service.CALL_RESULTS]
    responder_id: int | None = Field(default=None, ge=1)


class Holding(BaseModel):
    id: int
    title: str
    status: str
    priority: int
    accepted_at: str | None


class HandlerOut(BaseModel):
    id: int
    name: str
    role: str
    holding: list[Holding]


class HandlersOut(BaseModel):
    now: str
    items: list[HandlerOut]


class OutcomeIn(Input):
    code: Code
    label: Label
    position: int | None = Field(default=None, ge=0, le=10_000)


class OutcomeChange(Input):
    label: Label | None = None
    position: int | None = Field(default=None, ge=0, le=10_000)
    active: bool | None = None


class ScriptIn(Input):
    match: Annotated[str, StringConstraints(strip_whitespace=True, pattern=scripts.MATCH_PATTERN)]
    text: NoteText


class ScriptChange(Input):
    text: NoteText


def _now(request: Request):
    return request.app.state.clock.now()


# --- alarms ----------------------------------------------------------------


@router.get("/alarms/queue", summary="Open alarms, most urgent first", response_model=AlarmQueue)
async def alarm_queue(request: Request, session: Session, _: Operator) -> dict:
    return {"items": await service.queue(session), "now": _now(request).isoformat()}


@router.post(
    "/alarms/{alarm_id}/accept",
    summary="Take the alarm (exactly one operator wins)",
    response_model=AlarmSummary,
    responses=error_responses(409),
)
async def accept_alarm(request: Request, session: Session, user: Operator, alarm_id: int) -> dict:
    publisher = getattr(request.app.state, "mqtt", None)
    alarm = await service.accept(session, alarm_id, user, _now(request), publisher=publisher)
    return await service.summary(session, alarm)


@router.post(
    "/alarms/{alarm_id}/notes", status_code=status.HTTP_201_CREATED, summary="Add a note", response_model=AlarmEventOut
)
async def add_note(request: Request, session: Session, user: Operator, alarm_id: int, body: NoteIn) -> dict:
    event = await service.add_note(session, alarm_id, user, body.text, _now(request))
    return service.event_view(event)


@router.post(
    "/alarms/{alarm_id}/close",
    summary="Close with an outcome",
    response_model=AlarmSummary,
    responses=error_responses(409),
)
async def close_alarm(
    request: Request, session: Session, user: Operator, alarm_id: int, body: CloseIn
) -> dict:
    alarm = await service.close(session, alarm_id, user, body.outcome_code, body.note, _now(request))
    return await service.summary(session, alarm)


@router.post(
    "/alarms/{alarm_id}/calls",
    status_code=status.HTTP_201_CREATED,
    summary="Record a call and its result",
    response_model=AlarmEventOut,
)
async def record_call(
    request: Request, session: Session, user: Operator, alarm_id: int, body: CallIn
) -> dict:
    event = await service.record_call(
        session,
        alarm_id,
        user,
        _now(request),
        party=body.party,
        result=body.result,
        responder_id=body.responder_id,
    )
    return service.event_view(event)


@router.post(
    "/alarms/{alarm_id}/reassign",
    summary="Give a held alarm to another operator, or release it to the queue (supervisors)",
    response_model=AlarmSummary,
    responses=error_responses(409),
)
async def reassign_alarm(
    request: Request, session: Session, user: Supervisor, alarm_id: int, body: ReassignIn
) -> dict:
    alarm = await service.reassign(
        session, alarm_id, user, body.to_user_id, _now(request), reason=body.reason
    )
    await record_audit(
        session,
        actor=user,
        action="update",
        object_type="alarm",
        object_id=alarm.id,
        customer_id=alarm.customer_id,
        request=request,
        reason=body.reason,
        detail={
            "change": "released" if body.to_user_id is None else "reassigned",
            "to_user_id": body.to_user_id,
        },
    )
    return await service.summary(session, alarm)


@router.get(
    "/operators",
    response_model=HandlersOut,
    summary="Operators and supervisors, with the alarms each holds",
)
async def list_handlers(request: Request, session: Session, _: Supervisor) -> dict:
    return {"now": _now(request).isoformat(), "items": await service.handlers(session)}


# --- outcome codes ---------------------------------------------------------

Reader = Depends(require_roles("operator", "supervisor", "admin"))


@router.get(
    "/outcomes",
    tags=["outcomes"],
    dependencies=[Reader],
    summary="Outcome codes to close with (with position/active when include_inactive)",
    response_model=list[OutcomeAdminOut | OutcomeOut],
)
async def list_outcomes(
    session: Session,
    include_inactive: Annotated[bool, Query(description="also retired codes, with position/active")] = False,
) -> list[dict]:
    rows = await outcomes.list_outcomes(session, include_inactive=include_inactive)
    return [outcomes.admin_view(o) if include_inactive else outcomes.view(o) for o in rows]


@router.post(
    "/outcomes",
    tags=["outcomes"],
    status_code=status.HTTP_201_CREATED,
    response_model=OutcomeAdminOut,
    responses=error_responses(409),
)
async def create_outcome(session: Session, _: Supervisor, body: OutcomeIn) -> dict:
    return outcomes.admin_view(await outcomes.create_outcome(session, body.code, body.label, body.position))


@router.patch(
    "/outcomes/{code}",
    tags=["outcomes"],
    summary="Relabel, reorder or retire (active=false)",
    response_model=OutcomeAdminOut,
)
async def update_outcome(session: Session, _: Supervisor, code: str, body: OutcomeChange) -> dict:
    changes = body.model_dump(exclude_unset=True, exclude_none=True)
    return outcomes.admin_view(await outcomes.update_outcome(session, code, changes))


# --- call-handling scripts -------------------------------------------------


@router.get(
    "/scripts",
    tags=["scripts"],
    dependencies=[Reader],
    summary="Call-handling scripts",
    response_model=list[ScriptOut],
)
async def list_scripts(session: Session) -> list[dict]:
    return [scripts.view(s) for s in await scripts.list_scripts(session)]


@router.post(
    "/scripts",
    tags=["scripts"],
    status_code=status.HTTP_201_CREATED,
    response_model=ScriptOut,
    responses=error_responses(409),
)
async def create_script(session: Session, _: Supervisor, body: ScriptIn) -> dict:
    return scripts.view(await scripts.create_script(session, body.match, body.text))


@router.patch("/scripts/{script_id}", tags=["scripts"], response_model=ScriptOut)
async def update_script(session: Session, _: Supervisor, script_id: int, body: ScriptChange) -> dict:
    return scripts.view(await scripts.update_script(session, script_id, body.text))


@router.delete(
    "/scripts/{script_id}",
    tags=["scripts"],
    status_code=status.HTTP_204_NO_CONTENT,
    responses=error_responses(409),
)
async def delete_script(session: Session, _: Supervisor, script_id: int) -> Response:
    await scripts.delete_script(session, script_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)

"""Alarm-handling API: queue, card, accept, notes, dispatch, close; outcome codes and call scripts."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request, Response, status
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from arc.alarms import card, outcomes, scripts, service
from arc.auth.deps import Operator, Supervisor, require_roles
from arc.dispatch import service as dispatch_service
from arc.dispatch.notifier import app_notifier
from arc.dispatch.views import one_task_view
from arc.kit.db import Session

router = APIRouter(tags=["alarms"])

NoteText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=10_000)]
Label = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Code = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^[a-z][a-z0-9_]{0,31}$")]


class Input(BaseModel):
    model_config = ConfigDict(extra="forbid")


class NoteIn(Input):
    text: NoteText


class DispatchIn(Input):
    kind: Literal["responder", "ers", "emergency"]
    responder_id: int | None = Field(default=None, ge=1)
    ers_user_id: int | None = Field(default=None, ge=1)
    service: Literal["ambulance", "fire", "police"] | None = None
    reference: (
        Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)] | None
    ) = None
    note: NoteText | None = None


class CloseIn(Input):
    outcome_code: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=32)]
    note: NoteText | None = None


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


def dispatch_context(request: Request) -> dispatch_service.DispatchContext:
    state = request.app.state
    return dispatch_service.DispatchContext(
        settings=state.settings, notifier=app_notifier(request.app), clock=state.clock
    )


# --- alarms ----------------------------------------------------------------


@router.get("/alarms/queue", summary="Open alarms, most urgent first")
async def alarm_queue(session: Session, _: Operator) -> dict:
    return {"items": await service.queue(session)}


@router.get("/alarms/{alarm_id}", summary="The alarm card")
async def alarm_card(request: Request, session: Session, user: Operator, alarm_id: int) -> dict:
    zone = request.app.state.settings.zone
    return await card.build_card(session, alarm_id, user, _now(request), zone, request=request)


@router.post("/alarms/{alarm_id}/accept", summary="Take the alarm (exactly one operator wins)")
async def accept_alarm(request: Request, session: Session, user: Operator, alarm_id: int) -> dict:
    publisher = getattr(request.app.state, "mqtt", None)
    alarm = await service.accept(session, alarm_id, user, _now(request), publisher=publisher)
    return await service.summary(session, alarm)


@router.post("/alarms/{alarm_id}/notes", status_code=status.HTTP_201_CREATED, summary="Add a note")
async def add_note(request: Request, session: Session, user: Operator, alarm_id: int, body: NoteIn) -> dict:
    event = await service.add_note(session, alarm_id, user, body.text, _now(request))
    return service.event_view(event)


@router.post("/alarms/{alarm_id}/dispatch", status_code=status.HTTP_201_CREATED, summary="Send a responder")
async def dispatch(
    request: Request, session: Session, user: Operator, alarm_id: int, body: DispatchIn
) -> dict:
    task = await dispatch_service.dispatch(
        session, alarm_id, user, body, dispatch_context(request), _now(request)
    )
    return await one_task_view(session, task)


@router.post("/alarms/{alarm_id}/close", summary="Close with an outcome")
async def close_alarm(
    request: Request, session: Session, user: Operator, alarm_id: int, body: CloseIn
) -> dict:
    alarm = await service.close(session, alarm_id, user, body.outcome_code, body.note, _now(request))
    return await service.summary(session, alarm)


# --- outcome codes ---------------------------------------------------------

Reader = Depends(require_roles("operator", "supervisor", "admin"))


@router.get("/outcomes", tags=["outcomes"], dependencies=[Reader], summary="Outcome codes to close with")
async def list_outcomes(
    session: Session,
    include_inactive: Annotated[bool, Query(description="also retired codes, with position/active")] = False,
) -> list[dict]:
    rows = await outcomes.list_outcomes(session, include_inactive=include_inactive)
    return [outcomes.admin_view(o) if include_inactive else outcomes.view(o) for o in rows]


@router.post("/outcomes", tags=["outcomes"], status_code=status.HTTP_201_CREATED)
async def create_outcome(session: Session, _: Supervisor, body: OutcomeIn) -> dict:
    return outcomes.admin_view(await outcomes.create_outcome(session, body.code, body.label, body.position))


@router.patch("/outcomes/{code}", tags=["outcomes"], summary="Relabel, reorder or retire (active=false)")
async def update_outcome(session: Session, _: Supervisor, code: str, body: OutcomeChange) -> dict:
    changes = body.model_dump(exclude_unset=True, exclude_none=True)
    return outcomes.admin_view(await outcomes.update_outcome(session, code, changes))


# --- call-handling scripts -------------------------------------------------


@router.get("/scripts", tags=["scripts"], dependencies=[Reader], summary="Call-handling scripts")
async def list_scripts(session: Session) -> list[dict]:
    return [scripts.view(s) for s in await scripts.list_scripts(session)]


@router.post("/scripts", tags=["scripts"], status_code=status.HTTP_201_CREATED)
async def create_script(session: Session, _: Supervisor, body: ScriptIn) -> dict:
    return scripts.view(await scripts.create_script(session, body.match, body.text))


@router.patch("/scripts/{script_id}", tags=["scripts"])
async def update_script(session: Session, _: Supervisor, script_id: int, body: ScriptChange) -> dict:
    return scripts.view(await scripts.update_script(session, script_id, body.text))


@router.delete("/scripts/{script_id}", tags=["scripts"], status_code=status.HTTP_204_NO_CONTENT)
async def delete_script(session: Session, _: Supervisor, script_id: int) -> Response:
    await scripts.delete_script(session, script_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)

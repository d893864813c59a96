"""``GET /api/live/status``: is this ARC receiving from units? (the dashboard's red banner)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field
from sqlalchemy import select

from arc.auth.deps import require_roles
from arc.auth.models import User
from arc.ingest.models import InboxMessage
from arc.kit.db import Session

router = APIRouter(prefix="/live", tags=["live"])
STATUS_ROLES = ("operator", "supervisor")


class IntakeStatus(BaseModel):
    receiving: bool = Field(description="alarms from units are reaching operators through this process")
    ingest: Literal["connected", "disconnected", "database_unavailable", "stuck", "not_running"]
    listening_since: datetime | None
    last_message_at: datetime | None


@router.get(
    "/status",
    summary="Is this ARC receiving from units? (shown as a banner on the dashboard)",
    response_model=IntakeStatus,
    responses={503: {"description": "the database cannot be reached: not receiving either"}},
)
async def intake_status(
    request: Request, session: Session, _: Annotated[User, Depends(require_roles(*STATUS_ROLES))]
) -> IntakeStatus:
    """The ingest's link to the broker as this process sees it, and when a unit was last heard.

    Operators must know at once when alarms cannot reach them, so they can switch to the
    fallback procedure; ``/readyz`` tells the load balancer, this tells the people."""
    ingest = getattr(request.app.state, "ingest", None)
    since = ingest.listening_since if ingest is not None else None
    problem = "not_running" if ingest is None else _problem(ingest)
    last = await session.scalar(select(InboxMessage.received_at).order_by(InboxMessage.id.desc()).limit(1))
    return IntakeStatus(
        receiving=problem is None, ingest=problem or "connected", listening_since=since, last_message_at=last
    )


def _problem(ingest) -> str | None:
    """disconnected / database_unavailable / stuck, or None while alarms get through."""
    check = getattr(ingest, "intake_problem", None)
    if check is not None:
        return check()
    return None if ingest.listening_since is not None else "disconnected"

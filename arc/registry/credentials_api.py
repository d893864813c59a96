"""Units' broker + SIP logins from the admin page: list, provision (the secret shown once), revoke.

``GET /api/admin/units/credentials``, ``POST`` / ``DELETE /api/admin/units/{cid}/credentials``;
admins only, audited (``unit_credentials`` rows), the rules in ``arc.registry.unit_credentials``.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Request, status
from pydantic import BaseModel, Field

from arc.auth.deps import Admin
from arc.kit.db import Session
from arc.kit.openapi import error_responses
from arc.registry.broker_logins import app_logins
from arc.registry.unit_credentials import State, list_credentials, provision, revoke

router = APIRouter(prefix="/admin/units", tags=["units"])
Cid = Annotated[str, Path(pattern=r"^[0-9]{1,32}$", description="the unit's cid (its login name)")]
Broker = Literal["file", "dynsec"]


class CredentialRow(BaseModel):
    cid: str
    unit_id: int
    model: str | None
    state: State = Field(description="active: may log in; revoked: taken away; none: never given")
    issued_at: datetime | None
    revoked_at: datetime | None
    sip: bool = Field(description="the SIP edge has its HA1")


class CredentialsPage(BaseModel):
    broker: Broker | None = Field(description="where logins are written; null: not by this service")
    reload_needed: bool = Field(description="file: the broker applies a change after kill -HUP")
    total: int
    items: list[CredentialRow]


class ProvisionedOut(BaseModel):
    cid: str
    username: str = Field(description="the unit's login name (its cid), on MQTT and SIP")
    password: str = Field(description="the unit's one secret: shown only now, never stored in clear")
    sip_realm: str
    issued_at: datetime
    broker: Broker
    reload_needed: bool


class RevokedOut(BaseModel):
    cid: str
    had_login: bool
    revoked_at: datetime
    broker: Broker
    reload_needed: bool


@router.get("/credentials", response_model=CredentialsPage, summary="Which units have a login, since when")
async def credentials_list(
    request: Request,
    session: Session,
    _: Admin,
    cid: Annotated[str | None, Query(pattern=r"^[0-9]{1,32}$", description="cid starts with")] = None,
    state: State | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> CredentialsPage:
    logins = app_logins(request.app)
    items, total = await list_credentials(session, cid_prefix=cid, state=state, limit=limit, offset=offset)
    return CredentialsPage(
        broker=logins.kind if logins else None,
        reload_needed=bool(logins and logins.reload_needed),
        total=total,
        items=[CredentialRow(**item) for item in items],
    )


@router.post(
    "/{cid}/credentials",
    status_code=status.HTTP_201_CREATED,
    response_model=ProvisionedOut,
    summary="Give the unit a new secret (broker and SIP); any earlier one stops working",
    responses=error_responses(409),
)
async def credentials_provision(request: Request, session: Session, user: Admin, cid: Cid) -> ProvisionedOut:
    settings = request.app.state.settings
    issued = await provision(
        session,
        app_logins(request.app),
        cid,
        realm=settings.sip_realm,
        now=request.app.state.clock.now(),
        actor=user,
        request=request,
    )
    shown = {k: v for k, v in asdict(issued).items() if k != "unit_id"}
    return ProvisionedOut(**shown, username=cid, sip_realm=settings.sip_realm)


@router.delete(
    "/{cid}/credentials",
    response_model=RevokedOut,
    summary="Take the unit's login away (broker and SIP)",
    responses=error_responses(409),
)
async def credentials_revoke(request: Request, session: Session, user: Admin, cid: Cid) -> RevokedOut:
    taken = await revoke(
        session, app_logins(request.app), cid, now=request.app.state.clock.now(), actor=user, request=request
    )
    return RevokedOut(**asdict(taken))

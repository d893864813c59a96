"""Log in, log out, who am I, change my password."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from arc.audit.service import client_ip, record
from arc.auth.deps import SESSION_COOKIE, CurrentSession, SignedInPasswordDue, public
from arc.auth.service import (
    authenticate,
    check_current_password,
    issue_session,
    lifetime_for,
    revoke_all_for_user,
    revoke_session,
    set_password,
)
from arc.kit.db import Session
from arc.kit.errors import Unprocessable

router = APIRouter(prefix="/auth", tags=["auth"])


class LoginIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    username: Annotated[str, Field(min_length=1, max_length=64)]
    password: Annotated[str, Field(min_length=1, max_length=256)]
    kind: Literal["browser", "api"] = "browser"


class UserOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    username: str
    full_name: str
    role: str
    extra_roles: list[str] = []


class LoginOut(BaseModel):
    user: UserOut
    must_change_password: bool = Field(
        default=False, description="an admin reset the password: only /auth/password, /auth/logout and /auth/me answer until it is changed"
    )
    expires_at: datetime
    csrf_token: str | None = None
    token: str | None = Field(default=None, description="bearer token (kind=api only); shown once")


class PasswordChangeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    current_password: Annotated[str, Field(min_length=1, max_length=256)]
    new_password: Annotated[str, Field(min_length=1, max_length=256)]


def set_session_cookie(request: Request, response: Response, token: str, max_age: int) -> None:
    secure = request.url.scheme == "https" or request.app.state.settings.env == "production"
    response.set_cookie(
        SESSION_COOKIE, token, httponly=True, samesite="strict", secure=secure, max_age=max_age, path="/"
    )


@router.post("/login", response_model=LoginOut, dependencies=[Depends(public("logging in"))])
async def login(request: Request, response: Response, session: Session, body: LoginIn):
    settings = request.app.state.settings
    now = request.app.state.clock.now()
    ip = client_ip(request) or "unknown"
    user = await authenticate(session, body.username, body.password, ip, now, settings)
    token, row = await issue_session(session, user, body.kind, now, lifetime_for(settings, body.kind))
    out = LoginOut(
        user=UserOut.model_validate(user),
        expires_at=row.expires_at,
        must_change_password=user.must_change_password,
    )
    if body.kind == "api":
        out.token = token
    else:
        out.csrf_token = row.csrf_token
        set_session_cookie(request, response, token, int((row.expires_at - now).total_seconds()))
    return out


@router.post("/logout", status_code=204)
async def logout(
    request: Request, response: Response, session: Session, current: CurrentSession, _: SignedInPasswordDue
):
    await revoke_session(session, current, request.app.state.clock.now())
    response.delete_cookie(SESSION_COOKIE, path="/")
    response.status_code = 204
    return response


@router.get("/me", response_model=LoginOut)
async def me(user: SignedInPasswordDue, current: CurrentSession):
    return LoginOut(
        user=UserOut.model_validate(user),
        expires_at=current.expires_at,
        csrf_token=current.csrf_token,
        must_change_password=user.must_change_password,
    )


@router.post("/password", status_code=204, summary="Change my password; my other sessions are signed out")
async def change_password(
    request: Request,
    response: Response,
    session: Session,
    user: SignedInPasswordDue,
    current: CurrentSession,
    body: PasswordChangeIn,
):
    now = request.app.state.clock.now()
    ip = client_ip(request) or "unknown"
    await check_current_password(session, user, body.current_password, ip, now, request.app.state.settings)
    if body.new_password == body.current_password:
        raise Unprocessable("the new password must differ from the current one", field="new_password")
    await set_password(session, user, body.new_password, now)
    user.must_change_password = False
    await revoke_all_for_user(session, user.id, now, except_id=current.id)
    await record(
        session,
        actor=user,
        action="update",
        object_type="user",
        object_id=user.id,
        request=request,
        detail={"field": "password"},
    )
    response.status_code = 204
    return response

"""Log in, log out, who am I."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import func, select

from arc.auth.deps import SESSION_COOKIE, CurrentSession, CurrentUser, public
from arc.auth.models import User
from arc.auth.passwords import hash_password, needs_rehash, verify_password
from arc.auth.service import issue_session, revoke_session
from arc.db import Session
from arc.errors import Unauthorized

router = APIRouter(prefix="/auth", tags=["auth"])

MAX_FAILURES = 5
LOCKOUT = timedelta(minutes=15)
# verify against this when the user does not exist, so timing does not reveal usernames
_DUMMY_HASH = hash_password("not-a-real-password-for-timing")


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


class LoginOut(BaseModel):
    user: UserOut
    expires_at: datetime
    csrf_token: str | None = None
    token: str | None = Field(default=None, description="bearer token (kind=api only); shown once")


@router.post("/login", response_model=LoginOut, dependencies=[Depends(public("logging in"))])
async def login(request: Request, response: Response, session: Session, body: LoginIn):
    now = request.app.state.clock.now()
    user = await session.scalar(select(User).where(func.lower(User.username) == body.username.lower()))
    if user is None:
        verify_password(_DUMMY_HASH, body.password)
        raise Unauthorized("wrong username or password")
    if user.locked_until and user.locked_until > now:
        raise Unauthorized("account locked after repeated failures; try again later", code="locked")
    if not user.is_active or not verify_password(user.password_hash, body.password):
        user.failed_logins += 1
        if user.failed_logins >= MAX_FAILURES:
            user.locked_until = now + LOCKOUT
            user.failed_logins = 0
        await session.commit()  # the failure count must survive the error response
        raise Unauthorized("wrong username or password")
    user.failed_logins = 0
    user.locked_until = None
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(body.password)
    token, row = await issue_session(session, user, body.kind, now)
    out = LoginOut(user=UserOut.model_validate(user), expires_at=row.expires_at)
    if body.kind == "api":
        out.token = token
    else:
        out.csrf_token = row.csrf_token
        secure = request.url.scheme == "https" or request.app.state.settings.env == "production"
        response.set_cookie(
            SESSION_COOKIE,
            token,
            httponly=True,
            samesite="strict",
            secure=secure,
            max_age=int((row.expires_at - now).total_seconds()),
            path="/",
        )
    return out


@router.post("/logout", status_code=204)
async def logout(request: Request, response: Response, session: Session, current: CurrentSession):
    await revoke_session(session, current, request.app.state.clock.now())
    response.delete_cookie(SESSION_COOKIE, path="/")
    response.status_code = 204
    return response


@router.get("/me", response_model=LoginOut)
async def me(user: CurrentUser, current: CurrentSession):
    return LoginOut(
        user=UserOut.model_validate(user), expires_at=current.expires_at, csrf_token=current.csrf_token
    )

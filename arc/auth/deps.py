"""Who is calling, and may they? Every route declares its policy here.

``require_roles(*roles)`` is the one way a route says who may use it; the
dependency it returns carries ``.roles`` so the route-policy test can check
that no route was forgotten. Credentials: ``Authorization: Bearer <token>``
(API clients) or the ``lifeline_session`` cookie (browser), where a
state-changing request must also send the session's CSRF token in
``X-CSRF-Token``.
"""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Request

from arc.auth.models import ROLES, AuthSession, User
from arc.auth.service import find_session
from arc.kit.db import Session
from arc.kit.errors import ErrorCode, Forbidden, Unauthorized

SESSION_COOKIE = "lifeline_session"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


async def current_session(request: Request, session: Session) -> AuthSession:
    now = request.app.state.clock.now()
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        row = await find_session(session, header[7:].strip(), now)
        if row is None:
            raise Unauthorized("token invalid or expired")
        return row
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        row = await find_session(session, cookie, now)
        if row is None or row.kind != "browser":
            raise Unauthorized("session expired; please log in again")
        if request.method not in SAFE_METHODS:
            sent = request.headers.get(CSRF_HEADER, "")
            # compared as bytes: a non-ASCII header (decoded as latin-1) is a wrong token, not a 500
            if not row.csrf_token or not secrets.compare_digest(sent.encode(), row.csrf_token.encode()):
                raise Forbidden("missing or wrong CSRF token", code=ErrorCode.CSRF)
        return row
    raise Unauthorized("log in first")


async def current_user(row: Annotated[AuthSession, Depends(current_session)]) -> User:
    return row.user


CurrentSession = Annotated[AuthSession, Depends(current_session)]
CurrentUser = Annotated[User, Depends(current_user)]


def require_roles(*roles: str, password_due_ok: bool = False) -> Callable[..., Awaitable[User]]:
    """A dependency admitting only users holding one of ``roles`` as their role or an
    extra grant (admins are not implied). A user whose password an admin reset must set a new
    one first: only routes built with ``password_due_ok`` (change password, log out, who am I)
    admit them; every other answers 403 ``password_change_required``."""
    unknown = set(roles) - set(ROLES)
    if unknown or not roles:
        raise ValueError(f"unknown roles {sorted(unknown)}")

    async def _check(user: CurrentUser) -> User:
        if not user.has_role(*roles):
            raise Forbidden(f"your role ({user.role}) may not do this")
        if user.must_change_password and not password_due_ok:
            raise Forbidden(
                "your password was reset: set a new one first", code=ErrorCode.PASSWORD_CHANGE_REQUIRED
            )
        return user

    _check.roles = frozenset(roles)  # read by the route-policy test
    return _check


def public(reason: str) -> Callable[[], None]:
    """Mark a route as deliberately open (health, login, signed webhooks)."""

    def _open() -> None:
        return None

    _open.public_reason = reason
    return _open


# Readable aliases for the common policies (the full matrix is in docs/security.md).
Operator = Annotated[User, Depends(require_roles("operator", "supervisor"))]
Supervisor = Annotated[User, Depends(require_roles("supervisor", "admin"))]
# customer records hold health data: the people who handle alarms and the TEC team, not admins
CustomerReader = Annotated[User, Depends(require_roles("operator", "supervisor", "tec"))]
# units, peripherals and connections: no health data
RegistryEditor = Annotated[User, Depends(require_roles("operator", "supervisor", "tec", "admin"))]
Admin = Annotated[User, Depends(require_roles("admin"))]
# any signed-in member of staff (their own session, profile and password)
SignedIn = Annotated[User, Depends(require_roles(*ROLES))]
# the same, also while a reset password is due to be changed (change it, log out, who am I)
SignedInPasswordDue = Annotated[User, Depends(require_roles(*ROLES, password_due_ok=True))]
Finance = Annotated[User, Depends(require_roles("finance"))]

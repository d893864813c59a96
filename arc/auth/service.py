"""Issuing, finding and revoking sessions and tokens; checking passwords at log-in."""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from arc.auth.models import ROLES, AuthSession, LoginFailure, User
from arc.auth.passwords import hash_password, needs_rehash, password_problem, verify_password
from arc.kit.errors import AppError, Conflict, ErrorCode, Unauthorized, Unprocessable
from arc.kit.settings import Settings

SESSION_LIFETIME = {"browser": timedelta(hours=12), "api": timedelta(days=30)}
# verify against this when the user does not exist, so timing does not reveal usernames
_DUMMY_HASH = hash_password("not-a-real-password-for-timing")


class TooManyAttempts(AppError):
    status_code = 429
    code = ErrorCode.RATE_LIMITED


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def lifetime_for(settings: Settings, kind: str) -> timedelta:
    if kind == "browser":
        return timedelta(hours=settings.browser_session_hours)
    return timedelta(days=settings.api_token_days)


async def issue_session(
    session: AsyncSession, user: User, kind: str, now: datetime, lifetime: timedelta | None = None
) -> tuple[str, AuthSession]:
    """Create a session; return the raw token (shown once, never stored) and its row."""
    token = secrets.token_urlsafe(32)
    row = AuthSession(
        token_hash=token_digest(token),
        user_id=user.id,
        kind=kind,
        csrf_token=secrets.token_urlsafe(24) if kind == "browser" else None,
        expires_at=now + (lifetime or SESSION_LIFETIME[kind]),
    )
    session.add(row)
    await session.flush()
    return token, row


async def find_session(session: AsyncSession, token: str, now: datetime) -> AuthSession | None:
    """The live session for ``token`` with its user loaded, or None."""
    row = await session.scalar(
        select(AuthSession)
        .options(selectinload(AuthSession.user))
        .where(AuthSession.token_hash == token_digest(token))
    )
    if row is None or row.revoked_at is not None or row.expires_at <= now or not row.user.is_active:
        return None
    return row


async def revoke_session(session: AsyncSession, row: AuthSession, now: datetime) -> None:
    row.revoked_at = now
    await session.flush()


async def revoke_all_for_user(
    session: AsyncSession, user_id: int, now: datetime, *, except_id: int | None = None
) -> None:
    stmt = update(AuthSession).where(AuthSession.user_id == user_id, AuthSession.revoked_at.is_(None))
    if except_id is not None:
        stmt = stmt.where(AuthSession.id != except_id)
    await session.execute(stmt.values(revoked_at=now))


# --- log-in ------------------------------------------------------------------


async def check_ip_allowance(
    session: AsyncSession, client_ip: str, now: datetime, settings: Settings
) -> None:
    """Refuse (429) when this address has failed too often lately, whichever accounts it tried."""
    window = timedelta(minutes=settings.login_ip_window_minutes)
    failures = await session.scalar(
        select(func.count())
        .select_from(LoginFailure)
        .where(LoginFailure.client_ip == client_ip, LoginFailure.at > now - window)
    )
    if (failures or 0) >= settings.login_ip_max_failures:
        raise TooManyAttempts(
            "too many failed log-ins from your address; try again later",
            retry_after_seconds=int(window.total_seconds()),
        )


async def authenticate(
    session: AsyncSession, username: str, password: str, client_ip: str, now: datetime, settings: Settings
) -> User:
    """The user if the password is right; otherwise count the failure, COMMIT it, and raise 401/429.

    await session.flush()
    raise Unauthorized("wrong username or password", keep_writes=True)
    """
    await check_ip_allowance(session, client_ip, now, settings)
    user = await session.scalar(select(User).where(func.lower(User.username) == username.lower()))
    right = verify_password((user.password_hash if user else None) or _DUMMY_HASH, password)
    locked = user is not None and is_locked(user, now)
    if user is None or not user.is_active or locked or not user.password_hash or not right:
        if user is not None and not locked:
            count_wrong_password(user, now, settings)
        await _fail(session, client_ip, now)
    user.failed_logins = 0
    user.locked_until = None
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    return user


def count_wrong_password(user: User, now: datetime, settings: Settings) -> None:
    """One more wrong password for this account; lock it for a while at the limit."""
    user.failed_logins += 1
    if user.failed_logins >= settings.login_max_failures:
        user.locked_until = now + timedelta(minutes=settings.login_lockout_minutes)
        user.failed_logins = 0


def is_locked(user: User, now: datetime) -> bool:
    return user.locked_until is not None and user.locked_until > now


async def check_current_password(
    session: AsyncSession, user: User, password: str, client_ip: str, now: datetime, settings: Settings
) -> None:
    """For a change of password: a wrong one counts towards the lockout like a failed log-in
    (committed, raised as 401), and a locked account is refused whatever is sent."""
    right = verify_password(user.password_hash or _DUMMY_HASH, password)
    if is_locked(user, now) or not user.password_hash or not right:
        if not is_locked(user, now):
            count_wrong_password(user, now, settings)
        session.add(LoginFailure(at=now, client_ip=client_ip))
        await session.flush()
        raise Unauthorized("current password is wrong", code=ErrorCode.WRONG_PASSWORD, keep_writes=True)


async def _fail(session: AsyncSession, client_ip: str, now: datetime):
    session.add(LoginFailure(at=now, client_ip=client_ip))
    await session.flush()
    raise Unauthorized("wrong username or password", keep_writes=True)


async def forget_old_failures(session: AsyncSession, now: datetime) -> int:
    result = await session.execute(delete(LoginFailure).where(LoginFailure.at < now - timedelta(days=1)))
    return result.rowcount or 0


# --- users -------------------------------------------------------------------


USERNAME_PATTERN = r"^[A-Za-z0-9._@-]{2,64}$"


def check_user_fields(username: str, full_name: str) -> None:
    """The rules every way of making a user follows (API, `lifeline user add`, demo seed)."""
    if not re.fullmatch(USERNAME_PATTERN, username):
        raise Unprocessable("username must be 2-64 letters, digits or . _ @ - (no spaces)", field="username")
    if not full_name or full_name.strip() != full_name or len(full_name) > 200:
        raise Unprocessable(
            "full name must be 1-200 characters without surrounding spaces", field="full_name"
        )
    if any(not ch.isprintable() for ch in full_name):
        raise Unprocessable("full name must not contain control characters", field="full_name")


def check_new_password(password: str, username: str) -> None:
    problem = password_problem(password)
    if problem is None and username.lower() in password.lower():
        problem = "password must not contain the username"
    if problem:
        raise Unprocessable(problem, field="password")


def generate_password(username: str = "") -> str:
    while True:
        password = secrets.token_urlsafe(15)  # 20 characters, ~120 bits
        if not username or username.lower() not in password.lower():
            return password


async def create_user(
    session: AsyncSession,
    *,
    username: str,
    full_name: str,
    role: str,
    password: str,
    now: datetime,
    extra_roles: list[str] | None = None,
) -> User:
    if role not in ROLES or any(r not in ROLES for r in extra_roles or ()):
        raise Unprocessable(f"role must be one of {', '.join(ROLES)}", field="role")
    check_user_fields(username, full_name)
    check_new_password(password, username)
    taken = await session.scalar(select(User.id).where(func.lower(User.username) == username.lower()))
    if taken is not None:
        raise Conflict(f"username {username!r} is already in use", code=ErrorCode.DUPLICATE, field="username")
    user = User(
        username=username,
        full_name=full_name,
        role=role,
        extra_roles=sorted(set(extra_roles or ()) - {role}),
        password_hash=hash_password(password),
        password_changed_at=now,
    )
    session.add(user)
    await session.flush()
    return user


async def set_password(session: AsyncSession, user: User, password: str, now: datetime) -> None:
    check_new_password(password, user.username)
    user.password_hash = hash_password(password)
    user.password_changed_at = now
    user.failed_logins = 0
    user.locked_until = None
    await session.flush()

"""Issuing, finding and revoking sessions and tokens."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from arc.auth.models import AuthSession, User

SESSION_LIFETIME = {"browser": timedelta(hours=12), "api": timedelta(days=30)}


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


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
    from sqlalchemy.orm import selectinload

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


async def revoke_all_for_user(session: AsyncSession, user_id: int, now: datetime) -> None:
    await session.execute(
        update(AuthSession)
        .where(AuthSession.user_id == user_id, AuthSession.revoked_at.is_(None))
        .values(revoked_at=now)
    )

"""Writing audit rows. Call ``record`` in the same transaction as the view or change it describes,
so the look and its record commit together (or neither does).

``detail`` must hold ids and field names only — never names, addresses, notes or codes.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Annotated, Protocol

from fastapi import Query, Request
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from arc.audit.models import ACTIONS, AuditEntry


class Actor(Protocol):
    """A signed-in person (``arc.auth.models.User`` satisfies it); audit does not import auth."""

    id: int
    username: str
    role: str


CLIENT_IP_LENGTH = 64  # the audit and log-in failure columns


def client_ip(request: Request | None) -> str | None:
    """The caller's address as the server saw it (a forwarded one only from LIFELINE_FORWARDED_ALLOW_IPS).
    Whatever arrives is cut to the column: an odd value is still recorded and counted, never a 422."""
    if request is None or request.client is None or not request.client.host:
        return None
    return "".join(ch for ch in request.client.host if ch.isprintable())[:CLIENT_IP_LENGTH] or "?"


async def record(
    session: AsyncSession,
    *,
    actor: Actor | str,
    action: str,
    object_type: str,
    object_id: int | str | None = None,
    customer_id: int | None = None,
    request: Request | None = None,
    reason: str | None = None,
    detail: dict | None = None,
    at: datetime | None = None,
    flush: bool = True,
) -> AuditEntry:
    """Append one audit row (flushes unless told not to — a bulk import flushes a batch at once;
    the caller's transaction commits it)."""
    if action not in ACTIONS:
        raise ValueError(f"unknown audit action {action!r}")
    if at is None and request is not None:
        at = request.app.state.clock.now()
    entry = AuditEntry(
        actor_user_id=None if isinstance(actor, str) else actor.id,
        actor=actor if isinstance(actor, str) else actor.username,
        actor_role=None if isinstance(actor, str) else actor.role,
        action=action,
        object_type=object_type,
        object_id=None if object_id is None else str(object_id),
        customer_id=customer_id,
        client_ip=client_ip(request),
        reason=reason,
        detail=detail or {},
    )
    if at is not None:
        entry.at = at
    session.add(entry)
    if flush:
        await session.flush()
    return entry


VIEW_ID_LENGTH = 64
VIEW_LASTS = timedelta(days=1)
ViewId = Annotated[
    str | None,
    Query(
        max_length=VIEW_ID_LENGTH,
        pattern=r"^[A-Za-z0-9_-]+$",
        description="the page's id for this opening of the page, repeated on its refreshes: what you "
        "looked at is audited once per view (without it, every request is audited)",
    ),
]


async def seen_in_view(
    session: AsyncSession,
    actor: Actor,
    object_type: str,
    object_id: int | str,
    view: str | None,
    *,
    now: datetime | None = None,
) -> bool:
    """Whether ``actor`` already has a row for this object in page view ``view`` (an id the page
    makes once when a person opens something, and repeats on the refreshes of that view).

    Without a view id every request counts as a look (an API client is never under-audited).
    Two requests of one view racing each other write one row: the check holds a transaction
    lock on (actor, object, view) until the caller commits. A view lasts at most a day (``now``)."""
    if not view:
        return False
    key = f"audit-view:{actor.id}:{object_type}:{object_id}:{view}"
    await session.execute(select(func.pg_advisory_xact_lock(func.hashtextextended(key, 0))))
    found = await session.scalar(
        select(AuditEntry.id)
        .where(
            AuditEntry.actor_user_id == actor.id,
            AuditEntry.object_type == object_type,
            AuditEntry.object_id == str(object_id),
            AuditEntry.detail["view"].astext == view,
            *([AuditEntry.at >= now - VIEW_LASTS] if now is not None else []),
        )
        .limit(1)
    )
    return found is not None


async def record_customer(
    session: AsyncSession, request: Request, actor: Actor, action: str, customer_id: int, **detail
) -> AuditEntry:
    """The common case: ``actor`` did ``action`` to a customer's record through ``request``."""
    return await record(
        session,
        actor=actor,
        action=action,
        object_type="customer",
        object_id=customer_id,
        customer_id=customer_id,
        request=request,
        detail=detail or None,
    )


async def record_many_views(
    session: AsyncSession,
    *,
    actor: Actor,
    object_type: str,
    customer_ids: Iterable[int],
    request: Request | None = None,
    detail: dict | None = None,
) -> None:
    """One ``view`` row per customer shown (a list page shows each of them)."""
    at = request.app.state.clock.now() if request is not None else None
    for customer_id in customer_ids:
        session.add(
            AuditEntry(
                actor_user_id=actor.id,
                actor=actor.username,
                actor_role=actor.role,
                action="view",
                object_type=object_type,
                object_id=str(customer_id),
                customer_id=customer_id,
                client_ip=client_ip(request),
                detail=detail or {},
                **({"at": at} if at is not None else {}),
            )
        )
    await session.flush()

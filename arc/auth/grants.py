"""Clinical grants are flagged to the other admins.

An admin sees no health data. A role that does (operator, supervisor, tec, ers) given to anyone —
by creating the user with it or by a change of role or grants — is audited as a ``grant`` and
stays on the other admins' list (``GET /api/admin/grants``) until an admin who neither gave nor
received it acknowledges it. No one changes their own roles (arc/auth/admin.py), so an admin
cannot quietly make themselves a supervisor; a colleague's or a new account's clinical access is
in front of the others.
"""

from __future__ import annotations

import logging
from datetime import datetime

from fastapi import APIRouter, Request
from pydantic import BaseModel
from sqlalchemy import String, cast, select
from sqlalchemy.ext.asyncio import AsyncSession

from arc.audit.models import AuditEntry
from arc.audit.service import record
from arc.auth.deps import Admin
from arc.auth.models import User
from arc.kit.db import Session
from arc.kit.errors import Conflict, ErrorCode, Forbidden, NotFound

log = logging.getLogger(__name__)
router = APIRouter(prefix="/admin/grants", tags=["users"])
CLINICAL_ROLES = frozenset({"operator", "supervisor", "tec", "ers"})


class GrantOut(BaseModel):
    id: int
    at: datetime
    granted_by: str
    granted_by_id: int | None
    user_id: int
    granted: list[str]
    holds_admin: bool


async def flag_clinical_grant(
    session: AsyncSession, admin: User, user: User, before: frozenset[str], request: Request
) -> AuditEntry | None:
    """Audit (and flag) the clinical roles ``user`` holds now and did not hold ``before``."""
    granted = sorted((user.roles & CLINICAL_ROLES) - before)
    if not granted:
        return None
    log.warning("user %s granted clinical role(s) %s to user %s", admin.id, ",".join(granted), user.id)
    return await record(
        session,
        actor=admin,
        action="grant",
        object_type="user",
        object_id=user.id,
        request=request,
        detail={"granted": granted, "holds_admin": user.has_role("admin")},
    )


def _acknowledged():
    return select(AuditEntry.object_id).where(
        AuditEntry.action == "acknowledge", AuditEntry.object_type == "role_grant"
    )


def _out(entry: AuditEntry) -> GrantOut:
    return GrantOut(
        id=entry.id,
        at=entry.at,
        granted_by=entry.actor,
        granted_by_id=entry.actor_user_id,
        user_id=int(entry.object_id),
        granted=entry.detail.get("granted", []),
        holds_admin=bool(entry.detail.get("holds_admin")),
    )


@router.get("", response_model=list[GrantOut], summary="Clinical grants no other admin has acknowledged")
async def open_grants(session: Session, _: Admin):
    rows = await session.scalars(
        select(AuditEntry)
        .where(
            AuditEntry.action == "grant",
            AuditEntry.object_type == "user",
            cast(AuditEntry.id, String).not_in(_acknowledged()),
        )
        .order_by(AuditEntry.id)
    )
    return [_out(row) for row in rows]


@router.post("/{grant_id}/acknowledge", response_model=GrantOut, summary="I have checked this grant")
async def acknowledge(request: Request, session: Session, admin: Admin, grant_id: int):
    entry = await session.get(AuditEntry, grant_id)
    if entry is None or entry.action != "grant" or entry.object_type != "user":
        raise NotFound(f"grant {grant_id} not found")
    if admin.id in (entry.actor_user_id, int(entry.object_id)):
        raise Forbidden("another admin must check a grant you gave or received", code=ErrorCode.OWN_GRANT)
    if await session.scalar(_acknowledged().where(AuditEntry.object_id == str(grant_id)).limit(1)):
        raise Conflict(f"grant {grant_id} is already acknowledged", code=ErrorCode.ACKNOWLEDGED)
    await record(
        session,
        actor=admin,
        action="acknowledge",
        object_type="role_grant",
        object_id=grant_id,
        request=request,
    )
    return _out(entry)

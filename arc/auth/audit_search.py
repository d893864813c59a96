"""Audit search for admins. There is no route that changes or deletes an audit row."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, ConfigDict
from sqlalchemy import func, select

from arc.audit.models import AuditEntry
from arc.audit.service import record
from arc.auth.deps import require_roles
from arc.auth.models import User
from arc.kit.db import Session

router = APIRouter(prefix="/audit", tags=["audit"])
AdminUser = Annotated[User, Depends(require_roles("admin"))]


class AuditOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    at: datetime
    actor_user_id: int | None
    actor: str
    actor_role: str | None
    action: str
    object_type: str
    object_id: str | None
    customer_id: int | None
    client_ip: str | None
    reason: str | None
    detail: dict


class AuditPage(BaseModel):
    items: list[AuditOut]
    total: int
    limit: int
    offset: int


@router.get("", response_model=AuditPage, summary="Search the audit log (newest first)")
async def search_audit(
    request: Request,
    session: Session,
    admin: AdminUser,
    customer_id: int | None = None,
    actor_user_id: int | None = None,
    actor: Annotated[str | None, Query(max_length=64)] = None,
    action: Annotated[str | None, Query(max_length=16)] = None,
    object_type: Annotated[str | None, Query(max_length=32)] = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
):
    stmt = select(AuditEntry)
    filters = {
        "customer_id": customer_id,
        "actor_user_id": actor_user_id,
        "actor": actor,
        "action": action,
        "object_type": object_type,
    }
    for field, value in filters.items():
        if value is not None:
            stmt = stmt.where(getattr(AuditEntry, field) == value)
    if since is not None:
        stmt = stmt.where(AuditEntry.at >= since)
    if until is not None:
        stmt = stmt.where(AuditEntry.at < until)
    total = await session.scalar(select(func.count()).select_from(stmt.subquery()))
    rows = (
        await session.scalars(
            stmt.order_by(AuditEntry.at.desc(), AuditEntry.id.desc()).limit(limit).offset(offset)
        )
    ).all()
    used = {k: v for k, v in filters.items() if v is not None}
    await record(session, actor=admin, action="search", object_type="audit", request=request, detail=used)
    return AuditPage(
        items=[AuditOut.model_validate(r) for r in rows], total=int(total or 0), limit=limit, offset=offset
    )

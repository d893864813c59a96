"""Small helpers shared by every registry resource."""

from __future__ import annotations

from typing import TypeVar

from pydantic import BaseModel
from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from arc.kit.errors import NotFound

M = TypeVar("M")


async def get_or_404(session: AsyncSession, model: type[M], ident: int, *, what: str | None = None) -> M:
    obj = await session.get(model, ident)
    if obj is None:
        raise NotFound(f"{what or model.__name__.lower()} {ident} not found")
    return obj


def apply_changes(obj: object, changes: BaseModel) -> dict:
    """Copy the fields the client actually sent onto ``obj``; return them."""
    sent = changes.model_dump(exclude_unset=True)
    for field, value in sent.items():
        setattr(obj, field, value)
    return sent


async def paginate(session: AsyncSession, stmt: Select, limit: int, offset: int) -> tuple[list, int]:
    total = await session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery()))
    rows = (await session.scalars(stmt.limit(limit).offset(offset))).all()
    return list(rows), int(total or 0)

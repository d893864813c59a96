"""``GET /api/admin/keys``: where key rotation stands (counts only; no key-safe value is returned)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from arc.auth.deps import Admin
from arc.kit.db import Session
from arc.registry.keyrotation import key_status

router = APIRouter(prefix="/admin/keys", tags=["keys"])


class KeyCount(BaseModel):
    key_id: str
    values: int
    current: bool = Field(description="the key new values are written under")
    configured: bool = Field(description="current or retired key the service holds; false: unreadable")


class KeyStatusOut(BaseModel):
    current_key: str
    total: int = Field(description="customers with a key-safe value")
    under_current_key: int
    to_rotate: int = Field(description="readable values under a retired key: `lifeline keys rotate` moves them")
    unreadable: int = Field(description="values no configured key opens; they need re-entering")
    keys: list[KeyCount]


@router.get("", response_model=KeyStatusOut, summary="Key-safe values per data key, and any unreadable")
async def keys_status(request: Request, session: Session, _: Admin):
    cipher = request.app.state.data_cipher
    status = await key_status(session, cipher)
    current = status.by_key.get(status.current_key, 0)
    keys = [
        KeyCount(key_id=kid, values=n, current=kid == status.current_key, configured=cipher.knows(kid))
        for kid, n in sorted(status.by_key.items(), key=lambda kv: (kv[0] != status.current_key, -kv[1]))
    ]
    return KeyStatusOut(
        current_key=status.current_key,
        total=status.total,
        under_current_key=current,
        to_rotate=status.to_rotate,
        unreadable=status.unreadable,
        keys=keys,
    )

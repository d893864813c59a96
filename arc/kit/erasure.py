"""The eraser protocol: each domain forgets a withdrawn customer's personal data in its own tables.

One ``async def erase(session, customer_ids, now) -> int`` per domain module (``arc/<domain>/
erasure.py``), returning how many rows it changed or deleted; it flushes, never commits. The
composition layer (``arc/erasure.py``) runs them all, in one transaction, in the order it lists.
What is kept: ids, times, codes and counts (statistics, KPIs, the audit trail); what goes:
names, addresses, phones, notes and any free text.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncSession


class Eraser(Protocol):
    async def __call__(self, session: AsyncSession, customer_ids: Sequence[int], now: datetime) -> int: ...


def keep_only(data: dict[str, Any] | None, keys: frozenset[str]) -> dict[str, Any]:
    """A JSON document with only the listed keys (codes, ids, times): the rest may be free text."""
    return {k: v for k, v in (data or {}).items() if k in keys}

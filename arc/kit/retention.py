"""Deleting old rows without long locks: one chunk per short transaction, oldest first."""

from __future__ import annotations

import asyncio
from datetime import datetime

from sqlalchemy import TextClause
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from arc.kit.db import session_scope


async def delete_in_chunks(
    maker: async_sessionmaker[AsyncSession], statement: TextClause, cutoff: datetime, chunk: int
) -> int:
    """Run ``statement`` (a ``DELETE ... LIMIT :chunk``, rows older than ``:cutoff``) until it
    deletes fewer than ``chunk`` rows; each run commits on its own. Returns the rows deleted."""
    total = 0
    while True:
        async with session_scope(maker) as session:
            deleted = (await session.execute(statement, {"cutoff": cutoff, "chunk": chunk})).rowcount
        total += deleted
        if deleted < chunk:
            return total
        await asyncio.sleep(0)  # let other work in between chunks

"""The read side's own sessions: a separate pool whose every transaction is READ ONLY.

Analytics never writes through it and so never takes the row locks the ingest and the
operators take; ``LIFELINE_READ_DATABASE_URL`` points it at a replica. Writes of the read
side (flags, reviews, audit rows of each view) go through the ordinary request session.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated

from fastapi import Depends, FastAPI, Request
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from arc.kit.db import make_engine, make_sessionmaker
from arc.kit.settings import Settings


def make_read_engine(settings: Settings) -> AsyncEngine:
    url = settings.read_database_url or settings.database_url
    if not url:
        raise ValueError("the read side needs a database URL")
    return make_engine(
        url,
        pool_size=5,
        max_overflow=5,
        hide_parameters=True,
        connect_args={"server_settings": {"default_transaction_read_only": "on"}},
    )


@asynccontextmanager
async def read_side(app: FastAPI) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """Opened by the app's lifespan: ``app.state.read_sessionmaker``."""
    engine = make_read_engine(app.state.settings)
    app.state.read_sessionmaker = make_sessionmaker(engine)
    try:
        yield app.state.read_sessionmaker
    finally:
        await engine.dispose()


@asynccontextmanager
async def read_scope(maker: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    """One read-only unit of work (rolled back at the end: there is nothing to commit)."""
    async with maker() as session:
        try:
            yield session
        finally:
            await session.rollback()


async def get_read_session(request: Request) -> AsyncIterator[AsyncSession]:
    async with read_scope(request.app.state.read_sessionmaker) as session:
        yield session


ReadSession = Annotated[AsyncSession, Depends(get_read_session)]

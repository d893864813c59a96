"""Engine, sessions and the after-commit side-effect queue.

Services flush, never commit. The request dependency (``get_session``) and
``session_scope`` for workers own the transaction; side effects registered with
``after_commit`` run only once the transaction has committed and are dropped on
rollback.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from arc.kit.errors import AppError, database_unreachable

__all__ = ["database_unreachable"]

log = logging.getLogger(__name__)

SideEffect = Callable[[], Awaitable[None]]
_KEY = "after_commit"


def make_engine(url: str, **kwargs) -> AsyncEngine:
    kwargs.setdefault("pool_size", 10)
    kwargs.setdefault("max_overflow", 20)
    kwargs.setdefault("pool_pre_ping", True)
    return create_async_engine(url, **kwargs)


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=True)


def after_commit(session: AsyncSession, effect: SideEffect) -> None:
    """Queue ``effect`` to run after this session's transaction commits."""
    session.info.setdefault(_KEY, []).append(effect)


async def run_side_effects(session: AsyncSession) -> None:
    effects: list[SideEffect] = session.info.pop(_KEY, [])
    for effect in effects:
        try:
            await effect()
        except Exception:  # a failed notification must not undo committed work
            log.exception("side effect failed after commit")


def drop_side_effects(session: AsyncSession) -> None:
    session.info.pop(_KEY, None)


@asynccontextmanager
async def session_scope(maker: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    """One unit of work: commit on success, roll back on error, then side effects.

    An ``AppError`` raised with ``keep_writes=True`` commits what was written before it and is
    then re-raised (the refusal still reaches the caller)."""
    async with maker() as session:
        try:
            yield session
            await session.commit()
        except AppError as exc:
            if not exc.keep_writes:
                drop_side_effects(session)
                await session.rollback()
                raise
            try:
                await session.commit()
            except BaseException:
                drop_side_effects(session)
                await session.rollback()
                raise
            await run_side_effects(session)
            raise
        except BaseException:
            drop_side_effects(session)
            await session.rollback()
            raise
        await run_side_effects(session)


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    async with session_scope(request.app.state.sessionmaker) as session:
        yield session


# scope="function": commit before the response is sent, so a 2xx means committed.
Session = Annotated[AsyncSession, Depends(get_session, scope="function")]

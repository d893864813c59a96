"""Engine, sessions and the after-commit side-effect queue.

Services flush, never commit. The request dependency (``get_session``) and
``session_scope`` for workers own the transaction; side effects registered with
``after_commit`` run only once the transaction has committed and are dropped on
rollback.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy import Table, event
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import make_transient_to_detached

from arc.kit.errors import AppError, database_unreachable

__all__ = ["database_unreachable"]

log = logging.getLogger(__name__)

SideEffect = Callable[[], Awaitable[None]]
_KEY = "after_commit"


def make_engine(url: str, *, local_ping: bool = False, **kwargs) -> AsyncEngine:
    """The engine; each pooled connection is pinged before use (``pool_pre_ping``) unless
    ``local_ping``: then a connection is only checked to be still open on our side, with no round
    trip (the ping is three: BEGIN, an empty statement, ROLLBACK — a fifth of an alarm's, which
    ``lifeline ingest`` cannot spare). A connection the database closed (a restart, an
    administrator) is still replaced before use; one lost without a word (a cable cut) fails its
    statement, as it could between a ping and that statement anyway."""
    kwargs.setdefault("pool_size", 10)
    kwargs.setdefault("max_overflow", 20)
    kwargs.setdefault("pool_pre_ping", not local_ping)
    engine = create_async_engine(url, **kwargs)
    if local_ping:
        event.listen(engine.sync_engine.pool, "checkout", _closed_on_our_side)
    return engine


def _closed_on_our_side(dbapi_connection, _record, _proxy) -> None:
    """Pool checkout: a connection whose socket the database has closed is discarded and another
    one taken (SQLAlchemy retries the checkout on ``DisconnectionError``)."""
    driver_connection = getattr(dbapi_connection, "driver_connection", None)
    if driver_connection is not None and driver_connection.is_closed():
        raise DisconnectionError("the database closed this connection")


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


async def driver(session: AsyncSession) -> Any:
    """The session's own asyncpg connection, inside the session's transaction.

    For the few statements on the alarm path run thousands of times a minute (the ingest, the
    alarm write path): SQLAlchemy's work around one statement (compiling from its cache, the
    execution context, the result, the greenlet hop) costs ~0.4 ms of CPU, the statement itself on
    the bare connection ~0.07 ms. Same connection and transaction, so the same COMMIT or ROLLBACK
    (savepoints included); SQL with ``$n`` parameters; ``jsonb`` goes in as JSON text and comes back
    as Python (the dialect's codecs). Pending ORM changes are flushed first, as a query through the
    session would, so a statement here sees them.
    """
    if session.new or session.dirty or session.deleted:
        await session.flush()
    # the innermost transaction: the ORM sends a savepoint's SAVEPOINT only once it is asked for the connection
    transaction = innermost_transaction(session)
    cached = session.info.get(_DRIVER)
    if transaction is not None and cached is not None and cached[0] is transaction:
        return cached[1]
    connection = await session.connection()
    pooled = await connection.get_raw_connection()
    adapted = pooled.dbapi_connection
    if adapted._transaction is None:  # the dialect's adapter sends BEGIN lazily, before its first statement
        await adapted._start_transaction()
    raw = pooled.driver_connection
    session.info[_DRIVER] = (innermost_transaction(session), raw)
    return raw


def innermost_transaction(session: AsyncSession) -> Any:
    """The session's current savepoint, else its transaction (None outside one): what a lock or a
    connection taken now belongs to, and is released or rolled back with."""
    sync = session.sync_session
    return sync.get_nested_transaction() or sync.get_transaction()


_DRIVER = "driver_connection"


def loaded(session: AsyncSession, instance: Any) -> Any:
    """An object whose row was just written on the bare connection becomes the session's, as if
    loaded from it: no pending changes, later changes flushed as UPDATEs. Every column must be set
    (an unset one would be loaded lazily, which an async session cannot do)."""
    make_transient_to_detached(instance)
    session.add(instance)
    return instance


def from_row(session: AsyncSession, model: type, row: Mapping[str, Any]) -> Any:
    """The session's object for a row read on the bare connection: the one it already holds (with
    this transaction's changes), else a new one made from the row, as if loaded."""
    mapper = sa_inspect(model)
    existing = session.sync_session.identity_map.get(mapper.identity_key_from_primary_key((row["id"],)))
    if existing is not None:
        return existing
    return loaded(session, model(**{prop.key: row[prop.columns[0].name] for prop in mapper.column_attrs}))


def column_values(instance: Any, table: Table, now: datetime) -> dict[str, Any]:
    """Every column of a new ``instance`` but its id, as an INSERT on the bare connection needs
    them: what the caller set, else the column's default (a server ``now()`` default: ``now``);
    the instance takes the defaults too, so that ``loaded`` finds every column set."""
    values: dict[str, Any] = {}
    state = instance.__dict__
    for column in table.columns:
        if column.primary_key:
            continue
        if column.key in state:
            values[column.key] = state[column.key]
            continue
        default = column.default
        if default is not None and default.is_scalar:
            value = default.arg
        elif default is not None and default.is_callable:
            value = default.arg(None)
        elif column.server_default is not None and "now()" in str(getattr(column.server_default, "arg", "")):
            value = now
        elif column.nullable:
            value = None
        else:  # pragma: no cover - a programming error: a required column left unset
            raise ValueError(f"{table.name}.{column.key} not set")
        setattr(instance, column.key, value)
        values[column.key] = value
    return values


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    async with session_scope(request.app.state.sessionmaker) as session:
        yield session


# scope="function": commit before the response is sent, so a 2xx means committed.
Session = Annotated[AsyncSession, Depends(get_session, scope="function")]

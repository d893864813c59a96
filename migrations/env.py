"""Alembic environment: async engine, metadata of every package's models."""

from __future__ import annotations

import asyncio
import os

from alembic import context
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

import arc.models  # noqa: F401 - registers every arc/devices table
from arc.kit.model import Base

config = context.config
target_metadata = Base.metadata


def _url() -> str:
    url = config.attributes.get("url") or os.environ.get("LIFELINE_DATABASE_URL")
    if not url:
        raise RuntimeError("set LIFELINE_DATABASE_URL (or use `lifeline migrate`)")
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            url = "postgresql+asyncpg://" + url[len(prefix) :]
    return url


def _include_object(obj, name, type_, reflected, compare_to) -> bool:
    """Trigram indexes (``trgm_*``) exist only where the server ships pg_trgm (see the
    journey_0001 migration), so the models do not declare them and the check ignores them."""
    return not (type_ == "index" and reflected and compare_to is None and (name or "").startswith("trgm_"))


def _ours(name, type_, parent_names) -> bool:
    """procrastinate's tables are made from its own schema file (migration house_0001), not models."""
    return not (type_ == "table" and name and name.startswith("procrastinate_"))


def _configure(connection: Connection | None = None, **kw) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        include_name=_ours,
        include_object=_include_object,
        compare_type=True,
        compare_server_default=False,
        **kw,
    )


def run_migrations_offline() -> None:
    _configure(url=_url(), literal_binds=True, dialect_opts={"paramstyle": "named"})
    with context.begin_transaction():
        context.run_migrations()


def _run_sync(connection: Connection) -> None:
    _configure(connection)
    with context.begin_transaction():
        context.run_migrations()


async def _run_async() -> None:
    engine = create_async_engine(_url())
    async with engine.connect() as connection:
        await connection.run_sync(_run_sync)
    await engine.dispose()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run_sync(connection)
        return
    asyncio.run(_run_async())


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()

"""The alarm path's bare asyncpg statements run in the session's own transaction."""

from __future__ import annotations

from sqlalchemy import text

from arc.kit.db import driver, make_sessionmaker, session_scope
from arc.registry.units import Unit


async def _units(db) -> list[str]:
    async with make_sessionmaker(db)() as s:
        return list(await s.scalars(text("SELECT cid FROM units ORDER BY cid")))


async def test_a_statement_first_in_a_transaction_is_rolled_back_with_it(db):
    """Before any SQLAlchemy statement the dialect has not sent BEGIN yet: the bare statement
    must not run outside the transaction (it would stay written after the rollback)."""
    async with make_sessionmaker(db)() as session:
        raw = await driver(session)
        await raw.execute("INSERT INTO units (cid, model, is_mobile) VALUES ($1, 'Hub', false)", "7001")
        assert await session.scalar(text("SELECT count(*) FROM units WHERE cid = '7001'")) == 1
        await session.rollback()
    assert await _units(db) == []


async def test_commit_keeps_both_and_a_new_transaction_gets_the_connection_again(db):
    async with session_scope(make_sessionmaker(db)) as session:
        await session.execute(text("INSERT INTO units (cid, model, is_mobile) VALUES ('7002', 'Hub', false)"))
        raw = await driver(session)
        await raw.execute("INSERT INTO units (cid, model, is_mobile) VALUES ($1, 'Hub', false)", "7003")
        await session.commit()
        raw = await driver(session)  # the next transaction of the same session
        await raw.execute("INSERT INTO units (cid, model, is_mobile) VALUES ($1, 'Hub', false)", "7004")
        await session.rollback()
    assert await _units(db) == ["7002", "7003"]


async def test_pending_orm_changes_are_visible_to_a_bare_statement(db):
    async with make_sessionmaker(db)() as session:
        session.add(Unit(cid="7005", model="Hub", is_mobile=False))
        raw = await driver(session)
        assert await raw.fetchval("SELECT count(*) FROM units WHERE cid = $1", "7005") == 1
        await session.rollback()
    assert await _units(db) == []


async def test_a_savepoint_rolled_back_takes_the_bare_statement_with_it(db):
    async with session_scope(make_sessionmaker(db)) as session:
        await driver(session)
        async with session.begin_nested() as nested:
            raw = await driver(session)
            await raw.execute("INSERT INTO units (cid, model, is_mobile) VALUES ($1, 'Hub', false)", "7006")
            await nested.rollback()
        raw = await driver(session)
        await raw.execute("INSERT INTO units (cid, model, is_mobile) VALUES ($1, 'Hub', false)", "7007")
    assert await _units(db) == ["7007"]

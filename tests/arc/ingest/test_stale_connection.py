"""``lifeline ingest`` does not ping a pooled connection before each transaction (it cost an alarm
three round trips of fourteen): a connection the database has closed meanwhile (a restart, an
administrator) must still cost no batch its answers — the batch is stored on a new connection,
not answered snu 5 (not treated) as if the database were away."""

from __future__ import annotations

import json

from sqlalchemy import select, text

from arc.ingest.models import InboxMessage
from arc.ingest.pipeline import Incoming, Pipeline
from arc.kit.db import make_engine, make_sessionmaker
from tests.factories import create_customer_with_unit


async def test_a_batch_on_a_connection_the_database_closed_is_stored_on_a_new_one(
    settings, database_url, db, session, clock
):
    _, unit, _ = await create_customer_with_unit(session)
    await session.commit()
    engine = make_engine(database_url, pool_size=1, max_overflow=0, local_ping=True)
    try:
        async with engine.connect() as conn:  # the pool's one connection, then closed by the database
            pid = (await conn.execute(text("SELECT pg_backend_pid()"))).scalar_one()
        await session.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        await session.commit()

        alarm = Incoming(
            settings.topic(unit.cid, "mrq"), json.dumps({"ref": "R1", "cid": unit.cid, "dty": "3"}).encode()
        )
        replies = await Pipeline(settings, make_sessionmaker(engine), clock).handle([alarm])
        assert json.loads(replies[0].payload)["snu"] == 4  # held for an operator: stored, not snu 5
        stored = (await session.scalars(select(InboxMessage.ref).where(InboxMessage.cid == unit.cid))).all()
        assert stored == ["R1"]
    finally:
        await engine.dispose()

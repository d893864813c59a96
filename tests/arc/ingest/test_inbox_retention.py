"""Inbox retention on a moving clock: old heartbeats and rejected messages go, in bounded chunks;
every message of an alarm's session stays with the call history."""

from __future__ import annotations

from sqlalchemy import select

from arc.ingest.models import InboxMessage, RejectedMessage
from arc.ingest.retention import purge_inbox, retention_job
from arc.jobs import JOBS, scheduler_component
from tests.arc.ingest.conftest import FakeUnit, count
from tests.factories import create_customer_with_unit


async def test_old_heartbeats_and_rejects_go_while_every_message_of_an_alarm_stays(
    app, unit: FakeUnit, session, clock
):
    _, hub, _ = await create_customer_with_unit(session)
    await session.commit()
    await unit.send(hub.cid, {"ref": "HB1", "cid": hub.cid, "dty": "1", "mty": "PI"})
    await unit.send(hub.cid, {"ref": "T1", "cid": hub.cid, "dty": "1", "stc": "102"})
    await unit.send(hub.cid, {"ref": "A1", "cid": hub.cid, "dty": "3"})
    await unit.send(hub.cid, {"ref": "A1", "cid": hub.cid, "dty": "3", "mty": "RE"})
    await unit.send(hub.cid, {"ref": "A1", "cid": hub.cid, "dty": "3", "mty": "IN", "stc": "102"})
    await unit.send(hub.cid, b"not a message")

    clock.advance(days=31)
    await retention_job(app)
    assert await count(session, RejectedMessage) == 0  # 30 days
    assert await count(session, InboxMessage) == 5  # 90 days
    await unit.send(hub.cid, {"ref": "HB2", "cid": hub.cid, "dty": "1", "mty": "PI"})

    clock.advance(days=60)  # 91 days after the first messages, 60 after the second
    await unit.send(hub.cid, b"still not a message")
    await retention_job(app)
    kept = set((await session.execute(select(InboxMessage.ref, InboxMessage.mty))).all())
    assert kept == {("A1", "ME"), ("A1", "RE"), ("A1", "IN"), ("HB2", "PI")}
    assert await count(session, RejectedMessage) == 1


async def test_a_backlog_is_deleted_in_bounded_chunks_in_one_run(app, unit: FakeUnit, session, clock):
    cid = "4400123"
    for n in range(7):
        await unit.send(cid, {"ref": f"HB{n}", "cid": cid, "dty": "1", "mty": "PI"})
    clock.advance(days=app.state.settings.inbox_retention_days, seconds=1)
    report = await purge_inbox(app.state.sessionmaker, clock.now(), app.state.settings, chunk=3)
    assert (report.inbox_deleted, report.rejected_deleted) == (7, 0)
    assert await count(session, InboxMessage) == 0


async def test_retention_is_a_scheduled_job_of_the_leader(app):
    async with scheduler_component(app):
        assert "inbox_retention" in app.state.scheduler.jobs
        assert JOBS["inbox_retention"].seconds(app.state.settings) == 3600
        assert "live_events_retention" in app.state.scheduler.jobs  # dashboards' event log too

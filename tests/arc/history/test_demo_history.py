"""The demo's history makes the flags the TEC pages are meant to show."""

from __future__ import annotations

from sqlalchemy import select

from arc.history.demo import seed_history
from arc.history.flags import flags_for_customer
from arc.history.jobs import evaluate_flags
from arc.registry.models import Customer
from arc.seed import demo_cids, seed_demo


async def test_demo_history_flags_the_caller_the_faller_the_cluster_and_the_improver(app, session, clock):
    await seed_demo(session, install_date=clock.now().date())
    added = await seed_history(session, demo_cids(), now=clock.now())
    assert added > 200
    assert await seed_history(session, demo_cids(), now=clock.now()) == 0  # idempotent
    await session.commit()
    await evaluate_flags(app)
    people = list(await session.scalars(select(Customer).order_by(Customer.id)))
    kinds = [{f["kind"] for f in await flags_for_customer(session, p.id)} for p in people]
    assert "frequent_caller" in kinds[0]
    assert "falls" in kinds[1]
    assert "cluster" in kinds[2]
    assert "trend_falling" in kinds[3]
    assert kinds[4] <= {"false_alarms"}
    assert "equipment" in kinds[5]

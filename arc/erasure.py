"""Retention: erase the personal and health data of customers withdrawn longer ago than
``LIFELINE_RETENTION_DAYS``, keeping what finance must keep.

Each domain owns an eraser for its own tables (``arc/kit/erasure.py``: ``async def erase(session,
customer_ids, now) -> int``); this composition layer runs them all, in one transaction, then
records the erasure in the audit log. Idempotent. What each keeps and drops is written in its
module:

- ``arc.registry.erasure`` — the customer row (id, case reference, connections stay), responders;
- ``arc.alarms.erasure`` — alarm free text and position, the alarm log's free text, the alarms'
  live events;
- ``arc.dispatch.erasure`` — task notes, delivery details;
- ``arc.ingest.erasure`` — the inbox messages of the customer's alarms, down to their codes;
- ``arc.history.erasure`` — the TEC team's notes on the person's flags.

The audit log is append-only and holds ids, codes and field names, not the data itself: it keeps
the record that the erasure happened. Billing (``billing/``) adds its eraser to ``ERASERS`` when
it holds personal data outside what the law requires it to keep on issued invoices (payer name
and address on a document stay for the statutory period; accounts and letters do not).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from arc.alarms import erasure as alarms_erasure
from arc.audit.service import record
from arc.auth.service import forget_old_failures
from arc.dispatch import erasure as dispatch_erasure
from arc.history import erasure as history_erasure
from arc.ingest import erasure as ingest_erasure
from arc.kit.erasure import Eraser
from arc.kit.settings import Settings
from arc.registry import erasure as registry_erasure
from arc.registry.models import Connection, Customer

# Order: the alarm-side erasers find the customer's alarms by customer_id, which stays; the
# registry's runs last so a failure anywhere leaves the customer not erased (and retried).
ERASERS: list[Eraser] = [
    ingest_erasure.erase,
    dispatch_erasure.erase,
    alarms_erasure.erase,
    history_erasure.erase,
    registry_erasure.erase,
]


@dataclass
class PurgeReport:
    cutoff: str
    customer_ids: list[int] = field(default_factory=list)
    login_failures_forgotten: int = 0


async def due_for_erasure(session: AsyncSession, now: datetime, settings: Settings) -> tuple[list[int], str]:
    """Customers whose every connection is withdrawn, the last more than the retention period ago."""
    cutoff = (now.astimezone(settings.zone) - timedelta(days=settings.retention_days)).date()
    live = select(Connection.customer_id).where(Connection.status != "withdrawn")
    stmt = (
        select(Connection.customer_id)
        .join(Customer, Customer.id == Connection.customer_id)
        .where(Customer.erased_at.is_(None), Connection.customer_id.not_in(live))
        .group_by(Connection.customer_id)
        .having(func.max(Connection.withdrawn_on) < cutoff)
        .order_by(Connection.customer_id)
    )
    return list((await session.scalars(stmt)).all()), cutoff.isoformat()


async def erase_customers(session: AsyncSession, customer_ids: list[int], now: datetime, actor: str) -> int:
    """Run every domain's eraser over ``customer_ids``; one audit row per customer. Flushes."""
    if not customer_ids:
        return 0
    changed = 0
    for eraser in ERASERS:
        changed += await eraser(session, customer_ids, now)
    for customer_id in customer_ids:
        await record(
            session,
            actor=actor,
            action="erase",
            object_type="customer",
            object_id=customer_id,
            customer_id=customer_id,
            at=now,
            detail={"policy": "retention"},
        )
    await session.flush()
    return changed


async def purge(
    session: AsyncSession, now: datetime, settings: Settings, *, dry_run: bool = False, actor: str = "system"
) -> PurgeReport:
    due, cutoff = await due_for_erasure(session, now, settings)
    report = PurgeReport(cutoff=cutoff, customer_ids=due)
    if dry_run:
        return report
    await erase_customers(session, due, now, actor)
    report.login_failures_forgotten = await forget_old_failures(session, now)
    return report

"""Billing's scheduled work, run by the scheduler leader only (one process).

``daily_job`` is listed in the composition layer's job list (``arc/jobs.py``). The daily
job runs hourly and is idempotent, so a missed hour or a restart costs nothing: it invoices the
current quarter for every connection not yet invoiced (the quarter-start run, and first invoices
as trials end and reviews are recorded), catches up the previous quarter (a late review bills
from day 43), and raises the credit notes for withdrawals and late waivers.
"""

from __future__ import annotations

from datetime import datetime

from billing.periods import Quarter, london_date
from billing.runs import RunSummary, run_quarter
from billing.settings import BillingSettings, get_billing_settings
from billing.stripe_sync import push_pending


async def daily(maker, settings: BillingSettings, now: datetime) -> RunSummary:
    current = Quarter.containing(london_date(now))
    total = RunSummary(quarter=f"{current.previous()}..{current}", dry_run=False)
    for quarter in (current.previous(), current):
        part = await run_quarter(
            maker, quarter, now=now, settings=settings, started_by="scheduler", kind="daily"
        )
        total.connections += part.connections
        total.invoices += part.invoices
        total.credit_notes += part.credit_notes
        total.invoiced_pence += part.invoiced_pence
        total.credited_pence += part.credited_pence
        total.waived_pence += part.waived_pence
        for reason, n in part.by_reason.items():
            total.by_reason[reason] = total.by_reason.get(reason, 0) + n
    return total


async def daily_job(app) -> None:
    settings = getattr(app.state, "billing_settings", None) or get_billing_settings()
    await daily(app.state.sessionmaker, settings, app.state.clock.now())


async def stripe_job(app) -> None:
    """Push documents waiting for Stripe (nothing when no key is configured)."""
    settings = getattr(app.state, "billing_settings", None) or get_billing_settings()
    await push_pending(app.state.sessionmaker, settings)

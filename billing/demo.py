"""A believable billing history for ``lifeline demo``: past quarters invoiced (most paid, some
owing), first invoices as trials ended, a credit note after a death, an approved hardship waiver,
a daughter paying by Direct Debit. Fictional people only. Idempotent: nothing is added when the
ledger already has documents.

Called by the composition layer (arc/cli.py) after the demo users exist:
``await billing.demo.seed(session, now=...)``.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from arc.auth.models import User
from arc.registry.models import Connection, Customer
from billing.accounts import accounts_for, payer_of
from billing.invoicing import IssueContext, invoice_draft
from billing.ledger import issue
from billing.models import Document, Run, Tariff, TariffPrice, Waiver
from billing.periods import Quarter, first_chargeable_day, london_date, quarters_between
from billing.runs import approved_waivers, candidates, count_into, issue_context, issue_due_credits
from billing.settings import BillingSettings
from billing.tariffs import DEFAULT_WEEKLY_PENCE, ensure_default_tariffs
from billing.tasks import SEND_DOCUMENTS

# (given, family, street, postcode, days since install)
PEOPLE = [
    ("Edna", "Fairweather", "14 Primrose Walk", "CB4 3HG", 430),
    ("Walter", "Briggs", "2 Tenison Road", "CB1 2DG", 330),
    ("Joan", "Abbott", "9 Coleridge Court", "CB1 3PH", 300),
    ("Frank", "Osei", "31 Histon Road", "CB4 3JB", 250),
    ("Mavis", "Lund", "6 Beche Road", "CB5 8HX", 20),
]


async def seed(session: AsyncSession, *, now: datetime, settings: BillingSettings | None = None) -> int:
    """Add the billing demo; returns how many documents were issued (0 when already seeded)."""
    if await session.scalar(select(Document.id).limit(1)) is not None:
        return 0
    settings = settings or BillingSettings()
    today = london_date(now)
    since = today - timedelta(days=800)
    await ensure_default_tariffs(session, since=since)
    for tariff in (
        await session.scalars(select(Tariff))
    ).all():  # the demo's history predates the default price
        earliest = await session.scalar(
            select(func.min(TariffPrice.effective_from)).where(TariffPrice.tariff_id == tariff.id)
        )
        if earliest is None or earliest > since:
            session.add(
                TariffPrice(tariff_id=tariff.id, effective_from=since, weekly_pence=DEFAULT_WEEKLY_PENCE)
            )
    await session.flush()
    conns = {}
    for given, family, street, postcode, age in PEOPLE:
        customer = Customer(
            case_ref=f"DEMO-B{len(conns) + 1:03d}",
            given_name=given,
            family_name=family,
            address_line1=street,
            town="Cambridge",
            postcode=postcode,
        )
        session.add(customer)
        await session.flush()
        install = today - timedelta(days=age)
        retained = age > 42
        conn = Connection(
            customer_id=customer.id,
            install_date=install,
            status="active" if retained else "trial",
            activated_on=first_chargeable_day(install) if retained else None,
            review_outcome="retained" if retained else None,
            review_recorded_at=now - timedelta(days=age - 40) if retained else None,
        )
        session.add(conn)
        await session.flush()
        conns[family] = conn
    accounts = await accounts_for(session, [c.customer_id for c in conns.values()])
    daughter = accounts[conns["Fairweather"].customer_id]
    daughter.payer_name, daughter.payer_relationship = "Mrs Susan Hale (daughter)", "daughter"
    daughter.payer_address, daughter.payer_postcode = "22 Oak Lane\nGreat Shelford\nCambridge", "CB22 5JA"
    daughter.payment_method, daughter.mandate_reference = "direct_debit", "DD-LL-004417"
    accounts[conns["Briggs"].customer_id].large_print = True
    await session.flush()

    issued = await _invoice_history(session, settings, today, now)
    await _pay(session, today, unpaid_family=("Briggs",))
    issued += await _withdraw(session, settings, conns["Abbott"], today)
    issued += await _waive(session, settings, conns["Osei"], today, now)
    return issued


async def _invoice_history(
    session: AsyncSession, settings: BillingSettings, today: date, now: datetime
) -> int:
    base = await issue_context(session, settings, today)
    first = Quarter.containing(today - timedelta(days=440))
    total = 0
    for quarter in quarters_between(first, Quarter.containing(today)):
        rows = (await session.execute(candidates(quarter).order_by(Connection.id))).all()
        if not rows:
            continue
        accounts = await accounts_for(session, [r.customer_id for r in rows])
        waivers = await approved_waivers(session, [r.id for r in rows], quarter)
        drafts = []
        for row in rows:
            start = max(quarter.start, first_chargeable_day(row.install_date))
            if start > today:
                continue
            ctx = IssueContext(
                start, base.payment_terms_days, base.standard_vat_bp, base.tariffs, base.stripe
            )
            account = accounts.get(row.customer_id)
            draft = invoice_draft(ctx, quarter, row, account, payer_of(row, account), waivers.get(row.id, ()))
            if draft:
                drafts.append(draft)
        drafts.sort(key=lambda d: (d.issue_date, d.connection_id))
        at = datetime.combine(quarter.start, datetime.min.time()).replace(tzinfo=now.tzinfo)
        run = Run(
            kind="quarter",
            quarter=quarter.label,
            status="finished",
            started_by="demo",
            started_at=at,
            finished_at=at,
        )
        session.add(run)
        await session.flush()
        await issue(session, drafts, run.id, send=SEND_DOCUMENTS)
        count_into(run, drafts, len(rows))
        total += len(drafts)
    return total


async def _pay(session: AsyncSession, today: date, unpaid_family: tuple[str, ...]) -> None:
    """Invoices due more than a week ago are paid, except the ones of ``unpaid_family``."""
    owing = select(Customer.id).where(Customer.family_name.in_(unpaid_family))
    await session.execute(
        update(Document)
        .where(Document.doc_type == "invoice", Document.due_date < today - timedelta(days=7))
        .where(Document.customer_id.not_in(owing))
        .values(payment_state="paid", paid_on=Document.due_date)
    )


async def _withdraw(session: AsyncSession, settings: BillingSettings, conn: Connection, today: date) -> int:
    """Joan Abbott died part-way through the invoiced quarter: a credit note for the unused days."""
    quarter = Quarter.containing(today)
    last_day = max(quarter.start, today - timedelta(days=10))
    conn.status, conn.withdrawn_on, conn.withdrawal_reason = "withdrawn", last_day, "death"
    await session.flush()
    return len(await issue_due_credits(session, settings, today))


async def _waive(
    session: AsyncSession, settings: BillingSettings, conn: Connection, today: date, now: datetime
) -> int:
    """Frank Osei's charges waived for four weeks of last quarter: asked by finance, approved by a supervisor."""
    users = {
        u.username: u
        for u in (
            await session.scalars(select(User).where(User.username.in_(("finance", "supervisor"))))
        ).all()
    }
    if {"finance", "supervisor"} - users.keys():
        return 0
    previous = Quarter.containing(today).previous()
    start = previous.start + timedelta(days=14)
    session.add(
        Waiver(
            connection_id=conn.id,
            customer_id=conn.customer_id,
            start_date=start,
            end_date=start + timedelta(days=27),
            reason="Hardship: pension credit claim pending (financial assessment ref FA-2291)",
            status="approved",
            requested_by_id=users["finance"].id,
            requested_at=now - timedelta(days=3),
            decided_by_id=users["supervisor"].id,
            decided_at=now - timedelta(days=2),
        )
    )
    await session.flush()
    return len(await issue_due_credits(session, settings, today))

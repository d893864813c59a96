"""Billing runs: a quarter's invoices, then the credit notes withdrawals and late waivers call for.

Safe to repeat and to kill. Connections are taken in id order, ``batch_size`` at a time; each
batch's documents, their numbers and the run's cursor commit together, so a run killed at any
point (kill -9 included) leaves whole batches only, and starting it again resumes the unfinished
run after its cursor. A connection already invoiced for the quarter is never invoiced again (the
query skips it; a unique index backs that up), so a second run of a quarter creates nothing.
Batches of concurrent runs are serialised by a transaction-level advisory lock.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import exists, func, or_, select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from arc.kit.db import session_scope
from arc.kit.errors import Unprocessable
from arc.registry.models import Connection, Customer
from billing.accounts import accounts_for, payer_of
from billing.invoicing import IssueContext, credit_draft, invoice_draft, waiver_days, withdrawal_days
from billing.ledger import DraftDocument, issue
from billing.models import Account, Document, DocumentLine, Run, Waiver
from billing.periods import TRIAL_DAYS, Quarter, london_date
from billing.settings import BillingSettings
from billing.tariffs import load_tariffs
from billing.tasks import SEND_DOCUMENTS

ISSUE_LOCK = 0x0B111E  # pg_advisory_xact_lock key taken by every batch that issues documents
Progress = Callable[[int, int], None]  # (connections done, connections to do)

CONNECTION_COLUMNS = (
    Connection.id,
    Connection.customer_id,
    Connection.tariff_code,
    Connection.install_date,
    Connection.activated_on,
    Connection.review_outcome,
    Connection.withdrawn_on,
    Customer.given_name,
    Customer.family_name,
    Customer.address_line1,
    Customer.address_line2,
    Customer.town,
    Customer.postcode,
)


@dataclass
class RunSummary:
    quarter: str
    dry_run: bool
    run_id: int | None = None
    resumed: bool = False
    connections: int = 0
    invoices: int = 0
    credit_notes: int = 0
    invoiced_pence: int = 0
    credited_pence: int = 0
    waived_pence: int = 0
    by_reason: dict[str, int] = field(default_factory=dict)

    def add(self, drafts: list[DraftDocument]) -> None:
        for d in drafts:
            self.by_reason[d.reason] = self.by_reason.get(d.reason, 0) + 1
        tally(self, drafts)


def tally(totals, drafts: list[DraftDocument]) -> None:
    """Add ``drafts`` to the counters of a ``RunSummary`` or a ``Run`` row (the same names)."""
    for d in drafts:
        if d.doc_type == "invoice":
            totals.invoices += 1
            totals.invoiced_pence += d.net_pence
            totals.waived_pence -= sum(li.net_pence for li in d.lines if li.kind == "waiver")
        else:
            totals.credit_notes += 1
            totals.credited_pence += d.net_pence
            totals.waived_pence += d.net_pence if d.reason == "waiver" else 0


def check_quarter(quarter: Quarter, today: date) -> None:
    """A quarter may be run once it is the current one or the next (invoices go out in advance)."""
    nxt = Quarter.containing(today).next()
    if quarter > nxt:
        raise Unprocessable(
            f"quarter {quarter} is in the future beyond the next one ({nxt}); it can be run from {quarter.previous().start}",
            field="quarter",
        )


def _invoiced(quarter: Quarter):
    return exists().where(
        Document.doc_type == "invoice",
        Document.connection_id == Connection.id,
        Document.quarter == quarter.label,
    )


def candidates(quarter: Quarter):
    """Connections that may owe something in ``quarter`` and have no invoice for it yet."""
    retained = or_(
        Connection.review_outcome == "retained",
        Connection.review_outcome.is_(None) & Connection.activated_on.is_not(None),
    )
    return (
        select(*CONNECTION_COLUMNS)
        .join(Customer, Customer.id == Connection.customer_id)
        .where(
            retained,
            Connection.install_date <= quarter.end - timedelta(days=TRIAL_DAYS),
            or_(Connection.withdrawn_on.is_(None), Connection.withdrawn_on >= quarter.start),
            ~_invoiced(quarter),
        )
    )


async def approved_waivers(
    session: AsyncSession, connection_ids: list[int], quarter: Quarter
) -> dict[int, list]:
    rows = await session.execute(
        select(Waiver.connection_id, Waiver.start_date, Waiver.end_date).where(
            Waiver.connection_id.in_(connection_ids),
            Waiver.status == "approved",
            Waiver.start_date <= quarter.end,
            Waiver.end_date >= quarter.start,
        )
    )
    out: dict[int, list] = {}
    for cid, start, end in rows:
        out.setdefault(cid, []).append((start, end))
    return out


async def _invoice_batch(
    session: AsyncSession, ctx: IssueContext, quarter: Quarter, rows, *, create_accounts: bool
) -> list[DraftDocument]:
    ids = [r.id for r in rows]
    accounts = await accounts_for(session, [r.customer_id for r in rows], create=create_accounts)
    waivers = await approved_waivers(session, ids, quarter)
    drafts = []
    for row in rows:
        account = accounts.get(row.customer_id)
        draft = invoice_draft(ctx, quarter, row, account, payer_of(row, account), waivers.get(row.id, ()))
        if draft is not None:
            drafts.append(draft)
    return drafts


async def issue_context(session: AsyncSession, settings: BillingSettings, today: date) -> IssueContext:
    return IssueContext(
        issue_date=today,
        payment_terms_days=settings.payment_terms_days,
        standard_vat_bp=settings.standard_vat_basis_points,
        tariffs=await load_tariffs(session),
        stripe=settings.stripe_enabled,
    )


async def _start(maker, quarter: Quarter, kind: str, started_by: str, now: datetime) -> tuple[int, bool]:
    async with session_scope(maker) as s:
        run = await s.scalar(
            select(Run).where(Run.quarter == quarter.label, Run.status == "running").with_for_update()
        )
        if run is not None:
            run.resumed += 1
            return run.id, True
        run = Run(kind=kind, quarter=quarter.label, status="running", started_by=started_by, started_at=now)
        s.add(run)
        await s.flush()
        return run.id, False


async def run_quarter(
    maker: async_sessionmaker[AsyncSession],
    quarter: Quarter,
    *,
    now: datetime,
    settings: BillingSettings,
    started_by: str = "cli",
    kind: str = "quarter",
    dry_run: bool = False,
    progress: Progress | None = None,
    check: bool = True,
) -> RunSummary:
    """Invoice ``quarter`` and raise the credit notes due; ``dry_run`` computes and writes nothing."""
    today = london_date(now)
    if check:
        check_quarter(quarter, today)
    summary = RunSummary(quarter=quarter.label, dry_run=dry_run)
    async with maker() as s:
        todo = await s.scalar(select(func.count()).select_from(candidates(quarter).subquery()))
    if dry_run:
        await _dry_run(maker, quarter, settings, today, summary, todo, progress)
        return summary
    summary.run_id, summary.resumed = await _start(maker, quarter, kind, started_by, now)
    done = 0
    while True:
        async with session_scope(maker) as s:
            await s.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": ISSUE_LOCK})
            run = await s.get(Run, summary.run_id, with_for_update=True)
            stmt = candidates(quarter).where(Connection.id > run.cursor_connection_id)
            rows = (await s.execute(stmt.order_by(Connection.id).limit(settings.run_batch_size))).all()
            if not rows:
                break
            ctx = await issue_context(s, settings, today)
            drafts = await _invoice_batch(s, ctx, quarter, rows, create_accounts=True)
            await issue(s, drafts, run.id, send=SEND_DOCUMENTS)
            summary.add(drafts)
            count_into(run, drafts, len(rows))
            run.cursor_connection_id = rows[-1].id
        done += len(rows)
        if progress:
            progress(done, todo)
        if settings.fault_pause_between_batches_s:
            await asyncio.sleep(settings.fault_pause_between_batches_s)
    await raise_credits(maker, settings, today, run_id=summary.run_id, summary=summary)
    async with session_scope(maker) as s:
        run = await s.get(Run, summary.run_id, with_for_update=True)
        run.status, run.finished_at = "finished", now
        summary.connections = run.connections_seen
    return summary


def count_into(run: Run, drafts: list[DraftDocument], seen: int) -> None:
    run.connections_seen += seen
    tally(run, drafts)


async def _dry_run(maker, quarter, settings, today, summary: RunSummary, todo: int, progress) -> None:
    cursor, done = 0, 0
    async with maker() as s:
        ctx = await issue_context(s, settings, today)
        while True:
            stmt = candidates(quarter).where(Connection.id > cursor).order_by(Connection.id)
            rows = (await s.execute(stmt.limit(settings.run_batch_size))).all()
            if not rows:
                break
            summary.add(await _invoice_batch(s, ctx, quarter, rows, create_accounts=False))
            cursor, done = rows[-1].id, done + len(rows)
            summary.connections = done
            if progress:
                progress(done, todo)
        summary.add(await _credit_drafts(s, ctx, limit=None))
        await s.rollback()


async def _credit_drafts(s: AsyncSession, ctx: IssueContext, limit: int | None) -> list[DraftDocument]:
    """Credit notes due: invoiced days after a withdrawal; invoiced days a later waiver covers."""
    withdrawn = (
        select(Document, Connection.withdrawn_on, Connection.withdrawal_reason, Account.payer_name)
        .join(Connection, Connection.id == Document.connection_id)
        .join(Account, Account.id == Document.account_id)
        .where(
            Document.doc_type == "invoice",
            Connection.withdrawn_on.is_not(None),
            Document.period_end > Connection.withdrawn_on,
            ~exists().where(_credit_of(Document.id, "withdrawal")),
        )
        .order_by(Document.id)
        .limit(limit)
    )
    late_waivers = (
        select(Document, Waiver)
        .join(Waiver, Waiver.connection_id == Document.connection_id)
        .where(
            Document.doc_type == "invoice",
            Waiver.status == "approved",
            ~exists().where(  # an invoice raised after approval already carries the waiver as a line
                DocumentLine.document_id == Document.id,
                DocumentLine.kind == "waiver",
                DocumentLine.period_start <= Waiver.end_date,
                DocumentLine.period_end >= Waiver.start_date,
            ),
            Waiver.start_date <= Document.period_end,
            Waiver.end_date >= Document.period_start,
            ~exists().where(_credit_of(Document.id, "waiver", Waiver.id)),
        )
        .order_by(Document.id)
        .limit(limit)
    )
    work = []
    for doc, last_day, why, separate_payer in (await s.execute(withdrawn)).all():
        if why == "death" and not separate_payer:  # the letter goes to the estate, not to the late customer
            s.expunge(doc)  # detached first: the issued invoice itself never changes
            doc.payer_name = f"The executor of the late {doc.payer_name}"[:200]
        work.append((doc, "withdrawal", withdrawal_days(last_day), None))
    work += [
        (doc, "waiver", waiver_days(wv.start_date, wv.end_date), wv.id)
        for doc, wv in (await s.execute(late_waivers)).all()
    ]
    if not work:
        return []
    ids = sorted({doc.id for doc, *_ in work})
    lines: dict[int, list[DocumentLine]] = {}
    for line in (
        await s.scalars(
            select(DocumentLine).where(DocumentLine.document_id.in_(ids)).order_by(DocumentLine.position)
        )
    ).all():
        lines.setdefault(line.document_id, []).append(line)
    given = dict(
        (
            await s.execute(
                select(Document.original_id, func.sum(Document.net_pence))
                .where(Document.original_id.in_(ids))
                .group_by(Document.original_id)
            )
        ).all()
    )
    drafts = []
    for doc, reason, days_of, waiver_id in work:
        draft = credit_draft(
            ctx,
            doc,
            lines.get(doc.id, []),
            days_of,
            reason=reason,
            already_credited_pence=given.get(doc.id, 0),
            waiver_id=waiver_id,
        )
        if draft is not None:
            given[doc.id] = given.get(doc.id, 0) + draft.net_pence
            drafts.append(draft)
    return drafts


def _credit_of(original_id, reason: str, waiver_id=None):
    credit = Document.__table__.alias("credit")
    cond = (
        (credit.c.doc_type == "credit_note")
        & (credit.c.original_id == original_id)
        & (credit.c.reason == reason)
    )
    if waiver_id is not None:
        cond = cond & (credit.c.waiver_id == waiver_id)
    return cond


async def issue_due_credits(
    s: AsyncSession, settings: BillingSettings, today: date, *, run_id: int | None = None, limit: int = 500
) -> list[DraftDocument]:
    """In this transaction: issue up to ``limit`` credit notes that are due. Flushes only."""
    await s.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": ISSUE_LOCK})
    ctx = await issue_context(s, settings, today)
    drafts = await _credit_drafts(s, ctx, limit=limit)
    if drafts:
        await issue(s, drafts, run_id, send=SEND_DOCUMENTS)
        if run_id is not None:
            count_into(await s.get(Run, run_id, with_for_update=True), drafts, 0)
    return drafts


async def raise_credits(
    maker,
    settings: BillingSettings,
    today: date,
    *,
    run_id: int | None = None,
    summary: RunSummary | None = None,
) -> int:
    """Issue every credit note due, 500 originals per transaction; returns how many were issued."""
    issued = 0
    while True:
        async with session_scope(maker) as s:
            drafts = await issue_due_credits(s, settings, today, run_id=run_id)
        if not drafts:
            return issued
        if summary is not None:
            summary.add(drafts)
        issued += len(drafts)

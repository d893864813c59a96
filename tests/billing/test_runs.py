"""Quarterly runs against the real database: idempotent, gap-free, credits exact."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select, text, update
from sqlalchemy.exc import DBAPIError

from arc.kit.errors import Unprocessable
from billing.models import Document, Run
from billing.periods import Quarter
from billing.runs import raise_credits, run_quarter
from tests.billing.conftest import add_connection, at, documents, lines_of, withdraw

Q2 = Quarter(2027, 2)


async def test_a_quarter_run_invoices_each_retained_connection_once_with_gap_free_numbers(
    maker, billing_settings
):
    full = await add_connection(maker, date(2026, 1, 10))
    first = await add_connection(maker, date(2027, 4, 1))  # day 43 = 13 May
    await add_connection(maker, date(2027, 4, 1), retained=False, withdrawn_on=date(2027, 5, 12))
    await add_connection(maker, date(2027, 4, 1), retained=None)  # review not recorded yet
    for _ in range(4):
        await add_connection(maker, date(2026, 6, 1))
    summary = await run_quarter(maker, Q2, now=at(date(2027, 4, 1)), settings=billing_settings)
    assert summary.invoices == 6 and summary.credit_notes == 0
    docs = await documents(maker, "invoice")
    assert [d.number for d in docs] == [1, 2, 3, 4, 5, 6]
    by_conn = {d.connection_id: d for d in docs}
    assert by_conn[full.id].net_pence == 6500 and by_conn[full.id].reason == "quarterly"
    assert by_conn[first.id].net_pence == 3500 and by_conn[first.id].reason == "first"
    assert (by_conn[first.id].period_start, by_conn[first.id].period_end) == (
        date(2027, 5, 13),
        date(2027, 6, 30),
    )
    assert summary.invoiced_pence == 6500 * 5 + 3500
    for d in docs:
        assert d.gross_pence == d.net_pence + d.vat_pence
        assert d.net_pence == sum(li.net_pence for li in await lines_of(maker, d.id))
        assert d.vat_treatment == "outside_scope" and d.vat_pence == 0
    # a re-run creates nothing new
    again = await run_quarter(maker, Q2, now=at(date(2027, 4, 2)), settings=billing_settings)
    assert again.invoices == 0 and len(await documents(maker)) == 6


async def test_a_dry_run_writes_nothing(maker, billing_settings):
    await add_connection(maker, date(2026, 1, 10))
    summary = await run_quarter(maker, Q2, now=at(date(2027, 4, 1)), settings=billing_settings, dry_run=True)
    assert summary.invoices == 1 and summary.invoiced_pence == 6500
    assert await documents(maker) == []
    async with maker() as s:
        assert await s.scalar(select(Run.id)) is None


async def test_a_quarter_beyond_the_next_is_refused(maker, billing_settings):
    with pytest.raises(Unprocessable, match="beyond the next one"):
        await run_quarter(maker, Quarter(2027, 4), now=at(date(2027, 4, 1)), settings=billing_settings)
    await run_quarter(maker, Quarter(2027, 3), now=at(date(2027, 4, 1)), settings=billing_settings)


async def test_a_run_interrupted_after_a_batch_resumes_without_gap_or_duplicate(maker, billing_settings):
    for _ in range(8):
        await add_connection(maker, date(2026, 1, 10))
    # a run that died after its first batch committed: the run row says running, cursor after 3
    calls = []

    def stop_after_first(done, todo):
        calls.append(done)
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        await run_quarter(
            maker, Q2, now=at(date(2027, 4, 1)), settings=billing_settings, progress=stop_after_first
        )
    assert len(await documents(maker)) == 3
    summary = await run_quarter(maker, Q2, now=at(date(2027, 4, 1)), settings=billing_settings)
    assert summary.resumed and summary.invoices == 5
    docs = await documents(maker)
    assert sorted(d.number for d in docs) == list(range(1, 9))
    assert len({d.connection_id for d in docs}) == 8
    async with maker() as s:
        (run,) = (await s.scalars(select(Run))).all()
        assert run.status == "finished" and run.invoices == 8 and run.resumed == 1


async def test_withdrawal_after_invoicing_is_credited_exactly_and_never_more(maker, billing_settings):
    conn = await add_connection(maker, date(2026, 1, 10))
    await run_quarter(maker, Quarter(2027, 3), now=at(date(2027, 6, 20)), settings=billing_settings)
    await withdraw(maker, conn.id, date(2027, 8, 15), "death")
    assert await raise_credits(maker, billing_settings, date(2027, 8, 16)) == 1
    (credit,) = await documents(maker, "credit_note")
    (invoice,) = await documents(maker, "invoice")
    assert credit.original_id == invoice.id and credit.number == 1 and credit.reason == "withdrawal"
    assert credit.payer_name == f"The executor of the late {invoice.payer_name}"  # withdrawn: death
    assert credit.net_pence == 3250  # £65.00 x 46 / 92
    (line,) = await lines_of(maker, credit.id)
    assert (line.period_start, line.period_end, line.days) == (date(2027, 8, 16), date(2027, 9, 30), 46)
    assert await raise_credits(maker, billing_settings, date(2027, 8, 17)) == 0  # once only
    # the next quarter is not invoiced for a withdrawn connection
    s4 = await run_quarter(maker, Quarter(2027, 4), now=at(date(2027, 9, 20)), settings=billing_settings)
    assert s4.invoices == 0


async def test_withdrawal_before_the_invoiced_period_credits_all_of_it(maker, billing_settings):
    conn = await add_connection(maker, date(2026, 1, 10))
    await run_quarter(maker, Quarter(2027, 3), now=at(date(2027, 6, 20)), settings=billing_settings)
    await withdraw(maker, conn.id, date(2027, 6, 25), "residential_care")
    await raise_credits(maker, billing_settings, date(2027, 6, 26))
    (credit,) = await documents(maker, "credit_note")
    assert credit.net_pence == 6500


async def test_issued_documents_cannot_be_changed_or_deleted(maker, billing_settings):
    await add_connection(maker, date(2026, 1, 10))
    await run_quarter(maker, Q2, now=at(date(2027, 4, 1)), settings=billing_settings)
    for sql in (
        "UPDATE billing_documents SET net_pence = 1, gross_pence = 1",
        "DELETE FROM billing_documents",
        "UPDATE billing_document_lines SET net_pence = 1",
    ):
        async with maker() as s:
            with pytest.raises(DBAPIError, match="immutable"):
                await s.execute(text(sql))
    async with maker() as s:  # payment state may move on
        await s.execute(update(Document).values(payment_state="paid"))
        await s.commit()

"""Stripe with the real SDK against a local fake: idempotent pushes, signed webhooks, an inbox."""

from __future__ import annotations

import json
import time
from datetime import date

import pytest
from sqlalchemy import func, select, update
from stripe import WebhookSignature

from billing.accounts import accounts_for
from billing.models import Account, Document, StripeEvent
from billing.periods import Quarter
from billing.runs import raise_credits, run_quarter
from billing.settings import BillingSettings
from billing.stripe_sync import push_pending
from tests.billing.conftest import add_connection, at, documents, withdraw
from tests.billing.fake_stripe import FakeStripe

SECRET = "whsec_test_secret"


@pytest.fixture
def fake():
    with FakeStripe() as server:
        yield server


@pytest.fixture
def stripe_settings(fake) -> BillingSettings:
    return BillingSettings(
        run_batch_size=10,
        stripe_api_key="sk_test_fake",
        stripe_webhook_secret=SECRET,
        stripe_api_base=fake.url,
    )


def signed(event: dict, secret: str = SECRET, at_time: int | None = None) -> tuple[bytes, dict]:
    body = json.dumps(event).encode()
    ts = at_time or int(time.time())
    sig = WebhookSignature._compute_signature(f"{ts}.{body.decode()}", secret)
    return body, {"Stripe-Signature": f"t={ts},v1={sig}", "Content-Type": "application/json"}


def event(event_id: str, kind: str, obj: dict) -> dict:
    return {
        "id": event_id,
        "object": "event",
        "type": kind,
        "data": {"object": obj},
        "api_version": "2024-06-20",
    }


async def test_documents_go_to_stripe_once_even_when_pushed_again_or_after_an_outage(
    maker, fake, stripe_settings
):
    conn = await add_connection(maker, date(2026, 1, 10))
    other = await add_connection(maker, date(2026, 1, 10))
    async with maker() as s:
        await accounts_for(s, [conn.customer_id, other.customer_id])
        await s.execute(update(Account).values(payment_method="direct_debit", mandate_reference="DD-1"))
        await s.commit()
    await run_quarter(maker, Quarter(2027, 3), now=at(date(2027, 6, 25)), settings=stripe_settings)
    assert {d.stripe_state for d in await documents(maker)} == {"pending"}
    fake.fail_next = 3  # Stripe is away for a first call and both SDK retries: that document stays pending
    await push_pending(maker, stripe_settings)
    assert sorted(d.stripe_state for d in await documents(maker)) == ["pending", "sent"]
    await push_pending(maker, stripe_settings)
    docs = await documents(maker)
    assert {d.stripe_state for d in docs} == {"sent"} and all(d.stripe_invoice_id for d in docs)
    assert fake.count("customers") == 5  # three failed attempts, then one each
    invoices = [o for o in fake.objects.values() if o["object"] == "invoice"]
    assert len(invoices) == 2 and all(i["total"] == 6500 and i["status"] == "open" for i in invoices)
    assert {i["collection_method"] for i in invoices} == {"charge_automatically"}  # Bacs Direct Debit
    assert await push_pending(maker, stripe_settings) == 0
    # a withdrawal's credit note goes against the Stripe invoice
    await withdraw(maker, conn.id, date(2027, 8, 15), "death")
    await raise_credits(maker, stripe_settings, date(2027, 8, 16))
    await push_pending(maker, stripe_settings)
    notes = [o for o in fake.objects.values() if o["object"] == "credit_note"]
    assert len(notes) == 1 and notes[0]["amount"] == 3250


async def test_webhook_verifies_the_signature_stores_each_event_once_and_moves_payment_state(
    app, anon_client, maker, fake, stripe_settings
):
    app.state.billing_settings = stripe_settings
    await add_connection(maker, date(2026, 1, 10))
    await run_quarter(maker, Quarter(2027, 3), now=at(date(2027, 6, 25)), settings=stripe_settings)
    await push_pending(maker, stripe_settings)
    (doc,) = await documents(maker)
    url = "/api/billing/stripe/webhook"
    paid = event("evt_1", "invoice.paid", {"id": doc.stripe_invoice_id, "object": "invoice"})
    body, headers = signed(paid)
    first = await anon_client.post(url, content=body, headers=headers)
    assert first.status_code == 200 and first.json() == {
        "received": True,
        "duplicate": False,
        "outcome": "INV-000001 paid",
    }
    replay = await anon_client.post(url, content=body, headers=headers)
    assert replay.json()["duplicate"] is True
    refused = [
        signed(
            event(
                "evt_2",
                "charge.refunded",
                {"id": "ch_1", "object": "charge", "invoice": doc.stripe_invoice_id},
            ),
            "whsec_wrong",
        ),
        (body, {**headers, "Stripe-Signature": "t=1,v1=00"}),
        signed(paid, at_time=int(time.time()) - 3600),  # a replay from an hour ago
        (b"{not json", signed(paid)[1]),
        (body, {"Content-Type": "application/json"}),
    ]
    for bad_body, bad_headers in refused:
        answer = await anon_client.post(url, content=bad_body, headers=bad_headers)
        assert answer.status_code == 400, answer.text
    async with maker() as s:
        assert await s.scalar(select(func.count()).select_from(StripeEvent)) == 1
        assert (await s.get(Document, doc.id)).payment_state == "paid"
    refund = event(
        "evt_3", "charge.refunded", {"id": "ch_1", "object": "charge", "invoice": doc.stripe_invoice_id}
    )
    answer = await anon_client.post(url, content=signed(refund)[0], headers=signed(refund)[1])
    assert answer.json()["outcome"] == "INV-000001 refunded"
    failed_late = event("evt_4", "invoice.payment_failed", {"id": doc.stripe_invoice_id, "object": "invoice"})
    answer = await anon_client.post(url, content=signed(failed_late)[0], headers=signed(failed_late)[1])
    assert (
        answer.json()["outcome"].startswith("ignored")
        and (await documents(maker))[0].payment_state == "refunded"
    )


async def test_issuing_enqueues_the_letters_and_the_job_prints_each_once(maker, billing_settings, tmp_path):
    from types import SimpleNamespace

    from sqlalchemy import text

    from billing.tasks import send_documents

    await add_connection(maker, date(2026, 1, 10))
    await add_connection(maker, date(2026, 1, 10))
    await run_quarter(maker, Quarter(2027, 3), now=at(date(2027, 6, 25)), settings=billing_settings)
    async with maker() as s:
        jobs = (
            (
                await s.execute(
                    text("SELECT args FROM procrastinate_jobs WHERE task_name = 'billing.send_documents'")
                )
            )
            .scalars()
            .all()
        )
    ids = [i for job in jobs for i in job["document_ids"]]
    assert sorted(ids) == sorted(d.id for d in await documents(maker))
    app = SimpleNamespace(
        state=SimpleNamespace(
            settings=SimpleNamespace(data_dir=tmp_path), sessionmaker=maker, billing_settings=billing_settings
        )
    )
    await send_documents(app, ids)
    await send_documents(app, ids)  # a retried job does nothing twice
    printed = sorted(p.name for p in (tmp_path / "letters").iterdir())
    assert printed == ["INV-000001.pdf", "INV-000002.pdf"]
    assert {d.letter_state for d in await documents(maker)} == {"printed"}

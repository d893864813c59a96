"""Stripe, when a key is configured: documents out, payment state in.

Out: each issued document whose ``stripe_state`` is ``pending`` is pushed by ``push_pending``
(customer, invoice items, invoice, finalise, send; a credit note against its invoice), every call
with an idempotency key derived from our ids, one document per transaction. The pending state on
the document row is the durable queue: a crash or a Stripe outage leaves it pending and the next
pass (``JOBS`` in billing/jobs.py) retries with the same keys, so nothing is created twice.
(Seam: when the procrastinate queue lands, issuing defers ``push_document`` per id after commit.)

In: ``POST /api/billing/stripe/webhook`` verifies ``Stripe-Signature`` over the raw body with the
SDK, stores the event once under its id (``ON CONFLICT DO NOTHING``), then moves the payment state.
A replayed event changes nothing; a malformed or wrongly signed one is refused with a 400.
"""

from __future__ import annotations

import logging
from datetime import date

import stripe
from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert

from arc.auth.deps import public
from arc.kit.db import Session, session_scope
from arc.kit.errors import AppError, ErrorCode, NotFound
from billing.models import Account, Document, DocumentLine, StripeEvent
from billing.periods import london_date
from billing.settings import BillingSettings, get_billing_settings

log = logging.getLogger(__name__)
router = APIRouter(prefix="/stripe")

# Stripe event -> (new payment state, the states it may move from)
TRANSITIONS = {
    "invoice.paid": ("paid", {"unpaid", "failed", "uncollectible"}),
    "invoice.payment_succeeded": ("paid", {"unpaid", "failed", "uncollectible"}),
    "invoice.payment_failed": ("failed", {"unpaid"}),
    "invoice.marked_uncollectible": ("uncollectible", {"unpaid", "failed"}),
    "charge.refunded": ("refunded", {"paid"}),
}


def client_for(settings: BillingSettings) -> stripe.StripeClient:
    base = {"api": settings.stripe_api_base} if settings.stripe_api_base else None
    return stripe.StripeClient(
        settings.stripe_api_key.get_secret_value(),
        base_addresses=base,
        http_client=stripe.HTTPXClient(),
        max_network_retries=2,
    )


async def push_document(session, client: stripe.StripeClient, doc: Document) -> None:
    """Create ``doc`` in Stripe (idempotent per our ids). Flushes only."""
    account = await session.get(Account, doc.account_id, with_for_update=True)
    if doc.doc_type == "credit_note":
        original = await session.get(Document, doc.original_id)
        if not original.stripe_invoice_id:
            doc.stripe_state = "off"  # its invoice never went to Stripe
            return
        await client.v1.credit_notes.create_async(
            {
                "invoice": original.stripe_invoice_id,
                "amount": doc.gross_pence,
                "metadata": {"number": doc.display_number},
            },
            {"idempotency_key": f"lifeline-credit-{doc.id}"},
        )
        doc.stripe_state = "sent"
        return
    if not account.stripe_customer_id:
        params = {"name": doc.payer_name, "metadata": {"account": account.account_number}}
        if account.payer_email:
            params["email"] = account.payer_email
        customer = await client.v1.customers.create_async(
            params, {"idempotency_key": f"lifeline-customer-{account.id}"}
        )
        account.stripe_customer_id = customer.id
    send = doc.payment_method == "invoice"
    params = {
        "customer": account.stripe_customer_id,
        "collection_method": "send_invoice" if send else "charge_automatically",
        "auto_advance": False,
        "pending_invoice_items_behavior": "exclude",
        "metadata": {"number": doc.display_number},
        "payment_settings": {
            "payment_method_types": ["bacs_debit" if doc.payment_method == "direct_debit" else "card"]
        },
    }
    if send:
        params["days_until_due"] = max(0, (doc.due_date - doc.issue_date).days)
    invoice = await client.v1.invoices.create_async(params, {"idempotency_key": f"lifeline-invoice-{doc.id}"})
    doc.stripe_invoice_id = invoice.id
    lines = (
        await session.scalars(
            select(DocumentLine).where(DocumentLine.document_id == doc.id).order_by(DocumentLine.position)
        )
    ).all()
    for line in lines:
        await client.v1.invoice_items.create_async(
            {
                "customer": account.stripe_customer_id,
                "invoice": invoice.id,
                "amount": line.net_pence + line.vat_pence,
                "currency": "gbp",
                "description": line.description,
            },
            {"idempotency_key": f"lifeline-line-{line.id}"},
        )
    await client.v1.invoices.finalize_invoice_async(
        invoice.id, None, {"idempotency_key": f"lifeline-finalize-{doc.id}"}
    )
    if send:
        await client.v1.invoices.send_invoice_async(
            invoice.id, None, {"idempotency_key": f"lifeline-send-{doc.id}"}
        )
    doc.stripe_state = "sent"


async def push_pending(maker, settings: BillingSettings, limit: int = 200) -> int:
    """Push up to ``limit`` pending documents, each in its own transaction; returns how many went."""
    if not settings.stripe_enabled:
        return 0
    client = client_for(settings)
    sent = 0
    async with maker() as s:
        ids = (
            await s.scalars(
                select(Document.id)
                .where(Document.stripe_state == "pending")
                .order_by(Document.id)
                .limit(limit)
            )
        ).all()
    for doc_id in ids:
        try:
            async with session_scope(maker) as s:
                doc = await s.scalar(
                    select(Document)
                    .where(Document.id == doc_id, Document.stripe_state == "pending")
                    .with_for_update(skip_locked=True)
                )
                if doc is not None:
                    await push_document(s, client, doc)
                    sent += 1
        except stripe.StripeError as exc:  # stays pending; the next pass retries with the same keys
            log.warning("stripe push of document %s failed: %s", doc_id, type(exc).__name__)
    return sent


class WebhookOut(BaseModel):
    received: bool
    duplicate: bool
    outcome: str


class BadSignature(AppError):
    status_code = 400
    code = ErrorCode.BAD_SIGNATURE


@router.post(
    "/webhook",
    response_model=WebhookOut,
    dependencies=[Depends(public("signed webhook: Stripe-Signature is verified over the raw body"))],
)
async def webhook(request: Request, session: Session) -> WebhookOut:
    settings = getattr(request.app.state, "billing_settings", None) or get_billing_settings()
    if not settings.stripe_webhook_secret:
        raise NotFound("Stripe is not configured")
    payload = await request.body()
    try:
        event = stripe.Webhook.construct_event(
            payload,
            request.headers.get("stripe-signature"),
            settings.stripe_webhook_secret.get_secret_value(),
        )
    except stripe.SignatureVerificationError:
        raise BadSignature("Stripe-Signature does not verify for this body") from None
    except (ValueError, KeyError, TypeError):
        raise AppError("the body is not a Stripe event", code=ErrorCode.INVALID_EVENT) from None
    data = event.to_dict()
    event_id, kind = data.get("id"), data.get("type")
    obj = (data.get("data") or {}).get("object") if isinstance(data.get("data"), dict) else None
    if (
        not (isinstance(event_id, str) and isinstance(kind, str) and isinstance(obj, dict))
        or len(event_id) > 255
    ):
        raise AppError("the body is not a Stripe event (id, type, data.object)", code=ErrorCode.INVALID_EVENT)
    object_id = obj.get("invoice") if kind.startswith("charge.") else obj.get("id")
    object_id = object_id if isinstance(object_id, str) else None
    stored = await session.scalar(
        pg_insert(StripeEvent)
        .values(
            event_id=event_id,
            type=kind[:100],
            object_id=object_id,
            received_at=request.app.state.clock.now(),
            outcome="received",
        )
        .on_conflict_do_nothing(index_elements=["event_id"])
        .returning(StripeEvent.event_id)
    )
    if stored is None:
        previous = await session.get(StripeEvent, event_id)
        return WebhookOut(received=True, duplicate=True, outcome=previous.outcome)
    outcome = await _apply(session, kind, object_id, london_date(request.app.state.clock.now()))
    (await session.get(StripeEvent, event_id)).outcome = outcome
    return WebhookOut(received=True, duplicate=False, outcome=outcome)


async def _apply(session, event_type: str, invoice_id: str | None, today: date) -> str:
    if event_type not in TRANSITIONS:
        return "ignored: not a payment event"
    doc = (
        await session.scalar(
            select(Document)
            .where(Document.stripe_invoice_id == invoice_id, Document.doc_type == "invoice")
            .with_for_update()
        )
        if invoice_id
        else None
    )
    if doc is None:
        return "ignored: no document for this invoice"
    state, sources = TRANSITIONS[event_type]
    if doc.payment_state not in sources:
        return f"ignored: {doc.display_number} is {doc.payment_state}"
    doc.payment_state = state
    if state == "paid":
        doc.paid_on = today
    await session.flush()
    return f"{doc.display_number} {state}"

"""Durable billing side effects: every issued document's letter is printed and, when Stripe is
on, the document goes to Stripe. The issuer (billing/ledger.py) enqueues one ``SEND_DOCUMENTS``
job per batch in the issuing transaction, so a committed document cannot miss its letter and a
rolled-back one sends nothing. The job is safe to repeat: each document's ``letter_state`` and
``stripe_state`` say what is left to do, and Stripe calls carry idempotency keys.

Printing writes the PDF into ``<LIFELINE_DATA_DIR>/letters/`` (the print room's or mailing
house's pick-up folder) and marks the document ``printed``.
"""

from __future__ import annotations

import logging
from pathlib import Path

from sqlalchemy import select

from arc.kit.db import session_scope
from arc.kit.jobs import TaskSpec
from billing.documents import letter_of
from billing.letters import render_letter
from billing.models import Document
from billing.settings import get_billing_settings
from billing.stripe_sync import client_for, push_document

log = logging.getLogger(__name__)


def letters_dir(app) -> Path:
    return Path(app.state.settings.data_dir) / "letters"


async def send_documents(app, document_ids: list[int]) -> None:
    settings = getattr(app.state, "billing_settings", None) or get_billing_settings()
    client = client_for(settings) if settings.stripe_enabled else None
    folder = letters_dir(app)
    folder.mkdir(parents=True, exist_ok=True)
    for doc_id in document_ids:
        async with session_scope(app.state.sessionmaker) as session:
            doc = await session.scalar(select(Document).where(Document.id == doc_id).with_for_update())
            if doc is None:
                continue
            if doc.letter_state == "pending":
                letter, large = await letter_of(session, doc.id)
                target = folder / f"{doc.display_number}.pdf"
                target.write_bytes(render_letter(letter, settings, large_print=large))
                doc.letter_state = "printed"
            if client is not None and doc.stripe_state == "pending":
                await push_document(session, client, doc)  # a Stripe error raises: the queue retries


SEND_DOCUMENTS = TaskSpec("billing.send_documents", send_documents, max_attempts=8, wait_base_s=4.0)

"""No personal data in logs; withdrawn customers erased after the retention period, billing kept."""

from __future__ import annotations

import argparse
import io
import logging
from datetime import date, timedelta

from sqlalchemy import func, select

from arc.alarms.models import Alarm
from arc.audit.models import AuditEntry
from arc.commands import purge_command
from arc.erasure import purge
from arc.kit.redaction import RedactingFilter, install_redaction
from arc.registry.models import Connection, Customer, Responder
from tests.factories import create_connection, create_customer, create_responder

# --- logs ---------------------------------------------------------------------


def test_log_lines_lose_postcodes_phones_emails_codes_tokens_and_sql_values():
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    logger = logging.getLogger("lifeline.test.redaction")
    logger.addHandler(handler)
    logger.propagate = False
    install_redaction(logger)
    try:
        logger.warning(
            "cid %s at %s, call %s or %s, mail %s; Key safe by back door, code 1007; Bearer abcdefgh12345678",
            "4401001",
            "CB1 2AB",
            "01223 490001",
            "+44 7700 900123",
            "edith@example.org",
        )
        try:
            raise ValueError("insert failed [parameters: ('Edith', 'Clarke', '4 Hope St')]\nmore")
        except ValueError:
            logger.exception("DETAIL:  Key (case_ref)=(LAS-1001) already exists.")
    finally:
        logger.removeHandler(handler)
    out = stream.getvalue()
    for secret in (
        "CB1 2AB",
        "01223",
        "7700",
        "edith@",
        "1007",
        "abcdefgh1234",
        "Edith",
        "Clarke",
        "LAS-1001",
    ):
        assert secret not in out, secret
    assert "cid 4401001" in out  # ids stay readable


def test_the_app_installs_the_filter_on_the_root_handlers(app):
    assert any(isinstance(f, RedactingFilter) for h in logging.getLogger().handlers for f in h.filters)


# --- retention ----------------------------------------------------------------


async def _withdrawn_customer(session, withdrawn_on: date, **kw) -> Customer:
    customer = await create_customer(
        session,
        medical_notes="COPD",
        risk_notes="Dog",
        phone_primary="01223 555000",
        date_of_birth=date(1940, 1, 1),
        **kw,
    )
    customer.key_safe_ciphertext = "lk1:x:y"
    await create_responder(session, customer)
    await create_connection(
        session, customer, None, status="withdrawn", withdrawn_on=withdrawn_on, withdrawal_reason="moved away"
    )
    session.add(
        Alarm(
            cid="4400001",
            customer_id=customer.id,
            category="personal",
            priority=1,
            title="Pendant",
            status="closed",
            outcome_note="Found on floor, ambulance called",
        )
    )
    await session.flush()
    return customer


async def test_purge_erases_withdrawn_customers_past_retention_and_keeps_billing_records(
    session, settings, clock
):
    today = clock.now().astimezone(settings.zone).date()
    old = await _withdrawn_customer(
        session, today - timedelta(days=settings.retention_days + 1), case_ref="OLD-1"
    )
    recent = await _withdrawn_customer(session, today - timedelta(days=settings.retention_days - 1))
    active = await create_customer(session, medical_notes="Angina")
    await create_connection(session, active, None)
    await session.commit()
    old_id, recent_id, active_id = old.id, recent.id, active.id

    report = await purge(session, clock.now(), settings)
    await session.commit()
    assert report.customer_ids == [old_id]

    session.expire_all()
    erased = await session.get(Customer, old_id)
    assert erased.erased_at == clock.now()
    assert (erased.given_name, erased.family_name) == ("Erased", f"customer {old_id}")
    assert erased.medical_notes is erased.risk_notes is erased.phone_primary is erased.date_of_birth is None
    assert erased.key_safe_ciphertext is None
    assert erased.case_ref == "OLD-1"  # finance's reference is kept
    assert (
        await session.scalar(
            select(func.count()).select_from(Connection).where(Connection.customer_id == old_id)
        )
        == 1
    )
    assert (
        await session.scalar(
            select(func.count()).select_from(Responder).where(Responder.customer_id == old_id)
        )
        == 0
    )
    alarm = await session.scalar(select(Alarm).where(Alarm.customer_id == old_id))
    assert alarm.outcome_note is None and alarm.priority == 1  # statistics stay, free text goes

    kept = await session.get(Customer, recent_id)
    assert kept.medical_notes == "COPD" and kept.erased_at is None
    assert (await session.get(Customer, active_id)).medical_notes == "Angina"

    audit = await session.scalar(select(AuditEntry).where(AuditEntry.action == "erase"))
    assert (audit.customer_id, audit.actor) == (old_id, "system")

    again = await purge(session, clock.now(), settings)
    assert again.customer_ids == []


async def test_purge_dry_run_changes_nothing(session, settings, clock):
    today = clock.now().astimezone(settings.zone).date()
    old_id = (await _withdrawn_customer(session, today - timedelta(days=settings.retention_days + 30))).id
    await session.commit()
    # the CLI uses the wall clock: withdrawn long before the frozen test clock is also long ago today
    result = await purge_command(settings, argparse.Namespace(dry_run=True))
    assert old_id in result["customer_ids"] and result["dry_run"] is True
    session.expire_all()
    assert (await session.get(Customer, old_id)).medical_notes == "COPD"


async def test_erased_customer_record_cannot_be_written_again(client, session, settings, clock):
    today = clock.now().astimezone(settings.zone).date()
    old = await _withdrawn_customer(session, today - timedelta(days=settings.retention_days + 1))
    await session.commit()
    await purge(session, clock.now(), settings)
    await session.commit()
    refused = await client.patch(f"/api/customers/{old.id}", json={"medical_notes": "new"})
    assert refused.status_code == 409 and refused.json()["error"] == "erased"

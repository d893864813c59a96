"""After ``lifeline purge`` no table holds a withdrawn customer's name, address, phone or notes.

The proof reads every row of every table as text (``row_to_json``, bytea decoded too) after a
customer's alarm went the whole way: a real MQTT alarm from their unit naming their address and
phone, an operator accepting it, a note and a call naming them, a responder sent, the card read,
the alarm closed — so the inbox, the alarm log, the live events, the tasks and the audit all
held their data before the purge."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, text, update

from arc.alarms.models import Alarm
from arc.erasure import purge
from arc.registry.models import Connection
from tests.arc.ingest.conftest import FakeUnit
from tests.factories import create_customer_with_unit, create_responder

SECRETS = {
    "given name": "Philippa",
    "family name": "Quennell",
    "address": "Lark Rise",
    "postcode": "CB4 9QZ",
    "phone": "867530",
    "medical notes": "Brittle asthma",
    "risk notes": "Biscuit",
    "responder": "Rosamund",
    "responder phone": "900777",
}


async def every_text_in_the_database(session) -> str:
    tables = (
        await session.execute(
            text("SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'")
        )
    ).scalars()
    dumped = []
    for table in tables:
        rows = await session.execute(text(f'SELECT row_to_json(t)::text FROM "{table}" t'))
        dumped += [f"{table}: {row}" for row in rows.scalars()]
        binary = (
            await session.execute(
                text(
                    "SELECT column_name FROM information_schema.columns "
                    "WHERE table_schema = 'public' AND table_name = :t AND data_type = 'bytea'"
                ),
                {"t": table},
            )
        ).scalars()
        for column in binary:
            rows = await session.execute(text(f'SELECT encode("{column}", \'escape\') FROM "{table}"'))
            dumped += [f"{table}.{column}: {row}" for row in rows.scalars() if row]
    return "\n".join(dumped)


def found(dump: str) -> dict[str, list[str]]:
    """Which tables (``table`` or ``table.column``) hold each secret."""
    return {
        what: sorted({line.split(":", 1)[0] for line in dump.splitlines() if secret.lower() in line.lower()})
        for what, secret in SECRETS.items()
        if secret.lower() in dump.lower()
    }


async def test_after_a_purge_no_table_holds_the_customers_data(
    unit: FakeUnit, session, client_as, settings, clock
):
    customer, hub, connection = await create_customer_with_unit(
        session,
        given_name="Philippa",
        family_name="Quennell",
        address_line1="17 Lark Rise",
        postcode="CB4 9QZ",
        phone_primary="01223 867530",
        medical_notes="Brittle asthma",
        risk_notes="Dog called Biscuit",
    )
    responder = await create_responder(
        session, customer, name="Rosamund Daughter", phone_primary="07700 900777"
    )
    await session.commit()
    mrq = {"ref": "E1", "cid": hub.cid, "dty": "3", "lte": "hall, 17 Lark Rise", "crd": ["01223867530"]}
    assert (await unit.send(hub.cid, mrq))["snu"] == 4
    alarm_id = await session.scalar(select(Alarm.id))

    operator = await client_as("operator")
    alarm = f"/api/alarms/{alarm_id}"
    assert (await operator.post(f"{alarm}/accept")).status_code == 200
    await operator.post(f"{alarm}/notes", json={"text": "Philippa Quennell on the floor; Biscuit barking"})
    sent = await operator.post(f"{alarm}/dispatch", json={"kind": "responder", "responder_id": responder.id})
    assert sent.status_code == 201, sent.text
    await operator.post(
        f"/api/tasks/{sent.json()['id']}/status", json={"status": "accepted", "note": "Rosamund on her way"}
    )
    assert (await operator.get(alarm)).status_code == 200  # the card: audited
    closed = await operator.post(
        f"{alarm}/close", json={"outcome_code": "family_attended", "note": "Rosamund helped Philippa up"}
    )
    assert closed.status_code == 200, closed.text
    before = found(await every_text_in_the_database(session))
    assert {"given name", "family name", "address", "postcode", "medical notes", "responder"} <= set(before)
    assert "live_events" in before["family name"]  # the stream held it

    withdrawn = clock.now().astimezone(settings.zone).date() - timedelta(days=settings.retention_days + 1)
    await session.execute(
        update(Connection)
        .where(Connection.id == connection.id)
        .values(status="withdrawn", withdrawn_on=withdrawn)
    )
    await session.commit()
    report = await purge(session, clock.now(), settings)
    await session.commit()
    assert report.customer_ids == [customer.id]

    assert found(await every_text_in_the_database(session)) == {}
    erased = await session.get(Alarm, alarm_id, populate_existing=True)
    assert (erased.title, erased.outcome_code, erased.status) == (
        "Pendant / personal trigger",
        "family_attended",
        "closed",
    )

"""Key-safe codes: encrypted at rest, shown only to the operator handling that customer's alarm
(or a supervisor who says why), every look and every refusal audited."""

from __future__ import annotations

import pytest
from sqlalchemy import select, text

from arc.alarms.models import Alarm
from arc.audit.models import AuditEntry
from arc.registry.models import Customer
from tests.factories import create_customer

NEW_CUSTOMER = {
    "given_name": "Edith",
    "family_name": "Clarke",
    "address_line1": "4 Hope St",
    "postcode": "CB2 1TN",
}
CODE = "Key safe left of door, code 4321"


async def _alarm(session, customer: Customer, *, status: str = "accepted", accepted_by=None) -> Alarm:
    alarm = Alarm(
        cid="4401234",
        customer_id=customer.id,
        category="personal",
        priority=1,
        title="Pendant activation",
        status=status,
        accepted_by_id=accepted_by.id if accepted_by else None,
    )
    session.add(alarm)
    await session.flush()
    return alarm


async def _customer_with_code(client) -> int:
    created = await client.post("/api/customers", json={**NEW_CUSTOMER, "key_safe_info": CODE})
    assert created.status_code == 201, created.text
    return created.json()["id"]


async def test_key_safe_code_is_stored_encrypted_and_never_in_the_customer_record(client, session):
    customer_id = await _customer_with_code(client)
    raw = await session.scalar(
        text("SELECT key_safe_ciphertext FROM customers WHERE id = :i"), {"i": customer_id}
    )
    assert raw.startswith("lk1:") and "4321" not in raw
    record = await client.get(f"/api/customers/{customer_id}")
    assert "4321" not in record.text and record.json()["has_key_safe_info"] is True


async def test_operator_sees_the_code_only_while_holding_an_open_alarm(client, client_as, session):
    customer_id = await _customer_with_code(client)
    operator = await client_as("operator")
    url = f"/api/customers/{customer_id}/key-safe"

    refused = await operator.get(url)
    assert refused.status_code == 403 and refused.json()["error"] == "no_open_alarm"

    customer = await session.get(Customer, customer_id)
    alarm = await _alarm(session, customer, accepted_by=operator.user)
    await session.commit()
    shown = await operator.get(url)
    assert shown.status_code == 200
    assert shown.json() == {
        "customer_id": customer_id,
        "key_safe_info": CODE,
        "basis": "open_alarm",
        "alarm_id": alarm.id,
    }
    assert shown.headers["cache-control"] == "no-store"

    alarm.status = "closed"
    await session.commit()
    assert (await operator.get(url)).status_code == 403


async def test_another_operators_alarm_or_a_queued_one_does_not_open_the_code(client, client_as, session):
    customer_id = await _customer_with_code(client)
    me, colleague = await client_as("operator"), await client_as("operator")
    customer = await session.get(Customer, customer_id)
    await _alarm(session, customer, accepted_by=colleague.user)
    await _alarm(session, customer, status="queued")
    await session.commit()
    assert (await me.get(f"/api/customers/{customer_id}/key-safe")).status_code == 403
    assert (await colleague.get(f"/api/customers/{customer_id}/key-safe")).status_code == 200


async def test_an_alarm_for_a_different_customer_does_not_open_the_code(client, client_as, session):
    customer_id = await _customer_with_code(client)
    operator = await client_as("operator")
    other = await create_customer(session)
    await _alarm(session, other, accepted_by=operator.user)
    await session.commit()
    assert (await operator.get(f"/api/customers/{customer_id}/key-safe")).status_code == 403


async def test_supervisor_needs_a_reason_and_the_reason_is_audited(client, session):
    customer_id = await _customer_with_code(client)
    url = f"/api/customers/{customer_id}/key-safe"
    no_reason = await client.get(url)
    assert no_reason.status_code == 422 and no_reason.json()["field"] == "reason"
    shown = await client.get(
        url, params={"reason": "ERS crew locked out, customer on floor", "purpose": "responder_locked_out"}
    )
    assert shown.status_code == 200 and shown.json()["basis"] == "supervisor_reason"

    rows = (
        await session.scalars(
            select(AuditEntry).where(AuditEntry.object_type == "key_safe").order_by(AuditEntry.id)
        )
    ).all()
    assert [(r.action, r.detail.get("refused")) for r in rows] == [
        ("denied", "supervisor_needs_reason"),
        ("view", None),
    ]
    assert rows[1].reason == "ERS crew locked out, customer on floor"
    assert rows[1].detail["purpose"] == "responder_locked_out"
    assert rows[1].actor_user_id == client.user.id and rows[1].customer_id == customer_id


async def test_refused_attempts_are_audited(client, client_as, session):
    customer_id = await _customer_with_code(client)
    operator = await client_as("operator")
    await operator.get(f"/api/customers/{customer_id}/key-safe")
    row = await session.scalar(select(AuditEntry).where(AuditEntry.action == "denied"))
    assert (row.actor_user_id, row.customer_id, row.detail) == (
        operator.user.id,
        customer_id,
        {"refused": "no_open_alarm"},
    )


async def test_tec_finance_admin_and_ers_never_see_key_safe_codes(client, client_as):
    customer_id = await _customer_with_code(client)
    for role in ("tec", "finance", "admin", "ers"):
        other = await client_as(role)
        assert (await other.get(f"/api/customers/{customer_id}/key-safe")).status_code == 403, role


async def test_tec_may_edit_the_record_but_not_set_a_key_safe_code(client, client_as):
    customer_id = await _customer_with_code(client)
    tec = await client_as("tec")
    assert (await tec.patch(f"/api/customers/{customer_id}", json={"town": "Ely"})).status_code == 200
    refused = await tec.patch(f"/api/customers/{customer_id}", json={"key_safe_info": "code 0000"})
    assert refused.status_code == 403 and refused.json()["error"] == "key_safe"
    assert (await tec.post("/api/customers", json={**NEW_CUSTOMER, "key_safe_info": "1"})).status_code == 403


async def test_key_safe_can_be_replaced_and_cleared(client, session):
    customer_id = await _customer_with_code(client)
    url = f"/api/customers/{customer_id}/key-safe"
    assert (await client.put(url, json={"key_safe_info": "New code 9876"})).status_code == 204
    shown = await client.get(url, params={"reason": "checking the new code", "purpose": "code_check"})
    assert shown.json()["key_safe_info"] == "New code 9876"
    assert (await client.put(url, json={"key_safe_info": None})).status_code == 204
    assert (await client.get(f"/api/customers/{customer_id}")).json()["has_key_safe_info"] is False


async def test_a_ciphertext_copied_to_another_customer_does_not_decrypt(client, session):
    first = await _customer_with_code(client)
    second = (await client.post("/api/customers", json={**NEW_CUSTOMER, "case_ref": "X2"})).json()["id"]
    await session.execute(
        text(
            "UPDATE customers SET key_safe_ciphertext = (SELECT key_safe_ciphertext FROM customers WHERE id = :a) WHERE id = :b"
        ),
        {"a": first, "b": second},
    )
    await session.commit()
    moved = await client.get(
        f"/api/customers/{second}/key-safe",
        params={"reason": "testing a moved ciphertext", "purpose": "code_check"},
    )
    assert moved.status_code == 409 and moved.json()["error"] == "undecryptable"
    assert "4321" not in moved.text


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"reason": "x", "purpose": "code_check"}, "reason"),  # a one-character reason is not a reason
        ({"reason": "a b c d e f g h"}, "purpose"),  # and it is one of the listed purposes
        ({"reason": "checking the new code", "purpose": "curiosity"}, "purpose"),
    ],
)
async def test_a_supervisors_reason_is_long_enough_and_names_a_purpose(client, params, field):
    customer_id = await _customer_with_code(client)
    refused = await client.get(f"/api/customers/{customer_id}/key-safe", params=params)
    assert refused.status_code == 422 and field in str(refused.json()), refused.text

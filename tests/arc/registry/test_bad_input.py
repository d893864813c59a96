"""Registry input the database cannot hold is a 422 naming the field, and nothing is written.

Found by fuzzing the API: names longer than their column, unit notes over 2000 characters and NUL
characters reached PostgreSQL and came back as 503 "database error".
"""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from arc.registry.models import Customer, Responder
from arc.registry.units import Peripheral, Unit
from tests.factories import create_customer, create_unit

NEW_CUSTOMER = {
    "given_name": "Edith",
    "family_name": "Clarke",
    "address_line1": "4 Hope Street",
    "postcode": "CB2 1TN",
}


def _fields(response) -> list[str]:
    body = response.json()
    assert set(body) >= {"error", "detail"}, body
    return [problem["field"] for problem in body["detail"]]


async def _count(session, model) -> int:
    return await session.scalar(select(func.count()).select_from(model))


@pytest.mark.parametrize(
    "field, value",
    [
        ("given_name", "E" * 101),  # String(100)
        ("family_name", "C" * 101),
        ("preferred_name", "E" * 101),
        ("town", "T" * 101),
        ("language", "L" * 51),  # String(50)
        ("given_name", "Ed\x00ith"),
        ("medical_notes", "AF\x00"),
        ("risk_notes", "\x00"),
        ("case_ref", "LAS\x001"),
        ("address_line1", "4 Hope\ud800 Street"),  # lone surrogate: not storable text
    ],
)
async def test_customer_value_the_database_cannot_hold_is_422_naming_it_and_not_saved(
    client, session, field, value
):
    body = json.dumps({**NEW_CUSTOMER, field: value})  # ASCII-escaped, so a lone surrogate can be sent
    response = await client.post("/api/customers", content=body, headers={"content-type": "application/json"})
    assert response.status_code == 422, response.text
    assert _fields(response) == [field]
    assert await _count(session, Customer) == 0


async def test_customer_update_with_nul_changes_nothing(client, session):
    customer = await create_customer(session, given_name="Edith", town="Cambridge")
    await session.commit()
    response = await client.patch(
        f"/api/customers/{customer.id}", json={"town": "Ely", "given_name": "E\x00"}
    )
    assert response.status_code == 422
    assert _fields(response) == ["given_name"]
    await session.refresh(customer)
    assert (customer.given_name, customer.town) == ("Edith", "Cambridge")


@pytest.mark.parametrize(
    "field, value",
    [("notes", "n" * 2001), ("firmware", "f" * 51), ("model", "m" * 101), ("notes", "hall\x00way")],
)
async def test_unit_value_longer_than_its_column_or_with_nul_is_422_and_unit_unchanged(
    client, session, field, value
):
    unit = await create_unit(session, model="TestHub", notes="by the door")
    await session.commit()
    response = await client.patch(f"/api/units/{unit.id}", json={field: value})
    assert response.status_code == 422, response.text
    assert _fields(response) == [field]
    await session.refresh(unit)
    assert (unit.model, unit.notes, unit.firmware) == ("TestHub", "by the door", None)

    created = await client.post("/api/units", json={"cid": "7123456", field: value})
    assert created.status_code == 422
    assert await _count(session, Unit) == 1


async def test_unit_notes_of_exactly_2000_characters_are_kept(client):
    created = await client.post("/api/units", json={"cid": "7123457", "notes": "n" * 2000})
    assert created.status_code == 201, created.text
    assert len(created.json()["notes"]) == 2000


async def test_peripheral_and_responder_with_nul_are_422_and_not_saved(client, session):
    customer = await create_customer(session)
    unit = await create_unit(session)
    await session.commit()
    peripheral = await client.post(f"/api/units/{unit.id}/peripherals", json={"did": "P\x001", "dty": "0003"})
    assert peripheral.status_code == 422
    assert _fields(peripheral) == ["did"]
    responder = await client.post(
        f"/api/customers/{customer.id}/responders",
        json={"name": "Rita", "phone_primary": "07700 900123", "relationship_to_customer": "d" * 101},
    )
    assert responder.status_code == 422
    assert _fields(responder) == ["relationship_to_customer"]
    assert await _count(session, Peripheral) == 0
    assert await _count(session, Responder) == 0


@pytest.mark.parametrize("field", ["withdrawn_on", "activated_on"])
async def test_withdrawing_with_an_explicitly_empty_date_is_422_and_connection_unchanged(
    client, session, field
):
    customer = await create_customer(session)
    unit = await create_unit(session)
    await session.commit()
    created = await client.post(
        "/api/connections",
        json={"customer_id": customer.id, "unit_id": unit.id, "install_date": "2026-01-05"},
    )
    connection_id = created.json()["id"]
    response = await client.patch(
        f"/api/connections/{connection_id}",
        json={"status": "withdrawn", "withdrawal_reason": "moved away", field: None},
    )
    assert response.status_code == 422, response.text  # was a 500 (None compared with a date)
    assert response.json()["error"] == "invalid" and response.json()["field"] == field
    after = await client.get(f"/api/connections/{connection_id}")
    assert after.json()["status"] == "trial" and after.json()["withdrawn_on"] is None


async def test_unit_patch_with_null_for_a_required_flag_is_422_naming_it(client, session):
    unit = await create_unit(session, is_mobile=True)
    await session.commit()
    response = await client.patch(f"/api/units/{unit.id}", json={"is_mobile": None, "model": "NewHub"})
    assert response.status_code == 422, response.text  # was 409 "the change conflicts with existing data"
    assert response.json() == {"error": "invalid", "detail": "is_mobile cannot be empty"}
    await session.refresh(unit)
    assert (unit.is_mobile, unit.model) == (True, "TestHub")


async def test_key_safe_code_with_nul_is_422_and_the_stored_code_kept(client, session):
    customer = await create_customer(session)
    await session.commit()
    assert (
        await client.put(f"/api/customers/{customer.id}/key-safe", json={"key_safe_info": "1234"})
    ).is_success
    response = await client.put(f"/api/customers/{customer.id}/key-safe", json={"key_safe_info": "12\x0034"})
    assert response.status_code == 422, response.text  # was 204: NUL hidden inside the ciphertext
    assert _fields(response) == ["key_safe_info"]
    shown = await client.get(
        f"/api/customers/{customer.id}/key-safe",
        params={"reason": "audit check of the new code", "purpose": "code_check"},
    )
    assert shown.json()["key_safe_info"] == "1234"

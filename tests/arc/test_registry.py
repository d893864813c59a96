"""Registry API: what a TEC officer setting up a new customer would do and see."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from arc.registry.models import Connection, Customer
from tests.factories import create_customer, create_unit

NEW_CUSTOMER = {
    "given_name": "Edith",
    "family_name": "Clarke",
    "address_line1": "4 Hope Street",
    "postcode": "cb2 1tn",
    "case_ref": "LAS-1001",
    "date_of_birth": "1937-05-06",
    "phone_primary": "01223 555123",
    "medical_notes": "Atrial fibrillation",
}


async def test_customer_created_read_updated_and_listed(client):
    created = await client.post("/api/customers", json=NEW_CUSTOMER)
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["postcode"] == "CB2 1TN"  # normalised
    assert body["case_ref"] == "LAS-1001"

    fetched = await client.get(f"/api/customers/{body['id']}")
    assert fetched.json()["family_name"] == "Clarke"

    patched = await client.patch(f"/api/customers/{body['id']}", json={"town": "Cambridge"})
    assert patched.status_code == 200
    assert patched.json()["town"] == "Cambridge"
    assert patched.json()["medical_notes"] == "Atrial fibrillation"  # untouched fields kept

    listing = await client.get("/api/customers", params={"q": "clarke"})
    assert [c["case_ref"] for c in listing.json()["items"]] == ["LAS-1001"]
    by_postcode = await client.get("/api/customers", params={"q": "cb21tn"})
    assert by_postcode.json()["total"] == 1


async def test_customer_list_pages(client, session):
    for n in range(5):
        await create_customer(session, family_name=f"Page{n}")
    await session.commit()
    first = (await client.get("/api/customers", params={"limit": 2})).json()
    second = (await client.get("/api/customers", params={"limit": 2, "offset": 2})).json()
    assert first["total"] == 5
    assert len(first["items"]) == 2 and len(second["items"]) == 2
    assert {c["id"] for c in first["items"]}.isdisjoint({c["id"] for c in second["items"]})


async def test_duplicate_case_reference_is_409_naming_the_field(client, session):
    await create_customer(session, case_ref="LAS-1001")
    await session.commit()
    response = await client.post("/api/customers", json=NEW_CUSTOMER)
    assert response.status_code == 409
    assert response.json()["error"] == "duplicate"
    assert "case_ref" in response.json()["detail"]
    assert await session.scalar(select(func.count()).select_from(Customer)) == 1


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"nickname": "Edie"}, "nickname"),  # unknown field
        ({"postcode": "not a postcode"}, "postcode"),
        ({"date_of_birth": "yesterday"}, "date_of_birth"),
        ({"date_of_birth": "0001-01-01"}, "date_of_birth"),
        ({"key_safe_info": "x" * 2001}, "key_safe_info"),
        ({"phone_primary": "call me"}, "phone_primary"),
        ({"given_name": 42}, "given_name"),
    ],
)
async def test_bad_customer_input_is_422_naming_the_field_and_writes_nothing(client, session, change, field):
    response = await client.post("/api/customers", json={**NEW_CUSTOMER, **change})
    assert response.status_code == 422, response.text
    assert field in {problem["field"] for problem in response.json()["detail"]}
    assert await session.scalar(select(func.count()).select_from(Customer)) == 0


async def test_key_safe_code_is_not_in_the_customer_record(client):
    created = await client.post("/api/customers", json={**NEW_CUSTOMER, "key_safe_info": "code 4321"})
    assert created.status_code == 201
    assert "4321" not in created.text
    assert created.json()["has_key_safe_info"] is True


async def test_unit_and_peripherals(client):
    unit = await client.post(
        "/api/units", json={"cid": "4401234", "model": "Hub", "heartbeat_interval_minutes": 30}
    )
    assert unit.status_code == 201
    unit_id = unit.json()["id"]
    pendant = await client.post(
        f"/api/units/{unit_id}/peripherals", json={"did": "P1", "dty": 3, "location_text": "wrist"}
    )
    assert pendant.status_code == 201
    assert pendant.json()["dty"] == "0003"
    assert pendant.json()["device_type"].lower().startswith("pendant")
    again = await client.post(f"/api/units/{unit_id}/peripherals", json={"did": "P1", "dty": "0005"})
    assert again.status_code == 409
    listed = await client.get(f"/api/units/{unit_id}/peripherals")
    assert [p["did"] for p in listed.json()] == ["P1"]
    found = await client.get("/api/units", params={"q": "401"})
    assert found.json()["items"][0]["cid"] == "4401234"


async def test_same_cid_twice_is_409(client):
    assert (await client.post("/api/units", json={"cid": "4401234"})).status_code == 201
    second = await client.post("/api/units", json={"cid": "4401234"})
    assert second.status_code == 409
    assert "cid" in second.json()["detail"]


@pytest.mark.parametrize(
    "body", [{"cid": "44-01"}, {"cid": ""}, {"cid": "1", "heartbeat_interval_minutes": 0}]
)
async def test_bad_unit_is_422(client, body):
    assert (await client.post("/api/units", json=body)).status_code == 422


async def test_connection_lifecycle_trial_active_withdrawn(client, session, clock):
    customer = await create_customer(session)
    unit = await create_unit(session)
    await session.commit()
    created = await client.post(
        "/api/connections",
        json={"customer_id": customer.id, "unit_id": unit.id, "install_date": "2026-10-01"},
    )
    assert created.status_code == 201
    conn = created.json()
    assert conn["status"] == "trial"

    active = await client.patch(f"/api/connections/{conn['id']}", json={"status": "active"})
    assert active.json()["status"] == "active"
    assert active.json()["activated_on"] == clock.now().date().isoformat()

    no_reason = await client.patch(f"/api/connections/{conn['id']}", json={"status": "withdrawn"})
    assert no_reason.status_code == 422
    assert "withdrawal_reason" in no_reason.json()["detail"]

    withdrawn = await client.patch(
        f"/api/connections/{conn['id']}",
        json={
            "status": "withdrawn",
            "withdrawal_reason": "moved to residential care",
            "withdrawn_on": "2026-11-20",
        },
    )
    assert withdrawn.status_code == 200
    assert withdrawn.json()["withdrawn_on"] == "2026-11-20"

    reopened = await client.patch(f"/api/connections/{conn['id']}", json={"status": "active"})
    assert reopened.status_code == 409


async def test_a_unit_serves_one_live_connection(client, session):
    first = await create_customer(session)
    second = await create_customer(session)
    unit = await create_unit(session)
    await session.commit()
    ok = await client.post(
        "/api/connections", json={"customer_id": first.id, "unit_id": unit.id, "install_date": "2026-10-01"}
    )
    assert ok.status_code == 201
    clash = await client.post(
        "/api/connections", json={"customer_id": second.id, "unit_id": unit.id, "install_date": "2026-10-01"}
    )
    assert clash.status_code == 409
    assert clash.json()["error"] == "unit_in_use"
    assert await session.scalar(select(func.count()).select_from(Connection)) == 1


async def test_connection_for_missing_customer_is_404(client):
    response = await client.post("/api/connections", json={"customer_id": 999, "install_date": "2026-10-01"})
    assert response.status_code == 404
    assert "customer" in response.json()["detail"]


async def test_responders_keep_call_order(client, session):
    customer = await create_customer(session)
    await session.commit()
    url = f"/api/customers/{customer.id}/responders"
    daughter = await client.post(
        url,
        json={
            "name": "Jane",
            "phone_primary": "07700 900001",
            "holds_key": True,
            "availability": [{"days": [0, 1, 2, 3, 4], "start": "18:00", "end": "08:00"}],
        },
    )
    assert daughter.status_code == 201 and daughter.json()["position"] == 1
    neighbour = await client.post(url, json={"name": "Bob", "phone_primary": "07700 900002"})
    assert neighbour.json()["position"] == 2
    clash = await client.post(url, json={"name": "Sam", "phone_primary": "07700 900003", "position": 1})
    assert clash.status_code == 409
    bad_window = await client.post(
        url,
        json={
            "name": "Sam",
            "phone_primary": "07700 900003",
            "availability": [{"days": [7], "start": "25:00", "end": "08:00"}],
        },
    )
    assert bad_window.status_code == 422
    listed = await client.get(url)
    assert [r["name"] for r in listed.json()] == ["Jane", "Bob"]
    moved = await client.patch(f"/api/responders/{neighbour.json()['id']}", json={"position": 3})
    assert moved.json()["position"] == 3


async def test_unknown_ids_are_404(client):
    for path in (
        "/api/customers/999",
        "/api/units/999",
        "/api/connections/999",
        "/api/units/999/peripherals",
    ):
        response = await client.get(path)
        assert response.status_code == 404, path
        assert response.json()["error"] == "not_found"

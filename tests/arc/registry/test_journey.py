"""The customer journey through the API: referral, 6-week review, changes, withdrawal, search.

The frozen clock stands at 22 November 2026 (Europe/London).
"""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select

from arc.audit.models import AuditEntry
from arc.registry.models import Connection, Customer, Responder, UnitAssignment
from arc.registry.units import Peripheral, Unit
from tests.factories import create_connection, create_customer, create_unit

pytestmark = pytest.mark.asyncio


def referral(**over) -> dict:
    body = {
        "customer": {
            "given_name": "Edith",
            "family_name": "Clarke",
            "date_of_birth": "1938-04-02",
            "address_line1": "4 Hope Street",
            "town": "Cambridge",
            "postcode": "cb21tn",
            "phone_primary": "01223 555123",
            "case_ref": "LAS-1001",
            "communication_needs": "hard of hearing",
            "key_safe_info": "1984 by the back door",
        },
        "responders": [
            {"name": "Sam Clarke", "phone_primary": "07700 900001", "holds_key": True},
            {"name": "Jo Next Door", "phone_primary": "07700 900002"},
        ],
        "unit": {"cid": "5500001", "model": "Hub 4G"},
        "peripherals": [{"did": "P1", "dty": "0003", "location_text": "wrist"}],
        "install_date": "2026-10-01",
    }
    body.update(over)
    return body


async def _count(session, model) -> int:
    return await session.scalar(select(func.count()).select_from(model))


async def test_referral_saves_person_responders_unit_and_connection_in_one_go(client_as, session):
    tec = await client_as("tec")
    answer = await tec.post("/api/referrals", json=referral())
    assert answer.status_code == 201, answer.text
    ids = answer.json()
    customer = await session.get(Customer, ids["customer_id"])
    assert customer.postcode == "CB2 1TN" and customer.communication_needs == "hard of hearing"
    assert customer.key_safe_ciphertext and "1984" not in customer.key_safe_ciphertext
    responders = (await session.scalars(select(Responder).order_by(Responder.position))).all()
    assert [(r.position, r.name, r.holds_key) for r in responders] == [
        (1, "Sam Clarke", True),
        (2, "Jo Next Door", False),
    ]
    conn = await session.get(Connection, ids["connection_id"])
    assert conn.status == "trial" and conn.unit_id == ids["unit_id"]
    assert await _count(session, Peripheral) == 1
    view = (await tec.get(f"/api/customers/{ids['customer_id']}/overview")).json()
    assert view["customer"]["has_key_safe_info"] and "key_safe_info" not in view["customer"]
    assert view["connections"][0]["review_due_on"] == "2026-11-11"
    assert view["timeline"][0]["text"] == "Referral recorded; unit installed"


@pytest.mark.parametrize(
    "change, field",
    [
        ({"customer": {**referral()["customer"], "postcode": "12345"}}, "customer.postcode"),
        ({"customer": {**referral()["customer"], "date_of_birth": "2030-01-01"}}, "customer.date_of_birth"),
        ({"responders": [{"name": "No Phone"}]}, "responders.0.phone_primary"),
    ],
)
async def test_bad_referral_names_the_field_and_saves_nothing(client_as, session, change, field):
    tec = await client_as("tec")
    answer = await tec.post("/api/referrals", json=referral(**change))
    assert answer.status_code == 422
    assert field in [p["field"] for p in answer.json()["detail"]]
    assert await _count(session, Customer) == 0


async def test_unit_on_another_live_connection_is_refused_and_nothing_is_saved(client_as, session):
    other = await create_customer(session)
    await create_connection(session, other, await create_unit(session, cid="5500001"))
    await session.commit()
    tec = await client_as("tec")
    answer = await tec.post("/api/referrals", json=referral())
    assert answer.status_code == 409 and answer.json()["field"] == "unit.cid"
    assert await _count(session, Customer) == 1


async def test_operators_read_but_cannot_refer(client_as):
    operator = await client_as("operator")
    assert (await operator.post("/api/referrals", json=referral())).status_code == 403


async def _referred(tec, **over) -> dict:
    answer = await tec.post("/api/referrals", json=referral(**over))
    assert answer.status_code == 201, answer.text
    return answer.json()


async def test_review_list_holds_connections_whose_42_days_end_soon(client_as):
    tec = await client_as("tec")
    due = await _referred(tec)  # day 42 was 11 November: overdue
    await _referred(tec, customer={**referral()["customer"], "case_ref": "X2"}, unit={"cid": "5500002"},
                    peripherals=[], install_date="2026-11-20")  # fmt: skip
    items = (await tec.get("/api/reviews?within_days=14")).json()
    assert [(i["connection_id"], i["days_left"]) for i in items] == [(due["connection_id"], -11)]


async def test_retained_review_starts_charging_on_day_43(client_as, session):
    tec = await client_as("tec")
    ids = await _referred(tec)
    answer = await tec.post(f"/api/connections/{ids['connection_id']}/review", json={"outcome": "retained"})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert (body["status"], body["activated_on"], body["review_outcome"]) == (
        "active",
        "2026-11-12",
        "retained",
    )
    again = await tec.post(f"/api/connections/{ids['connection_id']}/review", json={"outcome": "retained"})
    assert again.status_code == 409
    assert (await tec.get("/api/reviews")).json() == []


async def test_not_retained_review_needs_a_reason_and_withdraws(client_as, session):
    tec = await client_as("tec")
    ids = await _referred(tec)
    url = f"/api/connections/{ids['connection_id']}/review"
    assert (await tec.post(url, json={"outcome": "not_retained"})).status_code == 422
    body = (await tec.post(url, json={"outcome": "not_retained", "reason": "did not want it"})).json()
    assert (body["status"], body["withdrawn_on"], body["withdrawal_reason"], body["activated_on"]) == (
        "withdrawn", "2026-11-22", "not_retained", None,
    )  # fmt: skip


async def test_withdrawal_records_reason_date_and_unit_return(client_as, session):
    tec = await client_as("tec")
    ids = await _referred(tec)
    url = f"/api/connections/{ids['connection_id']}/withdraw"
    bad = await tec.post(url, json={"reason": "bored"})
    assert bad.status_code == 422 and bad.json()["detail"][0]["field"] == "reason"
    early = await tec.post(url, json={"reason": "death", "withdrawn_on": "2026-09-01"})
    assert early.status_code == 422 and early.json()["field"] == "withdrawn_on"
    body = (await tec.post(url, json={"reason": "residential_care", "withdrawn_on": "2026-11-20"})).json()
    assert (body["status"], body["withdrawn_on"], body["unit_returned_on"]) == (
        "withdrawn",
        "2026-11-20",
        None,
    )
    back = await tec.post(
        f"/api/connections/{ids['connection_id']}/unit-return", json={"returned_on": "2026-11-21"}
    )
    assert back.json()["unit_returned_on"] == "2026-11-21"
    history = (await session.scalars(select(UnitAssignment))).all()
    assert [(h.ended_on, h.end_reason, h.returned_on) for h in history] == [
        (date(2026, 11, 20), "withdrawn", date(2026, 11, 21))
    ]
    # the unit is free for the next person
    assert (await _referred(tec, customer={**referral()["customer"], "case_ref": "NEXT"}))["unit_id"] == ids[
        "unit_id"
    ]


async def test_unit_swap_keeps_the_old_units_history_and_moves_peripherals(client_as, session):
    tec = await client_as("tec")
    ids = await _referred(tec)
    answer = await tec.post(
        f"/api/connections/{ids['connection_id']}/swap-unit",
        json={"unit": {"cid": "5500099"}, "reason": "faulty", "swapped_on": "2026-11-01"},
    )
    assert answer.status_code == 200, answer.text
    new_unit = await session.scalar(select(Unit).where(Unit.cid == "5500099"))
    assert answer.json()["unit_id"] == new_unit.id
    assert (await session.scalar(select(Peripheral.unit_id))) == new_unit.id
    view = (await tec.get(f"/api/customers/{ids['customer_id']}/overview")).json()
    history = view["connections"][0]["units_history"]
    assert [(h["cid"], h["assigned_on"], h["ended_on"], h["end_reason"]) for h in history] == [
        ("5500001", "2026-10-01", "2026-11-01", "swap:faulty"),
        ("5500099", "2026-11-01", None, None),
    ]
    assert view["timeline"][0]["text"].startswith("Unit swapped (faulty)")


async def test_changes_are_audited_and_on_the_timeline(client_as, session):
    tec = await client_as("tec")
    ids = await _referred(tec)
    cid, conn = ids["customer_id"], ids["connection_id"]
    added = await tec.post(
        f"/api/connections/{conn}/peripherals", json={"did": "S1", "dty": "0023", "location_text": "hall"}
    )
    assert added.status_code == 201, added.text
    moved = await tec.patch(
        f"/api/connections/{conn}/peripherals/{added.json()['id']}", json={"location_text": "landing"}
    )
    assert moved.json()["location_text"] == "landing"
    away = await tec.post(
        f"/api/customers/{cid}/absences", json={"kind": "hospital", "starts_on": "2026-11-20"}
    )
    assert away.status_code == 201
    moved_house = await tec.post(
        f"/api/customers/{cid}/move",
        json={"address_line1": "9 New Road", "postcode": "CB1 2AB", "moved_on": "2026-11-22"},
    )
    assert moved_house.json()["address_line1"] == "9 New Road"
    responders = (await tec.get(f"/api/customers/{cid}/responders")).json()
    order = [r["id"] for r in reversed(responders)]
    assert [
        r["id"]
        for r in (
            await tec.put(f"/api/customers/{cid}/responders/order", json={"responder_ids": order})
        ).json()
    ] == order
    assert (await tec.delete(f"/api/responders/{order[0]}")).status_code == 204
    view = (await tec.get(f"/api/customers/{cid}/overview")).json()
    assert view["away"]["kind"] == "hospital"
    texts = [t["text"] for t in view["timeline"]]
    for expected in ("Peripheral added (smoke detector)", "Peripheral moved", "Hospital stay from 20 Nov 2026",
                     "Moved house (from 22 Nov 2026)", "Call order changed", "Responder removed"):  # fmt: skip
        assert expected in texts, texts
    leaked = await session.scalars(select(AuditEntry.detail))
    assert not any("New Road" in str(d) or "landing" in str(d) for d in leaked)


async def test_admin_works_the_connection_side_but_never_opens_the_customer_record(client_as):
    tec = await client_as("tec")
    ids = await _referred(tec, customer={**referral()["customer"], "medical_notes": "COPD"})
    admin = await client_as("admin")
    assert (await admin.get(f"/api/customers/{ids['customer_id']}/overview")).status_code == 403
    assert (await admin.post("/api/referrals", json=referral())).status_code == 403
    assert [i["connection_id"] for i in (await admin.get("/api/reviews")).json()] == [ids["connection_id"]]
    answer = await admin.post(f"/api/connections/{ids['connection_id']}/review", json={"outcome": "retained"})
    assert answer.status_code == 200


async def test_search_by_fuzzy_name_postcode_phone_cid_and_case_ref(client_as, session):
    tec = await client_as("tec")
    ids = await _referred(tec)
    await create_customer(
        session, given_name="Bob", family_name="Other", postcode="ZZ9 9ZZ", case_ref="OTHER"
    )
    await session.commit()
    for q in (
        "edith clarke",
        "Edth Clark",
        "clarke",
        "CB2 1TN",
        "cb21tn",
        "01223555123",
        "01223 555",
        "5500001",
        "las-1001",
    ):
        hits = (await tec.get("/api/search/customers", params={"q": q})).json()["items"]
        assert hits and hits[0]["id"] == ids["customer_id"], q
        assert all(h["name"] != "Bob Other" for h in hits), q
    assert (await tec.get("/api/search/customers", params={"q": "Zebedee"})).json()["items"] == []

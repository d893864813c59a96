"""The audit log: every look at a customer's data leaves a row (who, when, what, whose, from where);
admins can search it; nobody — not the app, not SQL — can change or delete a row."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from arc.audit.models import AuditEntry
from tests.factories import create_customer, create_responder


async def _rows(session, **where) -> list[AuditEntry]:
    stmt = select(AuditEntry).order_by(AuditEntry.id)
    for field, value in where.items():
        stmt = stmt.where(getattr(AuditEntry, field) == value)
    return list((await session.scalars(stmt)).all())


async def test_viewing_a_customer_record_writes_who_when_what_whose_and_from_where(
    app, client_as, session, clock
):
    customer = await create_customer(session)
    await session.commit()
    tec = await client_as("tec")
    transport = httpx.ASGITransport(app=app, client=("192.0.2.44", 51000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver", headers=tec.headers) as c:
        assert (await c.get(f"/api/customers/{customer.id}")).status_code == 200

    [row] = await _rows(session, customer_id=customer.id)
    assert row.actor_user_id == tec.user.id and row.actor == tec.user.username and row.actor_role == "tec"
    assert (row.action, row.object_type, row.object_id) == ("view", "customer", str(customer.id))
    assert row.client_ip == "192.0.2.44"
    assert row.at == clock.now()


async def test_a_list_page_records_a_view_of_each_customer_shown(client, session):
    customers = [await create_customer(session, family_name=f"Smith{n}") for n in range(3)]
    await session.commit()
    listing = await client.get("/api/customers", params={"limit": 2})
    assert len(listing.json()["items"]) == 2
    rows = await _rows(session, action="view")
    assert sorted(r.customer_id for r in rows) == sorted(c["id"] for c in listing.json()["items"])
    assert {r.detail["via"] for r in rows} == {"list"}
    assert (
        len({c.id for c in customers} - {r.customer_id for r in rows}) == 1
    )  # the unshown one is not logged


async def test_changes_and_responder_views_are_recorded_with_field_names_not_values(client, session):
    customer = await create_customer(session)
    await create_responder(session, customer)
    await session.commit()
    await client.patch(f"/api/customers/{customer.id}", json={"medical_notes": "Angina"})
    await client.get(f"/api/customers/{customer.id}/responders")
    rows = await _rows(session, customer_id=customer.id)
    assert [(r.action, r.object_type) for r in rows] == [("update", "customer"), ("view", "responders")]
    assert rows[0].detail == {"fields": ["medical_notes"]}
    assert "Angina" not in str(rows[0].detail)


async def test_finance_billing_views_are_recorded(client_as, session):
    customer = await create_customer(session)
    await session.commit()
    finance = await client_as("finance")
    await finance.get(f"/api/finance/customers/{customer.id}")
    [row] = await _rows(session, customer_id=customer.id)
    assert (row.actor_role, row.object_type) == ("finance", "customer_billing")


async def test_a_refused_request_records_no_view(client_as, session):
    customer = await create_customer(session)
    await session.commit()
    finance = await client_as("finance")
    assert (await finance.get(f"/api/customers/{customer.id}")).status_code == 403
    assert await _rows(session, customer_id=customer.id) == []


async def test_admin_searches_by_customer_and_the_search_is_itself_recorded(client, client_as, session):
    first, second = await create_customer(session), await create_customer(session)
    await session.commit()
    await client.get(f"/api/customers/{first.id}")
    await client.get(f"/api/customers/{second.id}")
    admin = await client_as("admin")
    found = await admin.get("/api/audit", params={"customer_id": first.id})
    assert found.status_code == 200
    body = found.json()
    assert body["total"] == 1 and body["items"][0]["customer_id"] == first.id
    assert body["items"][0]["actor"] == client.user.username
    searches = await _rows(session, action="search")
    assert searches[0].actor_user_id == admin.user.id and searches[0].detail == {"customer_id": first.id}
    by_actor = await admin.get("/api/audit", params={"actor_user_id": client.user.id, "action": "view"})
    assert by_actor.json()["total"] == 2


async def test_the_app_has_no_route_that_changes_the_audit_log(app):
    from arc.auth.policy import route_policies

    audit_routes = [p for p in route_policies(app) if p.path.startswith("/api/audit")]
    assert audit_routes and all(p.methods == ("GET",) for p in audit_routes)


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_log SET actor = 'someone else'",
        "DELETE FROM audit_log",
        "UPDATE audit_log SET reason = NULL",
    ],
)
async def test_the_database_refuses_to_update_or_delete_audit_rows(client, session, statement):
    customer_id = (await create_customer(session)).id
    await session.commit()
    await client.get(f"/api/customers/{customer_id}")
    with pytest.raises(DBAPIError, match="append-only"):
        await session.execute(text(statement))
    await session.rollback()
    assert len(await _rows(session, customer_id=customer_id)) == 1

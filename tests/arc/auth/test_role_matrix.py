"""Each role against each kind of data: allowed where their job needs it, refused everywhere else."""

from __future__ import annotations

import pytest

from arc.auth.models import ROLES
from tests.factories import create_customer_with_unit, create_responder

# kind of data -> (request, roles allowed). Refused means 403 for a signed-in user of another role.
MATRIX = {
    "customer record (health notes)": ("GET", "/api/customers/{cid}", {"operator", "supervisor", "tec"}),
    "customer list": ("GET", "/api/customers", {"operator", "supervisor", "tec"}),
    "customer change": ("PATCH", "/api/customers/{cid}", {"operator", "supervisor", "tec"}),
    "nominated responders": ("GET", "/api/customers/{cid}/responders", {"operator", "supervisor", "tec"}),
    "units and peripherals": ("GET", "/api/units", {"operator", "supervisor", "tec", "admin"}),
    "connections": ("GET", "/api/connections", {"operator", "supervisor", "tec", "admin"}),
    "billing view of a customer": ("GET", "/api/finance/customers/{cid}", {"finance"}),
    "billing customer list": ("GET", "/api/finance/customers", {"finance"}),
    "audit log": ("GET", "/api/audit", {"admin"}),
    "user management": ("GET", "/api/admin/users", {"admin"}),
    "own profile": ("GET", "/auth/me", set(ROLES)),
}
# routes colleagues own; checked when the running app has them
OPTIONAL = {
    "alarm queue": ("GET", "/api/alarms/queue", {"operator", "supervisor"}),
    "ERS own jobs": ("GET", "/api/ers/jobs", {"ers"}),
}


@pytest.fixture
async def customer_id(session) -> int:
    customer, _, _ = await create_customer_with_unit(session, medical_notes="Heart failure", risk_notes="Dog")
    await create_responder(session, customer)
    await session.commit()
    return customer.id


def _cases():
    for kind, (method, path, allowed) in {**MATRIX, **OPTIONAL}.items():
        for role in ROLES:
            yield pytest.param(kind, method, path, role, role in allowed, id=f"{kind}-{role}")


@pytest.mark.parametrize(("kind", "method", "path", "role", "allowed"), list(_cases()))
async def test_role_against_data(app, client_as, customer_id, kind, method, path, role, allowed):
    if kind in OPTIONAL and path not in _paths(app):
        pytest.skip(f"{path} not in this build")
    client = await client_as(role)
    body = {"town": "Ely"} if method == "PATCH" else None
    response = await client.request(method, path.format(cid=customer_id), json=body)
    if allowed:
        assert response.status_code == 200, f"{role} refused {kind}: {response.text}"
    else:
        assert response.status_code == 403, f"{role} got {kind}: {response.status_code}"
        assert response.json()["error"] == "forbidden"
        assert "Heart failure" not in response.text


def _paths(app) -> set[str]:
    from arc.auth.policy import route_policies

    return {p.path for p in route_policies(app)}


async def test_finance_billing_view_has_name_and_address_but_no_health_or_risk_data(client_as, customer_id):
    finance = await client_as("finance")
    shown = (await finance.get(f"/api/finance/customers/{customer_id}")).json()
    assert {"given_name", "family_name", "address_line1", "postcode", "case_ref"} <= shown.keys()
    assert not {"medical_notes", "risk_notes", "date_of_birth", "phone_primary", "gp_name"} & shown.keys()


async def test_an_admin_granted_supervisor_may_read_customer_records(client_as, customer_id):
    admin = await client_as("admin")
    assert (await admin.get(f"/api/customers/{customer_id}")).status_code == 403
    both = await client_as("admin", extra_roles=["supervisor"])
    assert (await both.get(f"/api/customers/{customer_id}")).status_code == 200
    assert (await both.get("/api/audit")).status_code == 200


async def test_anonymous_callers_get_401_everywhere(anon_client, customer_id):
    for method, path, _ in MATRIX.values():
        response = await anon_client.request(method, path.format(cid=customer_id))
        assert response.status_code == 401, path

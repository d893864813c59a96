"""The card loads whatever the key safe holds, and audits what a person looked at once per view."""

from __future__ import annotations

from sqlalchemy import func, select

from arc.alarms.events import LiveEvent
from arc.audit.models import AuditEntry
from arc.kit.crypto import DataCipher
from arc.registry.service import set_key_safe
from tests.arc.alarms.helpers import scene


async def _audit(session, **where) -> list[AuditEntry]:
    rows = await session.scalars(
        select(AuditEntry)
        .filter_by(**where)
        .order_by(AuditEntry.id)
        .execution_options(populate_existing=True)
    )
    return list(rows)


async def test_card_loads_with_the_key_safe_marked_unreadable_and_a_supervisor_is_told(
    client_as, session, clock
):
    s = await scene(session, clock)
    # written under a key this service no longer has (a retired key dropped from the settings)
    set_key_safe(s.customer, "code 1942", DataCipher("a key that was retired and is gone"))
    session.add(s.customer)
    await session.commit()
    operator = await client_as("operator")
    assert (await operator.post(f"/api/alarms/{s.alarm.id}/accept")).status_code == 200

    response = await operator.get(f"/api/alarms/{s.alarm.id}", params={"view": "v1"})

    assert response.status_code == 200, response.text
    card = response.json()
    assert (card["key_safe"], card["key_safe_state"]) == (None, "unreadable")
    assert card["customer"]["name"] == "Edith Clarke"  # the rest of the card is all there
    [row] = await _audit(session, object_type="key_safe")
    assert (row.action, row.actor_user_id, row.customer_id) == ("unreadable", operator.user.id, s.customer.id)
    event = await session.scalar(select(LiveEvent).where(LiveEvent.kind == "keysafe.unreadable"))
    assert event.payload["customer_id"] == s.customer.id and event.payload["alarm_id"] == s.alarm.id
    assert "1942" not in str(event.payload)

    supervisor = await client_as("supervisor")
    notices = (await supervisor.get("/api/key-safe/unreadable")).json()
    assert [(n["customer_id"], n["alarm_id"], n["reported_by"]) for n in notices["items"]] == [
        (s.customer.id, s.alarm.id, operator.user.username)
    ]
    assert (await operator.get("/api/key-safe/unreadable")).status_code == 403


async def test_the_dashboard_refreshing_one_view_writes_one_audit_row(app, client_as, session, clock):
    s = await scene(session, clock)
    set_key_safe(s.customer, "Key safe by back door, code 1942", app.state.data_cipher)
    session.add(s.customer)
    await session.commit()
    operator = await client_as("operator")
    await operator.post(f"/api/alarms/{s.alarm.id}/accept")

    for _ in range(5):  # the page refreshes the open card after every live event
        card = (await operator.get(f"/api/alarms/{s.alarm.id}", params={"view": "open-1"})).json()
        assert card["key_safe"] == "Key safe by back door, code 1942"
    views = await _audit(session, object_type="customer", action="view")
    looks = await _audit(session, object_type="key_safe", action="view")
    assert len(views) == 1 and views[0].detail == {"via": f"alarm card {s.alarm.id}", "view": "open-1"}
    assert len(looks) == 1

    # opening the card again is another view: audited again
    await operator.get(f"/api/alarms/{s.alarm.id}", params={"view": "open-2"})
    # an API client that names no view is audited on every request
    await operator.get(f"/api/alarms/{s.alarm.id}")
    await operator.get(f"/api/alarms/{s.alarm.id}")
    assert (
        await session.scalar(
            select(func.count()).select_from(AuditEntry).where(AuditEntry.object_type == "customer")
        )
        == 4
    )
    assert (
        await session.scalar(
            select(func.count()).select_from(AuditEntry).where(AuditEntry.object_type == "key_safe")
        )
        == 4
    )


async def test_a_view_id_is_checked(client_as, session, clock):
    s = await scene(session, clock)
    operator = await client_as("operator")
    bad = await operator.get(f"/api/alarms/{s.alarm.id}", params={"view": "x" * 65})
    assert bad.status_code == 422

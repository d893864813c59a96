"""The admin's unit logins: provision (the secret shown once) and revoke through the API, on a real
Mosquitto with the dynamic security plugin; audited, timed, and nothing half-written when the
broker is away."""

from __future__ import annotations

import asyncio

import aiomqtt
import pytest
from pydantic import SecretStr
from sqlalchemy import func, select, text, update

from arc.audit.models import AuditEntry
from arc.embedded import free_port
from arc.registry.broker_logins import DynsecLogins, FileLogins
from arc.registry.sip import UnitLogin, UnitSipCredential
from arc.registry.units import Unit
from devices import credentials
from tests.devices.test_credentials import _client, _received
from tests.devices.test_dynsec import dynsec_broker  # noqa: F401 - the fixture
from tests.factories import create_unit

CID = "4402001"


async def _sip_row(session, cid=CID):
    return await session.scalar(
        select(UnitSipCredential)
        .where(UnitSipCredential.username == cid)
        .execution_options(populate_existing=True)
    )


def _away(settings) -> DynsecLogins:
    """The dynamic security plugin's admin login, aimed at a port nothing listens on."""
    return DynsecLogins(
        settings.model_copy(
            update={"mqtt_url": f"mqtt://127.0.0.1:{free_port()}", "dynsec_password": SecretStr("x")}
        ),
        timeout=2.0,
    )


async def _login(session, cid=CID) -> UnitLogin | None:
    return await session.scalar(
        select(UnitLogin)
        .join(Unit, Unit.id == UnitLogin.unit_id)
        .where(Unit.cid == cid)
        .execution_options(populate_existing=True)
    )


async def test_an_admin_provisions_a_unit_which_then_logs_in_and_revokes_it(
    app,
    client_as,
    session,
    dynsec_broker,  # noqa: F811
):
    b, root = dynsec_broker, dynsec_broker["root"]
    app.state.broker_logins = DynsecLogins(b["settings"])
    await create_unit(session, cid=CID, model="Hub 4")
    await session.commit()
    admin = await client_as("admin")

    made = await admin.post(f"/api/admin/units/{CID}/credentials")
    assert made.status_code == 201, made.text
    body = made.json()
    assert (body["username"], body["broker"], body["reload_needed"]) == (CID, "dynsec", False)
    secret = body["password"]
    assert len(secret) >= 32
    row = await _sip_row(session)
    assert row.ha1 == credentials.sip_ha1(CID, app.state.settings.sip_realm, secret)  # one secret, both ways
    async with (
        _client(b, "arc", b["logins"]["arc"]) as service,
        _client(b, CID, secret) as unit,
    ):
        await service.subscribe(f"{root}/+/mrq", qos=1)
        await unit.publish(f"{root}/4402002/mrq", b'{"ref":"F1"}', qos=1)  # someone else's: dropped
        await unit.publish(f"{root}/{CID}/mrq", b'{"ref":"R1"}', qos=1)
        assert await _received(service) == [(f"{root}/{CID}/mrq", b'{"ref":"R1"}')]

    listed = (await admin.get("/api/admin/units/credentials", params={"cid": CID})).json()
    assert listed["broker"] == "dynsec" and listed["total"] == 1
    [item] = listed["items"]
    assert (item["state"], item["sip"], item["revoked_at"]) == ("active", True, None)
    assert item["issued_at"] == body["issued_at"]
    assert secret not in str(listed)

    taken = await admin.delete(f"/api/admin/units/{CID}/credentials")
    assert taken.status_code == 200 and taken.json()["had_login"] is True
    with pytest.raises(aiomqtt.MqttError):
        async with _client(b, CID, secret):
            pass
    assert await _sip_row(session) is None
    [item] = (await admin.get("/api/admin/units/credentials", params={"state": "revoked"})).json()["items"]
    assert item["cid"] == CID and item["revoked_at"] is not None and item["issued_at"] == body["issued_at"]

    audit = (
        await session.scalars(
            select(AuditEntry).where(AuditEntry.object_type == "unit_credentials").order_by(AuditEntry.id)
        )
    ).all()
    assert [(a.action, a.object_id, a.actor_user_id) for a in audit] == [
        ("provision", CID, admin.user.id),
        ("revoke", CID, admin.user.id),
    ]
    assert secret not in str([a.detail for a in audit])


async def test_a_broker_that_is_away_changes_nothing_and_says_so(app, client_as, session, settings):
    app.state.broker_logins = _away(settings)
    await create_unit(session, cid=CID)
    await session.commit()
    admin = await client_as("admin")
    refused = await admin.post(f"/api/admin/units/{CID}/credentials")
    assert refused.status_code == 503, refused.text
    assert (
        refused.json()["error"] == "broker_unavailable" and "nothing was changed" in refused.json()["detail"]
    )
    assert await _sip_row(session) is None  # no HA1 without the broker login
    assert await _login(session) is None
    assert (
        await session.scalar(select(AuditEntry.id).where(AuditEntry.object_type == "unit_credentials"))
        is None
    )


async def test_revoking_while_the_broker_is_away_keeps_the_sip_login_too(
    app, client_as, session, settings, tmp_path
):
    app.state.broker_logins = FileLogins(settings, tmp_path / "passwd", tmp_path / "acl")
    await create_unit(session, cid=CID)
    await session.commit()
    admin = await client_as("admin")
    made = await admin.post(f"/api/admin/units/{CID}/credentials")
    assert made.status_code == 201 and made.json()["reload_needed"] is True  # the file way: kill -HUP
    assert credentials.has_password_entry(tmp_path / "passwd", CID)
    app.state.broker_logins = _away(settings)
    refused = await admin.delete(f"/api/admin/units/{CID}/credentials")
    assert refused.status_code == 503
    assert await _sip_row(session) is not None and (await _login(session)).revoked_at is None


async def test_refusals_are_4xx(app, client_as, session, settings, tmp_path):
    app.state.broker_logins = FileLogins(settings, tmp_path / "passwd", tmp_path / "acl")
    await create_unit(session, cid=CID)
    await session.commit()
    admin, supervisor = await client_as("admin"), await client_as("supervisor")
    assert (await supervisor.post(f"/api/admin/units/{CID}/credentials")).status_code == 403
    assert (await supervisor.get("/api/admin/units/credentials")).status_code == 403
    missing = await admin.post("/api/admin/units/4409999/credentials")
    assert missing.status_code == 404 and "not registered" in missing.json()["detail"]
    assert (await admin.post("/api/admin/units/44x01/credentials")).status_code == 422
    assert (await admin.delete("/api/admin/units/4409999/credentials")).status_code == 404
    app.state.broker_logins = None  # file mode, no files set: the demo's embedded broker
    unmanaged = await admin.post(f"/api/admin/units/{CID}/credentials")
    assert unmanaged.status_code == 409 and unmanaged.json()["error"] == "broker_logins_unmanaged"
    assert (await admin.get("/api/admin/units/credentials")).json()["broker"] is None


class SlowBroker:
    """A broker that takes its time: the request waits in ``give`` until the test lets it go."""

    kind, reload_needed = "dynsec", False

    def __init__(self) -> None:
        self.entered, self.release = asyncio.Event(), asyncio.Event()

    async def give(self, cid: str, password: str) -> None:
        self.entered.set()
        await self.release.wait()

    async def take(self, cid: str) -> bool:
        return True


async def test_the_ingest_is_not_held_up_while_the_broker_answers(app, client_as, session, engine):
    slow = app.state.broker_logins = SlowBroker()
    unit = await create_unit(session, cid=CID)
    await session.commit()
    admin = await client_as("admin")
    asking = asyncio.create_task(admin.post(f"/api/admin/units/{CID}/credentials"))
    await asyncio.wait_for(slow.entered.wait(), 5)
    async with engine.connect() as conn:  # what a heartbeat batch does to the unit's row meanwhile
        await conn.execute(text("SET lock_timeout = '500ms'"))
        await conn.execute(update(Unit).where(Unit.id == unit.id).values(last_heard_at=func.now()))
        await conn.commit()
    slow.release.set()
    assert (await asking).status_code == 201

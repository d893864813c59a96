"""Comms supervision: no-comms raised and cleared on a controllable clock; technical statuses."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from arc.alarms.models import Alarm
from arc.registry.units import Peripheral, Unit
from arc.supervision.sweep import sweep_job
from tests.arc.ingest.conftest import FakeUnit, count
from tests.factories import create_customer_with_unit, create_peripheral


async def _hub(session, **unit_fields):
    _, hub, _ = await create_customer_with_unit(session)
    for name, value in unit_fields.items():
        setattr(hub, name, value)
    await session.commit()
    return hub


async def test_silent_unit_raises_no_comms_and_hearing_it_clears_it(app, unit: FakeUnit, session, clock):
    hub = await _hub(session, heartbeat_interval_minutes=60)
    await unit.send(hub.cid, {"ref": "HB1", "cid": hub.cid, "dty": "1", "mty": "PI"})
    clock.advance(minutes=69)  # interval 60 + grace 10 not yet over
    await sweep_job(app)
    assert await count(session, Alarm) == 0
    clock.advance(minutes=2)
    await sweep_job(app)
    await sweep_job(app)  # a second sweep does not raise it twice
    alarm = await session.scalar(select(Alarm))
    assert (alarm.kind, alarm.category, alarm.status, alarm.customer_id is not None) == (
        "no_comms",
        "technical",
        "queued",
        True,
    )
    assert (await session.get(Unit, hub.id, populate_existing=True)).comms_state == "no_comms"

    assert (await unit.send(hub.cid, {"ref": "HB2", "cid": hub.cid, "dty": "1", "mty": "PI"}))["snu"] == 0
    alarm = await session.get(Alarm, alarm.id, populate_existing=True)
    assert (alarm.status, alarm.outcome_code, alarm.closed_at) == ("closed", "restored", clock.now())
    assert (await session.get(Unit, hub.id, populate_existing=True)).comms_state == "ok"


async def test_no_comms_uses_the_default_interval_and_skips_units_never_heard(
    app, unit: FakeUnit, session, clock
):
    settings = app.state.settings
    heard = await _hub(session)
    await _hub(session)  # never heard: nothing to miss
    await unit.send(heard.cid, {"ref": "X1", "cid": heard.cid, "dty": "3", "stc": "102"})
    clock.advance(minutes=settings.heartbeat_interval_minutes + settings.heartbeat_grace_minutes + 1)
    await sweep_job(app)
    assert [a.cid for a in await session.scalars(select(Alarm))] == [heard.cid]


async def test_accepted_no_comms_alarm_stays_with_its_operator_when_the_unit_returns(
    app, unit, session, clock
):
    hub = await _hub(session, heartbeat_interval_minutes=5)
    await unit.send(hub.cid, {"ref": "HB1", "cid": hub.cid, "dty": "1", "mty": "PI"})
    clock.advance(minutes=16)
    await sweep_job(app)
    alarm = await session.scalar(select(Alarm))
    alarm.status = "accepted"
    await session.commit()
    await unit.send(hub.cid, {"ref": "HB2", "cid": hub.cid, "dty": "1", "mty": "PI"})
    alarm = await session.get(Alarm, alarm.id, populate_existing=True)
    assert alarm.status == "accepted"


async def test_mains_failure_raises_a_lower_priority_technical_alarm_and_restore_clears_it(unit, session):
    hub = await _hub(session)
    assert (await unit.send(hub.cid, {"ref": "P1", "cid": hub.cid, "dty": "3"}))["snu"] == 4
    assert (await unit.send(hub.cid, {"ref": "MF1", "cid": hub.cid, "dty": "1", "stc": "85"}))["snu"] == 0
    alarms = {a.kind: a for a in await session.scalars(select(Alarm))}
    assert set(alarms) == {"activation", "mains_failure"}  # a fault never swallows a person's alarm
    assert alarms["mains_failure"].priority > alarms["activation"].priority
    assert (await session.get(Unit, hub.id, populate_existing=True)).mains == "failed"
    assert (await unit.send(hub.cid, {"ref": "MR1", "cid": hub.cid, "dty": "1", "stc": "86"}))["snu"] == 0
    mains = await session.get(Alarm, alarms["mains_failure"].id, populate_existing=True)
    assert (mains.status, mains.outcome_code) == ("closed", "restored")
    assert (await session.get(Unit, hub.id, populate_existing=True)).mains == "ok"


async def test_link_battery_and_tamper_statuses_update_the_unit(unit, session):
    hub = await _hub(session)
    pendant = await create_peripheral(session, hub, did="P1")
    await session.commit()
    for ref, stc, did in (("L1", "23", None), ("L2", "24", None), ("B1", "16", "P1"), ("T1", "125", None)):
        payload = {"ref": ref, "cid": hub.cid, "dty": "3" if did else "1", "stc": stc}
        if did:
            payload["did"] = did
        assert (await unit.send(hub.cid, payload))["snu"] == 0
    stored = await session.get(Unit, hub.id, populate_existing=True)
    assert (stored.ip_link, stored.mobile_link, stored.tamper) == ("failed", "failed", True)
    assert (await session.get(Peripheral, pendant.id, populate_existing=True)).battery_low is True
    kinds = sorted(a.kind for a in await session.scalars(select(Alarm)))
    assert kinds == ["battery_low", "link_failure", "link_failure", "tamper"]
    await unit.send(hub.cid, {"ref": "L3", "cid": hub.cid, "dty": "1", "stc": "112"})
    stored = await session.get(Unit, hub.id, populate_existing=True)
    assert (stored.ip_link, stored.mobile_link) == ("ok", "failed")
    open_links = await session.scalars(
        select(Alarm.stc).where(Alarm.kind == "link_failure", Alarm.status != "closed")
    )
    assert list(open_links) == ["0024"]


async def test_repeated_fault_attaches_to_the_open_technical_alarm(unit, session):
    hub = await _hub(session)
    await unit.send(hub.cid, {"ref": "F1", "cid": hub.cid, "dty": "1", "stc": "85"})
    await unit.send(hub.cid, {"ref": "F2", "cid": hub.cid, "dty": "1", "stc": "85"})
    [alarm] = (await session.scalars(select(Alarm))).all()
    assert alarm.activation_count == 2


async def test_silence_from_before_the_arc_was_listening_is_not_held_against_units(app, session, clock):
    """After the ARC's own outage or restart the fleet gets a full interval + grace to check in:
    otherwise every unit would go no-comms at once."""
    listening_since = app.state.ingest.listening_since
    assert listening_since is not None
    hub = await _hub(session, heartbeat_interval_minutes=60, comms_state="ok")
    hub.last_heard_at = listening_since - timedelta(hours=3)  # silent long before we listened
    await session.commit()

    clock.advance(minutes=1)
    await sweep_job(app)
    assert await count(session, Alarm) == 0

    clock.advance(minutes=70)  # interval 60 + grace 10 since the ARC started listening
    await sweep_job(app)
    assert (await session.scalar(select(Alarm))).kind == "no_comms"


async def test_no_sweep_while_the_ingest_is_disconnected(app, session, clock):
    hub = await _hub(session, heartbeat_interval_minutes=60, comms_state="ok")
    hub.last_heard_at = clock.now()
    await session.commit()
    clock.advance(hours=5)
    app.state.ingest.listening_since = None  # what the worker records while the broker is gone
    await sweep_job(app)
    assert await count(session, Alarm) == 0
    assert (await session.get(Unit, hub.id, populate_existing=True)).comms_state == "ok"

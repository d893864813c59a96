"""An alarm whose required tags are valid is stored and shown whatever its unknown tags hold.

A JSON number too large for a double (``1e999``, read as infinity) or the non-JSON ``NaN`` /
``Infinity`` in a tag we do not know was refused by PostgreSQL (JSONB holds no infinity), the
last-resort path failed the same way, the unit got ``snu 5`` and no alarm existed. The codec now
keeps such a number as its source text."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from arc.alarms.models import Alarm
from arc.ingest.models import InboxMessage, RejectedMessage
from tests.arc.ingest.conftest import FakeUnit, count
from tests.factories import create_customer_with_unit


@pytest.mark.parametrize(
    "extra, kept",
    [
        (b'"x": 1e999', "1e999"),
        (b'"x": -1E+400', "-1E+400"),
        (b'"x": NaN', "NaN"),
        (b'"x": {"deep": [Infinity, 2.5]}', {"deep": ["Infinity", 2.5]}),
    ],
)
async def test_alarm_with_a_non_finite_unknown_tag_reaches_the_queue(
    unit: FakeUnit, session, client_as, extra, kept
):
    customer, hub, _ = await create_customer_with_unit(session)
    await session.commit()
    payload = b'{"ref": "NF1", "cid": "' + hub.cid.encode() + b'", "dty": "3", ' + extra + b"}"
    assert (await unit.send(hub.cid, payload))["snu"] == 4  # held for an operator, not refused
    alarm = await session.scalar(select(Alarm))
    assert (alarm.status, alarm.customer_id, alarm.unknown_unit) == ("queued", customer.id, False)
    row = await session.scalar(select(InboxMessage))
    assert row.message["extra"]["x"] == kept  # kept, as the unit wrote it
    assert await count(session, RejectedMessage) == 0
    operator = await client_as("operator")
    queue = (await operator.get("/api/alarms/queue")).json()["items"]
    assert [a["id"] for a in queue] == [alarm.id]
    assert (await operator.get(f"/api/alarms/{alarm.id}")).status_code == 200


async def test_alarm_with_a_non_finite_gps_time_keeps_the_alarm_and_sets_the_time_aside(
    unit: FakeUnit, session
):
    _, hub, _ = await create_customer_with_unit(session)
    await session.commit()
    payload = (
        b'{"ref":"NF2","cid":"' + hub.cid.encode() + b'","dty":"51","lge":{"geo":"52.2,0.12","tim":1e999}}'
    )
    assert (await unit.send(hub.cid, payload))["snu"] == 4
    alarm = await session.scalar(select(Alarm))
    assert (alarm.geo_lat, alarm.geo_lon) == (52.2, 0.12)
    row = await session.scalar(select(InboxMessage))
    assert row.message["extra"]["invalid"] == {"lge.tim": "1e999"}

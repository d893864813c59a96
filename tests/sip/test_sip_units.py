"""Real SCAIP units over SIP: MESSAGE -> Kamailio -> MQTT -> the one ingest -> mrs MESSAGE back."""

from __future__ import annotations

import asyncio
import xml.etree.ElementTree as ET

import pytest
from sqlalchemy import func, select

from arc.ingest.models import InboxMessage, RejectedMessage
from simulators.sip import Exchange, send_udp


def mrq(ref: str, cid: str, **tags: str) -> str:
    inner = "".join(f"<{k}>{v}</{k}>" for k, v in {"ref": ref, "cid": cid, **tags}.items())
    return f'<?xml version="1.0" encoding="UTF-8"?><mrq>{inner}</mrq>'


def mrs(body: str) -> tuple[str | None, int]:
    """(ref, snu) of an XML answer the unit received."""
    root = ET.fromstring(body)  # noqa: S314 - the ARC's own answer
    return root.findtext("ref"), int(root.findtext("snu") or -1)


async def stored(session, cid: str) -> int:
    return await session.scalar(select(func.count()).select_from(InboxMessage).where(InboxMessage.cid == cid))


@pytest.mark.parametrize("transport", ["u1", "t1"], ids=["udp", "tcp"])
async def test_heartbeat_over_sip_is_answered_snu_0_in_a_message_to_the_unit(
    provisioned, sip_unit, session, transport
):
    unit, password = await provisioned()
    result = await sip_unit(unit.cid, password, transport=transport).run(
        [Exchange(mrq("HB1", unit.cid, dty="1", mty="PI", stc="9"))], expect_mrs=1
    )
    assert result.returncode == 0, result.log
    assert result.answers == [401, 200]
    assert [mrs(b) for b in result.mrs] == [("HB1", 0)]
    assert await stored(session, unit.cid) == 1


async def queued(operator, cid: str, within: float = 15.0) -> dict:
    deadline = asyncio.get_running_loop().time() + within
    while asyncio.get_running_loop().time() < deadline:
        items = (await operator.get("/api/alarms/queue")).json()["items"]
        mine = [a for a in items if a["cid"] == cid]
        if mine:
            return mine[0]
        await asyncio.sleep(0.05)
    raise AssertionError(f"no alarm queued for {cid}")


async def test_alarm_is_held_then_accepted_by_an_operator_and_the_unit_gets_both_answers(
    provisioned, sip_unit, client_as
):
    unit, password = await provisioned()
    operator = await client_as("operator")
    # a vendor-style alarm: unpadded codes and no mty at all
    seen: list[str] = []
    playing = asyncio.create_task(
        sip_unit(unit.cid, password).run(
            [Exchange(mrq("AL1", unit.cid, dty="3", stc="10"))], expect_mrs=2, seen=seen
        )
    )
    alarm = await queued(operator, unit.cid)
    assert alarm["status"] == "queued"
    async with asyncio.timeout(15):
        while not seen:  # noqa: ASYNC110 - sipp's trace is polled; the operator answers after the HOLD
            await asyncio.sleep(0.05)
    assert (await operator.post(f"/api/alarms/{alarm['id']}/accept")).status_code == 200
    result = await playing
    assert result.answers == [401, 200], result.log
    assert [mrs(b) for b in result.mrs] == [("AL1", 4), ("AL1", 0)]


async def test_retransmitted_message_is_stored_once_and_answered_each_time(provisioned, sip_unit, session):
    unit, password = await provisioned()
    body = mrq("RT1", unit.cid, dty="0003", stc="0010")
    result = await sip_unit(unit.cid, password).run([Exchange(body), Exchange(body)], expect_mrs=2)
    assert result.answers == [401, 200, 401, 200], result.log
    assert [mrs(b) for b in result.mrs] == [("RT1", 4), ("RT1", 4)]
    assert await stored(session, unit.cid) == 1


async def test_no_credentials_or_a_wrong_password_is_challenged_and_nothing_is_stored(
    provisioned, sip_unit, session
):
    unit, password = await provisioned()
    body = mrq("NA1", unit.cid, dty="0003", stc="0010")
    unauthenticated = await sip_unit(unit.cid, password).run(
        [Exchange(body, authenticate=False, expect=401)], linger=0.5
    )
    assert unauthenticated.returncode == 0, unauthenticated.log
    assert unauthenticated.answers == [401]
    wrong = await sip_unit(unit.cid, password + "x").run([Exchange(body, expect=401)], linger=1.0)
    assert wrong.returncode == 0, wrong.log
    assert wrong.answers == [401, 401] and wrong.mrs == []
    stranger = await sip_unit("4400000000", password).run([Exchange(body, expect=401)], linger=0.5)
    assert stranger.answers == [401, 401] and stranger.mrs == []
    assert await stored(session, unit.cid) == 0
    assert await session.scalar(select(func.count()).select_from(RejectedMessage)) == 0


async def test_a_body_naming_another_units_cid_is_answered_snu_3(provisioned, sip_unit, session):
    unit, password = await provisioned()
    other, _ = await provisioned()
    result = await sip_unit(unit.cid, password).run(
        [Exchange(mrq("CM1", other.cid, dty="0003", stc="0010"))], expect_mrs=1
    )
    assert result.answers == [401, 200], result.log
    assert [mrs(b) for b in result.mrs] == [("CM1", 3)]
    assert await stored(session, other.cid) == 0 and await stored(session, unit.cid) == 0


async def test_authenticating_as_another_unit_is_forbidden(provisioned, sip_unit, session):
    unit, _ = await provisioned()
    other, other_password = await provisioned()
    # From says `unit`, the credentials are `other`'s: the edge refuses it before any topic
    result = await sip_unit(unit.cid, other_password, username=other.cid).run(
        [Exchange(mrq("IM1", unit.cid, dty="0003"), expect=403)], linger=0.5
    )
    assert result.answers == [401, 403], result.log
    assert await stored(session, unit.cid) == 0 and await stored(session, other.cid) == 0


async def test_a_replayed_nonce_is_challenged_and_its_message_never_reaches_the_ingest(
    provisioned, sip_unit, session, edge
):
    unit, password = await provisioned()
    result = await sip_unit(unit.cid, password).run(
        [Exchange(mrq("RP1", unit.cid, dty="0001", mty="PI"))], expect_mrs=1
    )
    signed = next(text for _, text in result.sent if "Authorization:" in text)
    # an eavesdropper resends the signed request as a new transaction with a new body
    forged = signed.replace("RP1", "RP2").replace("branch=", "branch=z9hG4bKreplay", 1)
    forged = forged.replace("\r\n", "\n").rstrip("\n").replace("\n", "\r\n") + "\r\n"
    assert await asyncio.to_thread(send_udp, ("127.0.0.1", edge.port), forged) == 401
    await asyncio.sleep(0.3)
    refs = (await session.scalars(select(InboxMessage.ref).where(InboxMessage.cid == unit.cid))).all()
    assert refs == ["RP1"]


async def test_a_unit_that_registers_first_is_registered_then_heard(provisioned, sip_unit):
    unit, password = await provisioned()
    result = await sip_unit(unit.cid, password).run(
        [Exchange("", method="REGISTER"), Exchange(mrq("RG1", unit.cid, dty="0001", mty="PI"))], expect_mrs=1
    )
    assert result.answers == [401, 200, 401, 200], result.log
    assert [mrs(b) for b in result.mrs] == [("RG1", 0)]

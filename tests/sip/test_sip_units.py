"""Real SCAIP units over SIP: MESSAGE -> Kamailio -> MQTT -> the one ingest -> mrs MESSAGE back."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from sqlalchemy import func, select

from arc.ingest.models import InboxMessage
from simulators.sip import Exchange


def mrq(ref: str, cid: str, **tags: str) -> str:
    inner = "".join(f"<{k}>{v}</{k}>" for k, v in {"ref": ref, "cid": cid, **tags}.items())
    return f'<?xml version="1.0" encoding="UTF-8"?><mrq>{inner}</mrq>'


def mrs(body: str) -> tuple[str | None, int]:
    """(ref, snu) of an XML answer the unit received."""
    root = ET.fromstring(body)  # noqa: S314 - the ARC's own answer
    return root.findtext("ref"), int(root.findtext("snu") or -1)


async def stored(session, cid: str) -> int:
    return await session.scalar(select(func.count()).select_from(InboxMessage).where(InboxMessage.cid == cid))


async def test_heartbeat_over_sip_is_answered_snu_0_in_a_message_to_the_unit(provisioned, sip_unit, session):
    unit, password = await provisioned()
    result = await sip_unit(unit.cid, password).run(
        [Exchange(mrq("HB1", unit.cid, dty="1", mty="PI", stc="9"))], expect_mrs=1
    )
    assert result.returncode == 0, result.log
    assert result.answers == [401, 200]
    assert [mrs(b) for b in result.mrs] == [("HB1", 0)]
    assert await stored(session, unit.cid) == 1

"""Call-handling scripts: what the operator should say and check, per device / status code.

Each script has a ``match`` rule in the priority table's vocabulary; the most
specific one wins, in this order:

    dty:NNNN/stc:NNNN  ->  stc:NNNN  ->  dty:NNNN  ->  kind:<kind>  ->  default

Defaults are seeded by migration 0004 (and by ``ensure_defaults`` if the table
is found empty); supervisors and admins edit them through the API.
"""

from __future__ import annotations

import re

from sqlalchemy import String, Text, exists, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from arc.kit.errors import Conflict, ErrorCode, NotFound, Unprocessable
from arc.kit.model import Base, IdMixin, TimestampMixin

MATCH_PATTERN = r"^(default|kind:[a-z_]{1,27}|stc:[0-9]{4}|dty:[0-9]{4}(/stc:[0-9]{4})?)$"
_MATCH = re.compile(MATCH_PATTERN)

_LIFE = (
    "1. Speak through the unit: introduce yourself and ask if they need help.\n"
    "2. No answer or help needed: call the customer's phone, then follow the responder plan.\n"
)
DEFAULT_SCRIPTS: dict[str, str] = {
    "default": _LIFE + "3. Record what happened and close with an outcome.",
    "dty:0003": "Pendant pressed.\n"
    + _LIFE
    + "3. If they have fallen or are hurt: do not ask them to get up; "
    "send a responder, or call 999 if injured or unresponsive.",
    "dty:0004": "Pull-cord pulled.\n" + _LIFE + "3. Ask where they are in the home and what happened.",
    "dty:0005": "Fall detected.\n" + _LIFE + "3. Assume a fall until told otherwise: ask about pain, head "
    "injury, how long on the floor. Send a responder; 999 if injured, unresponsive or on the floor > 1 h.",
    "dty:0023": "SMOKE DETECTOR.\n1. Speak through the unit: is there a fire? Tell them to get out and stay "
    "out.\n2. No answer or fire confirmed: call 999 fire service NOW, then the responder plan.",
    "dty:0025": "HEAT DETECTOR.\n1. Speak through the unit: is there a fire? Tell them to get out.\n"
    "2. No answer or fire confirmed: call 999 fire service NOW, then the responder plan.",
    "dty:0026": "CARBON MONOXIDE.\n1. Tell them to open windows, turn off appliances and go outside.\n"
    "2. Call 999 if anyone is unwell; gas emergency line 0800 111 999; then the responder plan.",
    "dty:0033": "Flood detector.\n1. Ask if water is escaping and if they can turn off the stopcock safely.\n"
    "2. Send a responder if they cannot cope.",
    "dty:0051": "Mobile GPS unit.\n1. Speak to the wearer; open the map link for their location.\n"
    "2. Send help to the location shown if they need it.",
    "stc:0016": "Battery low (technical). Arrange a battery change with the TEC team; no call needed at night.",
    "stc:0085": "Mains failure (technical). Call the customer to check the unit is plugged in and power is on.",
    "stc:0023": "IP link failure (technical). The unit falls back to mobile; log it for the TEC team.",
    "stc:0024": "Mobile link failure (technical). Log it for the TEC team.",
    "kind:no_comms": "Unit not heard from. Call the customer to check they are safe and the unit is powered; "
    "send a responder if there is no answer and they are high risk.",
    "kind:unknown_unit": "Alarm from a unit we do not know. Treat it as a real alarm: speak through the "
    "unit, find out who and where they are, send help, then tell the TEC team.",
}


class CallScript(IdMixin, TimestampMixin, Base):
    __tablename__ = "call_scripts"

    match: Mapped[str] = mapped_column(String(32), unique=True)
    text: Mapped[str] = mapped_column(Text)


def view(script: CallScript) -> dict:
    return {"id": script.id, "match": script.match, "text": script.text}


def candidates(dty: str | None, stc: str | None, kind: str | None) -> list[str]:
    """Match rules for an alarm, most specific first."""
    keys = []
    if dty and stc:
        keys.append(f"dty:{dty}/stc:{stc}")
    if stc:
        keys.append(f"stc:{stc}")
    if dty:
        keys.append(f"dty:{dty}")
    if kind:
        keys.append(f"kind:{kind}")
    keys.append("default")
    return keys


async def ensure_defaults(session: AsyncSession) -> None:
    if await session.scalar(select(exists().select_from(CallScript))):
        return
    rows = [{"match": match, "text": text} for match, text in DEFAULT_SCRIPTS.items()]
    await session.execute(insert(CallScript).values(rows).on_conflict_do_nothing(index_elements=["match"]))


async def script_for(session: AsyncSession, dty: str | None, stc: str | None, kind: str | None) -> str:
    await ensure_defaults(session)
    keys = candidates(dty, stc, kind)
    found = {
        s.match: s.text for s in await session.scalars(select(CallScript).where(CallScript.match.in_(keys)))
    }
    for key in keys:
        if key in found:
            return found[key]
    return DEFAULT_SCRIPTS["default"]


async def list_scripts(session: AsyncSession) -> list[CallScript]:
    await ensure_defaults(session)
    return list(await session.scalars(select(CallScript).order_by(CallScript.match)))


def check_match(match: str) -> str:
    if not _MATCH.match(match):
        raise Unprocessable(
            "match must be default, kind:<kind>, stc:NNNN, dty:NNNN or dty:NNNN/stc:NNNN", field="match"
        )
    return match


async def create_script(session: AsyncSession, match: str, text: str) -> CallScript:
    await ensure_defaults(session)
    check_match(match)
    if await session.scalar(select(CallScript.id).where(CallScript.match == match)):
        raise Conflict(f"a script for {match!r} already exists", code=ErrorCode.DUPLICATE, field="match")
    script = CallScript(match=match, text=text)
    session.add(script)
    await session.flush()
    return script


async def update_script(session: AsyncSession, script_id: int, text: str) -> CallScript:
    script = await session.get(CallScript, script_id, with_for_update=True)
    if script is None:
        raise NotFound(f"script {script_id} not found")
    script.text = text
    await session.flush()
    return script


async def delete_script(session: AsyncSession, script_id: int) -> None:
    script = await session.get(CallScript, script_id, with_for_update=True)
    if script is None:
        raise NotFound(f"script {script_id} not found")
    if script.match == "default":
        raise Conflict("the default script can be edited but not deleted", code=ErrorCode.PROTECTED)
    await session.delete(script)
    await session.flush()

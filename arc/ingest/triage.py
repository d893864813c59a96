"""Triage of one stored message, as small named steps.

    quick_outcome      heartbeat, automatic test, pill info: answered 0, no alarm (decided before INSERT)
    triage             route by message type:
      on_event           ME: technical status -> supervision; manual reset; otherwise an alarm
      on_reset           RE: mark the session's alarm reset at the unit (it stays for an operator)
      on_info            IN: add the information to the session's alarm
    answer_duplicate   a retransmission / HOLD re-poll: the answer the session has now

An `RE` or `IN` whose event never arrived is treated as the event itself: the unit
had something to say and nobody has seen it yet, so it reaches an operator.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from arc.alarms import intake
from arc.alarms.models import Alarm
from arc.ingest.models import InboxMessage
from arc.kit.db import driver
from arc.kit.settings import Settings
from arc.supervision import comms
from devices.protocol import Mrq
from devices.protocol.codes import Snu, StatusCategory, status_category

# Actions whose answer follows the alarm: HOLD while queued, 0 once accepted or closed.
HOLD_ACTIONS = frozenset({"alarm_opened", "alarm_attached", "alarm_joined_session", "triage_failed_alarm"})
PILL_INFO = ("0082", "0083")  # reminder given / pill taken: recorded, nobody needs to act


@dataclass(frozen=True, slots=True)
class Outcome:
    action: str
    snu: int
    alarm_id: int | None = None

    @property
    def final(self) -> bool:
        return self.snu != Snu.HOLD


@dataclass(frozen=True, slots=True)
class Context:
    settings: Settings
    now: datetime


def content_key(mrq: Mrq) -> str:
    """`IN` updates sharing a ref are told apart by content; other types by (cid, ref, mty) alone."""
    return mrq.content_digest() if mrq.mty == "IN" else ""


def quick_outcome(mrq: Mrq) -> Outcome | None:
    """Messages whose answer does not depend on the database: decided before the INSERT."""
    if mrq.mty == "PI":
        return Outcome("heartbeat", Snu.OK)
    if mrq.mty == "ME":
        category = status_category(mrq.stc)
        if category == StatusCategory.TEST:
            return Outcome("test", Snu.OK)
        if mrq.stc in PILL_INFO:
            return Outcome("status", Snu.OK)
    return None


# The hot statements, on the session's bare connection (arc.kit.db.driver).
_SESSION_ALARM_ID = """
    SELECT alarm_id FROM ingest_inbox WHERE cid = $1 AND ref = $2 AND alarm_id IS NOT NULL
    ORDER BY generation DESC, id DESC LIMIT 1
"""


async def session_alarm(session: AsyncSession, cid: str, ref: str) -> Alarm | None:
    """The alarm already tied to this ref (latest session), locked for update."""
    alarm_id = await (await driver(session)).fetchval(_SESSION_ALARM_ID, cid, ref)
    if alarm_id is None:
        return None
    return await session.get(Alarm, alarm_id, with_for_update=True)


async def triage(session: AsyncSession, mrq: Mrq, unit: comms.UnitRow | None, ctx: Context) -> Outcome:
    source = await intake.source_for(session, mrq.cid, unit.id if unit else None)
    if mrq.mty == "RE":
        return await on_reset(session, source, mrq, ctx)
    if mrq.mty == "IN":
        return await on_info(session, source, mrq, ctx)
    return await on_event(session, source, mrq, ctx)


async def on_event(session: AsyncSession, source: intake.Source, mrq: Mrq, ctx: Context) -> Outcome:
    category = status_category(mrq.stc)
    if category == StatusCategory.TECHNICAL:
        action, alarm_id = await comms.on_technical_status(session, source, mrq, ctx.now, ctx.settings)
        return Outcome(action, Snu.OK, alarm_id)
    if category == StatusCategory.TEST or mrq.stc in PILL_INFO:
        return Outcome("test" if category == StatusCategory.TEST else "status", Snu.OK)
    if category == StatusCategory.RESET:  # 0093: the user reset the alarm at the unit
        await intake.lock_unit(session, source.cid)
        alarm = await intake.open_unit_alarm(session, source.cid, intake.ATTACHABLE_KINDS)
        if alarm is None:
            return Outcome("manual_reset_no_alarm", Snu.OK)
        await intake.record_reset(session, alarm, mrq, ctx.now, close=ctx.settings.close_on_reset)
        return Outcome("manual_reset", Snu.OK, alarm.id)
    await intake.lock_unit(session, source.cid)
    joined = await session_alarm(session, mrq.cid, mrq.ref)
    alarm, action = await intake.open_or_attach(
        session, source, mrq, ctx.now, ctx.settings.priority_overrides, session_alarm=joined
    )
    return Outcome(action, intake.hold_or_ok(alarm), alarm.id)


async def on_reset(session: AsyncSession, source: intake.Source, mrq: Mrq, ctx: Context) -> Outcome:
    await intake.lock_unit(session, source.cid)  # an ME for this ref still committing: wait for it
    alarm = await session_alarm(session, mrq.cid, mrq.ref)
    if alarm is None:
        event = await on_event(session, source, mrq, ctx)
        if event.alarm_id is None:
            return Outcome("reset_without_event", Snu.OK)
        alarm = await session.get(Alarm, event.alarm_id, with_for_update=True)
        if alarm is None:  # pragma: no cover - just created in this transaction
            return Outcome("reset_without_event", Snu.OK)
    await intake.record_reset(session, alarm, mrq, ctx.now, close=ctx.settings.close_on_reset)
    return Outcome("reset", Snu.OK, alarm.id)


async def on_info(session: AsyncSession, source: intake.Source, mrq: Mrq, ctx: Context) -> Outcome:
    await intake.lock_unit(session, source.cid)
    alarm = await session_alarm(session, mrq.cid, mrq.ref)
    if alarm is None:
        event = await on_event(session, source, mrq, ctx)
        return Outcome("info_without_event", Snu.OK, event.alarm_id)
    await intake.record_info(session, alarm, mrq, ctx.now)
    return Outcome("info", Snu.OK, alarm.id)


_RECORD = """
    UPDATE ingest_inbox SET action = $2, snu = $3, alarm_id = $4, handled_at = $5, final_answer_at = $6
    WHERE id = $1
"""


async def record(session: AsyncSession, row_id: int, outcome: Outcome, now: datetime) -> None:
    """Write triage's decision on the inbox row (no inbox row is loaded in the ingest's sessions)."""
    await (await driver(session)).execute(
        _RECORD, row_id, outcome.action, int(outcome.snu), outcome.alarm_id, now, now if outcome.final else None
    )


async def answer_duplicate(session: AsyncSession, mrq: Mrq, ctx: Context) -> tuple[Outcome, int | None]:
    """A message whose key is already stored. Returns (outcome, new row id).

    Normally: the session's current answer, nothing stored (row id None). If the stored session
    is long over (older than ``ingest_ref_reuse_minutes`` and its alarm closed), the unit has
    reused the ref for a new event: a new generation row is stored and its id returned, to be
    triaged as new.
    """
    key = content_key(mrq)
    row = await session.scalar(
        select(InboxMessage)
        .where(
            InboxMessage.cid == mrq.cid,
            InboxMessage.ref == mrq.ref,
            InboxMessage.mty == mrq.mty,
            InboxMessage.content_key == key,
        )
        .order_by(InboxMessage.generation.desc())
        .limit(1)
        .with_for_update()
    )
    if row is None:  # pragma: no cover - the conflicting row vanished (deleted by hand)
        return Outcome("duplicate_orphan", Snu.OK), None
    alarm = await session.get(Alarm, row.alarm_id) if row.alarm_id is not None else None
    reuse = timedelta(minutes=ctx.settings.ingest_ref_reuse_minutes)
    if row.received_at < ctx.now - reuse and (alarm is None or alarm.status == "closed"):
        new_id = await session.scalar(
            pg_insert(InboxMessage)
            .values(
                cid=mrq.cid,
                ref=mrq.ref,
                mty=mrq.mty,
                content_key=key,
                generation=row.generation + 1,
                fmt=mrq.fmt,
                topic=row.topic,
                message=mrq.to_dict(),
                received_at=ctx.now,
            )
            .on_conflict_do_nothing()
            .returning(InboxMessage.id)
        )
        if new_id is not None:
            return Outcome("new_generation", Snu.OK), new_id
    if row.action in HOLD_ACTIONS:
        snu = intake.hold_or_ok(alarm)
    else:
        snu = row.snu if row.snu is not None else Snu.OK
    if snu != Snu.HOLD and row.final_answer_at is None:
        row.final_answer_at = ctx.now
    return Outcome("duplicate", snu, row.alarm_id), None

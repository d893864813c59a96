"""Triage of one stored message, as small named steps.

    quick_outcome      heartbeat, automatic test, pill info: answered 0, no alarm (decided before INSERT)
    triage             route by message type:
      on_event           ME: technical status -> supervision; manual reset; otherwise an alarm
      on_reset           RE: mark the session's alarm reset at the unit (it stays for an operator)
      on_info            IN: add the information to the session's alarm
    answer_duplicate   a retransmission / HOLD re-poll: the answer the session has now
    answer_duplicates  the same for all of a batch's retransmissions in two statements

An `RE` or `IN` whose event never arrived is treated as the event itself: the unit
had something to say and nobody has seen it yet, so it reaches an operator.
"""

from __future__ import annotations

import json
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


# The stored row of each retransmitted key (its latest generation, locked, in the order given) and
# the status of its alarm: one statement for all the duplicates of a batch.
_DUPLICATES = """
    SELECT k.n, i.id, i.received_at, i.action, i.snu, i.alarm_id, i.final_answer_at, a.status
    FROM jsonb_array_elements($1::jsonb) WITH ORDINALITY AS k(key, n)
    CROSS JOIN LATERAL (
        SELECT * FROM ingest_inbox
        WHERE cid = k.key->>0 AND ref = k.key->>1 AND mty = k.key->>2 AND content_key = k.key->>3
        ORDER BY generation DESC LIMIT 1 FOR UPDATE
    ) AS i
    LEFT JOIN alarms AS a ON a.id = i.alarm_id
    ORDER BY k.n
"""
_ANSWERED = """
    UPDATE ingest_inbox SET final_answer_at = $2 WHERE id = ANY($1::bigint[]) AND final_answer_at IS NULL
"""
_KEYS = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode


async def answer_duplicates(session: AsyncSession, mrqs: list[Mrq], ctx: Context) -> list[Outcome] | None:
    """``answer_duplicate`` for all the retransmissions of a batch at once (in their order), when none
    of them is a ref reused after its session ended: one statement reads (and locks) their stored
    rows with their alarms' status, one marks the final answers given. None when one is a reuse (or
    its row is gone): then each goes through ``answer_duplicate``, in order, as a new generation may
    change what the next one is answered."""
    keys = sorted({(m.cid, m.ref, m.mty, content_key(m)) for m in mrqs})
    raw = await driver(session)
    rows = {keys[row[0] - 1]: row[1:] for row in await raw.fetch(_DUPLICATES, _KEYS(keys))}
    if len(rows) != len(keys):
        return None
    reuse_before = ctx.now - timedelta(minutes=ctx.settings.ingest_ref_reuse_minutes)
    answers, answered = [], []
    for mrq in mrqs:
        row_id, received_at, action, snu, alarm_id, final_answer_at, status = rows[
            (mrq.cid, mrq.ref, mrq.mty, content_key(mrq))
        ]
        if received_at < reuse_before and (alarm_id is None or status == "closed"):
            return None
        if action in HOLD_ACTIONS:
            snu = Snu.HOLD if status == "queued" else Snu.OK
        elif snu is None:
            snu = Snu.OK
        if snu != Snu.HOLD and final_answer_at is None:
            answered.append(row_id)
        answers.append(Outcome("duplicate", snu, alarm_id))
    if answered:
        await raw.execute(_ANSWERED, sorted(set(answered)), ctx.now)
    return answers


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

"""Replies to units (`mrs`), sent only after COMMIT, and the answers alarm handling sends later.

The answer to a session is computed from the alarm's current state: HOLD (4)
while it is queued, OK (0) once an operator has accepted it (or it closed).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from arc.ingest.metrics import REPLIES
from arc.ingest.models import InboxMessage
from arc.kit.db import after_commit
from devices.protocol import Mrs, encode_mrs, reply_topic

log = logging.getLogger(__name__)


class Publisher(Protocol):
    async def publish(self, topic: str, payload: bytes, qos: int = 1) -> None: ...


@dataclass(slots=True)
class Incoming:
    """One MQTT message as received (``token`` is what the worker needs to acknowledge it).

    ``heartbeat`` is set by ``Pipeline.decode`` when the message is a well-formed heartbeat (`mty`
    PI): its answer goes at QoS 0 (see ``IngestWorker._reply_and_ack``). ``received_at``: when the
    worker read it (``time.monotonic()``), so that a heartbeat waiting too long is shed."""

    topic: str
    payload: bytes
    token: object = None
    heartbeat: bool = False
    received_at: float | None = None


@dataclass(frozen=True, slots=True)
class Reply:
    """One `mrs`, encoded, with the topic it goes to."""

    topic: str
    payload: bytes
    snu: int


def make_reply(mrq_topic: str, mrs: Mrs, fmt: str) -> Reply:
    return Reply(reply_topic(mrq_topic), encode_mrs(mrs, fmt if fmt in ("json", "xml") else "json"), mrs.snu)


_json_str = json.encoder.encode_basestring  # what encode_mrs writes for a str (ensure_ascii=False)
_TAILS: dict[tuple[int, int | None], bytes] = {}  # (snu, hbi) -> the JSON answer after its ref


def answer(mrq_topic: str, ref: str, snu: int, fmt: str, hbi: int | None = None) -> Reply:
    """The standard answer to a stored message: the same bytes as
    ``make_reply(mrq_topic, Mrs.reply(ref, snu, hbi=hbi), fmt)``, without building an `Mrs` per
    message for JSON (every heartbeat passes here): the part after the ref is encoded (and the
    `Mrs` checked) once per (snu, hbi)."""
    if fmt == "xml":
        return make_reply(mrq_topic, Mrs.reply(ref, snu, hbi=hbi), fmt)
    tail = _TAILS.get((snu, hbi))
    if tail is None:
        encoded = encode_mrs(Mrs.reply("", snu, hbi=hbi), "json")
        tail = _TAILS.setdefault((snu, hbi), encoded.removeprefix(b'{"ref":""'))
    head, _, _ = mrq_topic.rpartition("/")
    return Reply(head + "/mrs", b'{"ref":' + _json_str(ref).encode("utf-8", "replace") + tail, snu)


async def send(publisher: Publisher | None, replies: list[Reply]) -> int:
    """Publish replies (QoS 1); a lost reply is harmless because the unit retransmits."""
    if publisher is None:
        return 0
    sent = 0
    nowait = getattr(publisher, "publish_nowait", None)  # the ingest's: no waiting for PUBACK
    for reply in replies:
        try:
            if nowait is not None:
                if not nowait(reply.topic, reply.payload, qos=1, urgent=True):
                    raise ConnectionError("not connected")
            else:
                await publisher.publish(reply.topic, reply.payload, qos=1)
            REPLIES.labels(str(reply.snu)).inc()
            sent += 1
        except Exception as exc:
            log.warning("mrs not published (%s); the unit will retransmit", type(exc).__name__)
    return sent


async def answer_alarm_sessions(
    session: AsyncSession, publisher: Publisher | None, alarm_id: int, snu: int = 0
) -> int:
    """Answer every stored `ME` session of this alarm that has had no final answer yet.

    Registers the `mrs` (in each message's own JSON/XML format) to be published after this
    transaction commits, marks the sessions answered, and returns how many. Does nothing
    when there is no publisher (no ingest running): the unit's next HOLD re-poll is then
    answered from the alarm's state by the ingest.
    """
    if publisher is None:
        return 0
    rows = (
        await session.execute(
            select(InboxMessage.id, InboxMessage.ref, InboxMessage.fmt, InboxMessage.topic)
            .where(
                InboxMessage.alarm_id == alarm_id,
                InboxMessage.mty == "ME",
                InboxMessage.final_answer_at.is_(None),
            )
            .order_by(InboxMessage.id)
            .with_for_update()
        )
    ).all()
    if not rows:
        return 0
    if snu != 4:
        await session.execute(
            update(InboxMessage)
            .where(InboxMessage.id.in_([row.id for row in rows]))
            .values(final_answer_at=func.now())
        )
    replies = [make_reply(row.topic, Mrs.reply(row.ref, snu), row.fmt) for row in rows]

    async def _publish() -> None:
        await send(publisher, replies)

    after_commit(session, _publish)
    return len(replies)

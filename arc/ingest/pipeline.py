"""Store, then answer: a batch of MQTT messages -> one transaction -> one reply per message.

    decode          bytes -> Mrq | Rejection (pure codec; the topic gives the cid)
    reject          Rejection -> ingest_rejected row (raw bytes, reason) and its snu
    store           INSERT ... ON CONFLICT DO NOTHING into ingest_inbox: new or duplicate
    mark heard      one UPDATE of units for the whole batch (last heard, heartbeat, test, hbo)
    triage          new messages, in arrival order (arc/ingest/triage.py)
    duplicates      the answer each retransmission's session has now
    COMMIT          then (and only then) the replies are handed back to be published

If a batch fails it is rolled back and its messages are retried one by one, so
one bad message never costs the others (arc/ingest/fallback.py has the last resort:
a bare alarm for a message that keeps failing, snu 5 when the database is away).
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections import Counter
from dataclasses import dataclass, field

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from arc.alarms import intake
from arc.ingest import fallback, triage
from arc.ingest.metrics import ACTIONS, BATCH_FAILURES, BATCH_SECONDS, BATCH_SIZE, MESSAGES, REJECTED
from arc.ingest.models import RejectedMessage
from arc.ingest.replies import Incoming, Reply, answer, make_reply
from arc.ingest.salvage import salvage
from arc.kit.clock import Clock
from arc.kit.db import database_unreachable, driver, session_scope
from arc.kit.settings import Settings
from arc.supervision import comms
from devices.protocol import Mrq, Rejection, cid_from_topic, decode_mrq
from devices.protocol.codes import Snu

log = logging.getLogger(__name__)

TOO_LONG_EXCERPT = 1024  # bytes kept of a message over the size limit (the rest is not a message)


def _stored(payload: bytes, rejection: Rejection, max_bytes: int) -> dict:
    """What a rejected row keeps: all of a message the protocol allows, only the start of an
    over-long one (and its size), so a flood of big messages cannot fill the database."""
    if rejection.reason != "too_long":
        return {"detail": rejection.detail[:200], "payload": bytes(payload[:max_bytes])}
    detail = f"{rejection.detail} ({len(payload)} bytes; first {TOO_LONG_EXCERPT} kept)"
    return {"detail": detail[:200], "payload": bytes(payload[:TOO_LONG_EXCERPT])}


MAX_CID_DIGITS = 32  # units.cid / ingest_inbox.cid: a longer cid cannot be stored, so it is refused (snu 3)


@dataclass
class _Batch:
    """Working state of one transaction."""

    now: object
    replies: list[Reply | None]
    heard: comms.Heard = field(default_factory=comms.Heard)
    counts: dict[str, int] = field(default_factory=dict)
    actions: list[str] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)

    def count(self, outcome: str) -> None:
        self.counts[outcome] = self.counts.get(outcome, 0) + 1


class Pipeline:
    def __init__(
        self, settings: Settings, sessionmaker: async_sessionmaker[AsyncSession], clock: Clock
    ) -> None:
        self.settings = settings
        self.maker = sessionmaker
        self.clock = clock
        # set while the database cannot be reached (every message answered snu 5); cleared by the
        # next batch that commits, so the dashboard's "not receiving" banner follows the outage
        self.database_down_since: float | None = None

    # --- decode -------------------------------------------------------------------

    def decode(self, item: Incoming) -> Mrq | Rejection:
        try:
            cid = cid_from_topic(item.topic, self.settings.mqtt_topic_root)
            if cid is None:
                loose = decode_mrq(item.payload, None, self.settings.ingest_max_bytes)
                return Rejection(
                    Snu.WRONG_DATA, "bad_topic", "topic is not {root}/{cid}/mrq", loose.ref, loose.fmt
                )
            decoded = decode_mrq(item.payload, cid, self.settings.ingest_max_bytes)
            if isinstance(decoded, Rejection):  # a malformed optional tag must not cost an alarm
                decoded = salvage(bytes(item.payload), cid, self.settings.ingest_max_bytes, decoded)
            if isinstance(decoded, Mrq) and len(decoded.cid) > MAX_CID_DIGITS:
                detail = f"tag 'cid' longer than {MAX_CID_DIGITS} digits"
                return Rejection(Snu.WRONG_DATA, "bad_value", detail, decoded.ref, decoded.fmt)
            item.heartbeat = isinstance(decoded, Mrq) and decoded.mty == "PI"
            return decoded
        except Exception:  # pragma: no cover - the codec never raises; belt and braces
            return Rejection(Snu.INVALID_FORMAT, "invalid_format", "unreadable message")

    # --- the whole boundary ---------------------------------------------------------

    async def handle(self, items: list[Incoming]) -> list[Reply]:
        """Store and triage ``items``; return one reply per item, in order. Never raises on input."""
        decoded = [self.decode(item) for item in items]
        try:
            replies = await self._store(items, decoded)
            self.database_down_since = None
            return replies
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            if database_unreachable(exc):
                self.database_down_since = self.database_down_since or time.monotonic()
                return fallback.not_treated(items, decoded, exc)
            if len(items) > 1:
                BATCH_FAILURES.inc()
                log.warning(
                    "ingest batch of %d failed (%s); retrying one by one", len(items), type(exc).__name__
                )
            else:
                log.warning("ingest message failed (%s); retrying", type(exc).__name__)
        replies: list[Reply] = []
        for item, message in zip(items, decoded, strict=True):
            replies.append(await self._one(item, message))
        return replies

    async def _one(self, item: Incoming, message: Mrq | Rejection) -> Reply:
        error: Exception | None = None
        for _attempt in range(2):
            try:
                return (await self._store([item], [message]))[0]
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                error = exc
        log.error("ingest could not triage a message from cid %s: %r", _cid(message), error)
        return await fallback.store_bare(self.settings, self.maker, self.clock, item, message, error)

    # --- one transaction --------------------------------------------------------------

    async def _store(self, items: list[Incoming], decoded: list[Mrq | Rejection]) -> list[Reply]:
        started = time.perf_counter()
        batch = _Batch(now=self.clock.now(), replies=[None] * len(items))
        async with session_scope(self.maker) as session:
            await self._reject(session, batch, items, decoded)
            valid = [(i, m) for i, m in enumerate(decoded) if isinstance(m, Mrq)]
            if valid:
                await self._accept(session, batch, items, valid)
            await self._fault_injection(len(items))
        replies = [reply for reply in batch.replies if reply is not None]
        assert len(replies) == len(items)
        for outcome, n in batch.counts.items():
            _child(MESSAGES, outcome).inc(n)
        for action, n in Counter(batch.actions).items():
            _child(ACTIONS, action).inc(n)
        for reason, n in Counter(batch.reasons).items():
            _child(REJECTED, reason).inc(n)
        BATCH_SIZE.observe(len(items))
        BATCH_SECONDS.observe(time.perf_counter() - started)
        return replies

    async def _reject(
        self, session: AsyncSession, batch: _Batch, items: list[Incoming], decoded: list[Mrq | Rejection]
    ) -> None:
        rows = []
        for index, (item, message) in enumerate(zip(items, decoded, strict=True)):
            if isinstance(message, Rejection):
                rows.append(
                    {
                        "received_at": batch.now,
                        "topic": item.topic[:400],
                        "cid": (cid_from_topic(item.topic, self.settings.mqtt_topic_root) or "")[:32] or None,
                        "ref": message.ref,
                        "fmt": message.fmt,
                        "snu": int(message.snu),
                        "reason": message.reason[:32],
                        **_stored(item.payload, message, self.settings.ingest_max_bytes),
                    }
                )
                batch.replies[index] = make_reply(item.topic, message.to_mrs(), message.fmt)
                batch.count("rejected")
                batch.reasons.append(message.reason)
        if rows:
            await session.execute(insert(RejectedMessage), rows)

    async def _accept(
        self, session: AsyncSession, batch: _Batch, items: list[Incoming], valid: list[tuple[int, Mrq]]
    ) -> None:
        now = batch.now
        first: dict[tuple[str, str, str, str], int] = {}
        quick: dict[int, triage.Outcome | None] = {}  # decided once per message, before the INSERT
        duplicates: list[tuple[int, Mrq]] = []
        rows: list[list] = []
        for index, mrq in valid:
            key = (mrq.cid, mrq.ref, mrq.mty, triage.content_key(mrq))
            decided = quick[index] = triage.quick_outcome(mrq)
            _note_heard(batch.heard, mrq, decided)
            if key in first:
                duplicates.append((index, mrq))
                continue
            first[key] = index
            rows.append(
                [
                    *key,
                    mrq.fmt,
                    items[index].topic[:200],
                    mrq.stored_dict(),
                    decided.action if decided else None,
                    int(decided.snu) if decided else None,
                ]
            )
        # insert in key order, so two batches holding the same retransmissions take the unique-index
        # locks in the same order and cannot deadlock (triage below still runs in arrival order)
        rows.sort(key=_row_key)
        result = await (await driver(session)).fetch(_INSERT_SQL, _ENCODE(rows), now)
        units = await comms.mark_heard(session, batch.heard, now)
        by_index = dict(valid)
        inserted = {(r[1], r[2], r[3], r[4]): r[0] for r in result}
        # units whose alarms this batch may touch, locked in one order so concurrent batches never deadlock
        touched = {by_index[i].cid for k, i in first.items() if k not in inserted or quick[i] is None}
        for cid in sorted(touched | {mrq.cid for _, mrq in duplicates}):
            await intake.lock_unit(session, cid)
        ctx = triage.Context(self.settings, now)
        for key, index in first.items():
            row_id = inserted.get(key)
            if row_id is None:
                duplicates.append((index, by_index[index]))
                continue
            mrq = by_index[index]
            outcome = quick[index]
            if outcome is None:
                outcome = await triage.triage(session, mrq, units.get(mrq.cid), ctx)
                await triage.record(session, row_id, outcome, ctx.now)
            self._stored(batch, index, items[index], mrq, outcome, units)
        duplicates.sort(key=lambda pair: pair[0])
        # all at once, unless one is a ref reused after its session ended (None: one by one, in order)
        answers = (
            await triage.answer_duplicates(session, [m for _, m in duplicates], ctx) if duplicates else []
        )
        for n, (index, mrq) in enumerate(duplicates):
            if answers is not None:
                outcome, new_id = answers[n], None
            else:
                outcome, new_id = await triage.answer_duplicate(session, mrq, ctx)
            if new_id is not None:  # a new generation row: triaged in full, its decision recorded
                outcome = quick[index] or await triage.triage(session, mrq, units.get(mrq.cid), ctx)
                await triage.record(session, new_id, outcome, ctx.now)
                self._stored(batch, index, items[index], mrq, outcome, units)
                continue
            batch.count("duplicate")
            batch.actions.append("duplicate")
            batch.replies[index] = self._reply(items[index], mrq, outcome, units)

    def _stored(
        self,
        batch: _Batch,
        index: int,
        item: Incoming,
        mrq: Mrq,
        outcome: triage.Outcome,
        units: dict[str, comms.UnitRow],
    ) -> None:
        batch.count("stored")
        batch.actions.append(outcome.action)
        batch.replies[index] = self._reply(item, mrq, outcome, units)

    def _reply(
        self, item: Incoming, mrq: Mrq, outcome: triage.Outcome, units: dict[str, comms.UnitRow]
    ) -> Reply:
        hbi = comms.hbi_for(mrq, units.get(mrq.cid), self.settings)
        return answer(item.topic, mrq.ref, int(outcome.snu), mrq.fmt, hbi)

    async def _fault_injection(self, size: int) -> None:
        pause = self.settings.ingest_fault_pause_before_commit_s
        if pause:
            log.warning("ingest fault injection: paused %.1f s before COMMIT (batch of %d)", pause, size)
            await asyncio.sleep(pause)


# One statement for the whole batch (on the session's bare connection): the rows as one JSON array
# (cid, ref, mty, content_key, fmt, topic, message, action, snu), ON CONFLICT DO NOTHING, the new
# rows out in the order given. One JSON text costs far less to send than nine arrays (asyncpg checks
# every element of an array parameter against three abstract base classes).
_INSERT_SQL = """
    INSERT INTO ingest_inbox (cid, ref, mty, content_key, generation, fmt, topic, message, received_at,
                              handled_at, action, snu, final_answer_at)
    SELECT r->>0, r->>1, r->>2, r->>3, 0, r->>4, r->>5, r->6, $2::timestamptz,
           CASE WHEN r->>7 IS NULL THEN NULL ELSE $2::timestamptz END, r->>7,
           CAST(r->>8 AS smallint), CASE WHEN r->>7 IS NULL THEN NULL ELSE $2::timestamptz END
    FROM jsonb_array_elements($1::jsonb) WITH ORDINALITY AS t(r, n)
    ORDER BY n
    ON CONFLICT DO NOTHING
    RETURNING id, cid, ref, mty, content_key
"""


def _row_key(row: list) -> tuple[str, str, str, str]:
    return row[0], row[1], row[2], row[3]


# one encoder for every batch: json.dumps with options builds a new one per call
_ENCODE = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode


def _note_heard(heard: comms.Heard, mrq: Mrq, quick: triage.Outcome | None) -> None:
    heard.cids.add(mrq.cid)
    if mrq.mty == "PI":
        heard.heartbeats.add(mrq.cid)
    if quick is not None and quick.action == "test":
        heard.tests.add(mrq.cid)
    if mrq.accepts_hbi:
        heard.accepts_hbi.add(mrq.cid)


_CHILDREN: dict[tuple[object, str], object] = {}


def _child(metric, label: str):
    """``metric.labels(label)``, looked up once (``labels`` takes a lock and builds a tuple per call)."""
    child = _CHILDREN.get((metric, label))
    if child is None:
        child = _CHILDREN[(metric, label)] = metric.labels(label)
    return child


def _cid(message: Mrq | Rejection) -> str:
    return message.cid if isinstance(message, Mrq) else "?"

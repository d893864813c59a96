"""The last resort, when storing a message the normal way keeps failing.

- The database is unreachable: nothing can be stored, so every message is answered snu 5
  (not treated) at once; the unit tries its next receiver, or again.
- One message keeps failing triage: it is stored with a bare alarm for an operator (a
  heartbeat is just stored), so its re-polls are duplicates answered from that alarm; if even
  that fails, snu 5.
"""

from __future__ import annotations

import logging

from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from arc.alarms import intake
from arc.ingest import triage
from arc.ingest.metrics import MESSAGES, REJECTED
from arc.ingest.models import InboxMessage
from arc.ingest.replies import Incoming, Reply, make_reply
from arc.kit.clock import Clock
from arc.kit.db import session_scope
from arc.kit.settings import Settings
from devices.protocol import Mrq, Mrs, Rejection
from devices.protocol.codes import Snu

log = logging.getLogger(__name__)


def not_treated(items: list[Incoming], decoded: list[Mrq | Rejection], exc: BaseException) -> list[Reply]:
    log.error(
        "ingest cannot reach the database (%s): %d message(s) answered snu 5", type(exc).__name__, len(items)
    )
    MESSAGES.labels("not_treated").inc(len(items))
    return [
        make_reply(item.topic, Mrs.reply(message.ref, Snu.NOT_TREATED), message.fmt)
        for item, message in zip(items, decoded, strict=True)
    ]


async def store_bare(
    settings: Settings,
    maker: async_sessionmaker[AsyncSession],
    clock: Clock,
    item: Incoming,
    message: Mrq | Rejection,
    error: BaseException | None,
) -> Reply:
    REJECTED.labels("triage_failed").inc()
    now = clock.now()
    try:
        async with session_scope(maker) as session:
            if isinstance(message, Rejection):
                raise RuntimeError("could not store a rejected message")
            alarm_id, snu = None, Snu.OK
            if message.mty != "PI":
                alarm_id = await _bare_alarm(session, settings, message, now, error)
                snu = Snu.HOLD
            await session.execute(
                pg_insert(InboxMessage)
                .values(
                    cid=message.cid,
                    ref=message.ref,
                    mty=message.mty,
                    content_key=triage.content_key(message),
                    fmt=message.fmt,
                    topic=item.topic[:200],
                    message=message.to_dict(),
                    received_at=now,
                    handled_at=now,
                    action="triage_failed_alarm" if alarm_id else "triage_failed",
                    alarm_id=alarm_id,
                    snu=int(snu),
                )
                .on_conflict_do_nothing()
            )
        MESSAGES.labels("stored").inc()
        return make_reply(item.topic, Mrs.reply(message.ref, int(snu)), message.fmt)
    except Exception as exc:
        cid = message.cid if isinstance(message, Mrq) else "?"
        log.error("ingest could not store a message from cid %s: %s", cid, type(exc).__name__)
        MESSAGES.labels("not_treated").inc()
        return make_reply(item.topic, Mrs.reply(message.ref, Snu.NOT_TREATED), message.fmt)


async def _bare_alarm(
    session: AsyncSession, settings: Settings, mrq: Mrq, now, error: BaseException | None
) -> int:
    error_name = type(error).__name__ if error else "unknown"
    alarm = await intake.open_bare(session, mrq, now, settings.priority_overrides, error_name)
    return alarm.id

"""The no-comms sweep: a unit silent for its heartbeat interval plus the grace period gets a
technical no-comms alarm. Runs on the scheduler leader; the clock is the app's."""

from __future__ import annotations

import logging
from datetime import datetime

from fastapi import FastAPI
from sqlalchemy import exists, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from arc.alarms import intake, technical
from arc.kit.db import session_scope
from arc.kit.settings import Settings
from arc.registry.models import Connection
from arc.registry.units import Unit

log = logging.getLogger(__name__)


async def sweep_no_comms(
    session: AsyncSession, now: datetime, settings: Settings, listening_since: datetime | None = None
) -> list[int]:
    """Mark silent units no-comms and raise their alarms. Returns the alarm ids raised.

    Only units that have been heard at least once and serve a live connection are supervised
    (a unit on the shelf is not missing). Silence is counted from ``listening_since`` at the
    earliest: after the ARC's own outage or restart every unit gets a full interval and grace
    to be heard again, instead of the whole fleet going no-comms at once.
    """
    minutes = func.coalesce(Unit.heartbeat_interval_minutes, settings.heartbeat_interval_minutes)
    since = (
        Unit.last_heard_at if listening_since is None else func.greatest(Unit.last_heard_at, listening_since)
    )
    deadline = since + func.make_interval(0, 0, 0, 0, 0, minutes + settings.heartbeat_grace_minutes)
    live = exists().where(Connection.unit_id == Unit.id, Connection.status != "withdrawn")
    silent = await session.scalars(
        select(Unit)
        .where(Unit.comms_state != "no_comms", Unit.last_heard_at.is_not(None), deadline < now, live)
        .order_by(Unit.id)
        .with_for_update(skip_locked=True)
    )
    raised: list[int] = []
    for unit in silent:
        unit.comms_state = "no_comms"
        source = await intake.source_for(session, unit.cid, unit.id)
        alarm, _ = await technical.raise_technical(
            session, source, "no_comms", now, settings.priority_overrides, actor="system"
        )
        raised.append(alarm.id)
    if raised:
        log.info("no-comms sweep: %d unit(s) silent", len(raised))
    return raised


async def sweep_job(app: FastAPI) -> None:
    ingest = getattr(app.state, "ingest", None)
    counted_from = getattr(ingest, "silence_counted_from", None)
    listening_since = (counted_from() if counted_from else ingest.listening_since) if ingest is not None else None
    if ingest is not None and listening_since is None:
        # the ARC is deaf, not the fleet: /readyz and the ingest's logs say so
        log.warning("no-comms sweep skipped: the ingest is not connected to the broker")
        return
    async with session_scope(app.state.sessionmaker) as session:
        await sweep_no_comms(session, app.state.clock.now(), app.state.settings, listening_since)

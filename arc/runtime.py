"""Resolve where PostgreSQL and the broker are, starting embedded ones if unset."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from arc.embedded import EmbeddedBroker, start_postgres
from arc.kit.settings import Settings

log = logging.getLogger(__name__)


@asynccontextmanager
async def resolved_services(settings: Settings) -> AsyncIterator[Settings]:
    """Yield settings whose database and MQTT URLs point at running services."""
    updates: dict[str, str] = {}
    pg_server = None
    broker: EmbeddedBroker | None = None
    if settings.database_url is None:
        pg_server, updates["database_url"] = await asyncio.to_thread(start_postgres, settings.data_dir)
    else:
        log.info("using external PostgreSQL (LIFELINE_DATABASE_URL)")
    if settings.mqtt_url is None:
        broker = EmbeddedBroker()
        updates["mqtt_url"] = await broker.start()
    else:
        log.info("using external MQTT broker (LIFELINE_MQTT_URL)")
    try:
        yield settings.model_copy(update=updates)
    finally:
        if broker is not None:
            await broker.stop()
        if pg_server is not None:
            await asyncio.to_thread(pg_server.cleanup)
            log.info("embedded PostgreSQL stopped (data kept in %s)", settings.data_dir / "postgres")

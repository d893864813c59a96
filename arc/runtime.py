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
async def resolved_services(
    settings: Settings, *, fleet_cids: list[str] | None = None, broker_needed: bool = True
) -> AsyncIterator[Settings]:
    """Yield settings whose database and MQTT URLs point at running services. An embedded broker
    gets a login for the service (``mqtt_url``) and one for the simulated fleet of ``fleet_cids``
    (``simulator_mqtt_url``). ``broker_needed=False`` (a command that only uses the database):
    no broker is started and none is mentioned."""
    updates: dict[str, str] = {}
    pg_server = None
    broker: EmbeddedBroker | None = None
    if settings.database_url is None:
        pg_server, updates["database_url"] = await asyncio.to_thread(start_postgres, settings.data_dir)
    else:
        log.info("using external PostgreSQL (LIFELINE_DATABASE_URL)")
    if not broker_needed:
        pass
    elif settings.mqtt_url is None:
        broker = EmbeddedBroker(topic_root=settings.mqtt_topic_root, fleet_cids=fleet_cids)
        updates["mqtt_url"] = await broker.start()
        updates["simulator_mqtt_url"] = broker.fleet_url
        updates["mqtt_client_id"] = broker.service_client_id
    else:
        log.info("using external MQTT broker (LIFELINE_MQTT_URL)")
    try:
        yield settings.model_copy(update=updates)
    finally:
        if broker is not None:
            await broker.stop()
        if pg_server is not None:
            await asyncio.to_thread(pg_server.cleanup)
            if (settings.data_dir / "postgres" / "postmaster.pid").exists():
                # another lifeline process (a running demo) still uses it: say so, not "stopped"
                log.info("embedded PostgreSQL left running for the other lifeline process using it")
            else:
                log.info("embedded PostgreSQL stopped (data kept in %s)", settings.data_dir / "postgres")

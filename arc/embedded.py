"""Embedded defaults: PostgreSQL from the ``pgserver`` wheel and an in-process
``amqtt`` broker, so the service runs after ``pip install`` alone.

Both are reachable from this machine only: pgserver listens on a Unix socket
(no TCP at all) and the broker binds 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from pathlib import Path
from urllib.parse import quote

log = logging.getLogger(__name__)

EMBEDDED_DB_NAME = "lifeline"
EMBEDDED_MQTT_PORT = 18830


def start_postgres(data_dir: Path, database: str = EMBEDDED_DB_NAME) -> tuple[object, str]:
    """Start (or reuse) PostgreSQL with its data under ``data_dir/postgres``.

    Returns the server handle (keep it referenced: it stops the server at exit)
    and an asyncpg URL for ``database``, created if missing.
    """
    import pgserver  # imported late: only the embedded mode needs it

    pgdata = (data_dir / "postgres").resolve()
    pgdata.mkdir(parents=True, exist_ok=True)
    server = pgserver.get_server(str(pgdata), cleanup_mode="stop")
    exists = server.psql(f"SELECT 1 FROM pg_database WHERE datname = '{database}';")  # noqa: S608 - our constant
    if "(1 row)" not in exists:
        server.psql(f'CREATE DATABASE "{database}";')
    uri = server.get_uri(database=database)  # postgresql://postgres:@/db?host=/socket/dir
    socket_dir = uri.split("host=", 1)[1]
    url = f"postgresql+asyncpg://postgres@/{database}?host={quote(socket_dir)}"
    log.info("embedded PostgreSQL running: data %s, unix socket in %s (no TCP)", pgdata, socket_dir)
    return server, url


def _port_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


class EmbeddedBroker:
    """An amqtt broker on 127.0.0.1, run in the current event loop."""

    def __init__(self, port: int | None = None, host: str = "127.0.0.1") -> None:
        self.host = host
        if port is None:
            port = EMBEDDED_MQTT_PORT if _port_free(host, EMBEDDED_MQTT_PORT) else free_port(host)
        self.port = port
        self._broker = None

    @property
    def url(self) -> str:
        return f"mqtt://{self.host}:{self.port}"

    async def start(self) -> str:
        from amqtt.broker import Broker

        config = {
            "listeners": {"default": {"type": "tcp", "bind": f"{self.host}:{self.port}"}},
            "plugins": {"amqtt.plugins.authentication.AnonymousAuthPlugin": {"allow_anonymous": True}},
        }
        # amqtt logs every packet at INFO; keep our logs about alarms, not bytes
        logging.getLogger("amqtt").setLevel(logging.WARNING)
        self._broker = Broker(config)
        await self._broker.start()
        log.info("embedded MQTT broker (amqtt) listening on %s:%s (loopback only)", self.host, self.port)
        return self.url

    async def stop(self) -> None:
        if self._broker is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._broker.shutdown(), timeout=5)
            self._broker = None

"""Embedded defaults: PostgreSQL from the ``pgserver`` wheel and an in-process
``amqtt`` broker, so the service runs after ``pip install`` alone.

Both are reachable from this machine only: pgserver listens on a Unix socket
(no TCP at all) and the broker binds 127.0.0.1. The broker also requires a login (generated
each run for the service and the simulated fleet) and applies the per-unit ACL, so another
user or program on the machine can neither read the traffic nor forge an alarm.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import logging
import secrets
import socket
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

from amqtt.plugins.base import BaseAuthPlugin, BaseTopicPlugin

from devices.credentials import CID_RE

log = logging.getLogger(__name__)

EMBEDDED_DB_NAME = "lifeline"
EMBEDDED_MQTT_PORT = 18830


def start_postgres(data_dir: Path, database: str = EMBEDDED_DB_NAME) -> tuple[object, str]:
    """Start (or reuse) PostgreSQL with its data under ``data_dir/postgres``.

    Returns the server handle (keep it referenced: it stops the server at exit)
    and an asyncpg URL for ``database``, created if missing.
    """
    with warnings.catch_warnings():
        # platformdirs (via pgserver) warns on every start that XDG_RUNTIME_DIR is unset on a server
        # and uses /tmp/runtime-<uid>; that is fine here and nothing a user can act on
        warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR is not set")
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


def _covers(allowed: str, requested: str) -> bool:
    """Whether the topic filter ``allowed`` covers ``requested`` (a topic, or a filter being
    subscribed to): '#' covers the rest, '+' one level (a requested '#' only by '#')."""
    want, have = requested.split("/"), allowed.split("/")
    for index, level in enumerate(have):
        if level == "#":
            return True
        if index >= len(want) or want[index] == "#" or (level != "+" and level != want[index]):
            return False
    return len(want) == len(have)


@dataclass
class BrokerAccess:
    """Who may log in to the embedded broker and what each may do: the ARC service (every
    unit's requests, every answer), the demo's simulated fleet (only its units' topics) and units
    logging in as their cid (their own topics only) — the rules of the shipped Mosquitto ACL."""

    topic_root: str
    service_user: str = "arc"
    fleet_user: str = "fleet"
    fleet_cids: list[str] | None = None  # None: the fleet may speak for any unit
    passwords: dict[str, str] = field(default_factory=dict)  # username -> SHA-256 hex of password

    def add_login(self, username: str) -> str:
        password = secrets.token_urlsafe(24)
        self.passwords[username] = hashlib.sha256(password.encode()).hexdigest()
        return password

    def password_ok(self, username: str | None, password: str | None) -> bool:
        known = self.passwords.get(username or "")
        given = hashlib.sha256((password or "").encode()).hexdigest()
        return known is not None and hmac.compare_digest(known, given)

    def allowed(self, username: str | None, action: str) -> list[str]:
        """Topic filters ``username`` may publish to / subscribe to / receive from."""
        root = self.topic_root
        if username == self.service_user:
            reads = [f"{root}/+/mrq", f"{root}/+/status"]
            return {"publish": [f"{root}/+/mrs"], "subscribe": reads, "receive": reads}[action]
        if username == self.fleet_user:
            cids = ["+"] if self.fleet_cids is None else self.fleet_cids
            return {
                "publish": [f"{root}/{c}/{leaf}" for c in cids for leaf in ("mrq", "status")],
                "subscribe": [f"{root}/+/mrs"],
                "receive": [f"{root}/{c}/mrs" for c in cids],
            }[action]
        if username and CID_RE.match(username):
            own = [f"{root}/{username}/mrq", f"{root}/{username}/status"]
            return {
                "publish": own,
                "subscribe": [f"{root}/{username}/mrs"],
                "receive": [f"{root}/{username}/mrs"],
            }[action]
        return []

    def may(self, username: str | None, action: str, topic: str) -> bool:
        if action == "subscribe" and username == self.service_user and topic.startswith("$share/"):
            topic = topic.split("/", 2)[2] if topic.count("/") >= 2 else topic
        return any(_covers(allowed, topic) for allowed in self.allowed(username, action))


_ACCESS: dict[str, BrokerAccess] = {}  # broker key -> its access rules (plugins are configured by name)


class _AuthPlugin(BaseAuthPlugin):
    """Credentials required; a client id belongs to the first login that used it. amqtt drops an
    existing session with the same client id *before* it authenticates the newcomer, so the
    service's client id is also random for each run (``service_client_id``): nobody without a
    login can learn it (no $SYS, no other topics), so nobody can knock the service off."""

    @dataclass
    class Config:
        broker: str = ""

    def __init__(self, context) -> None:
        super().__init__(context)
        self._owners: dict[str, str] = {}

    async def authenticate(self, *, session) -> bool:
        access = _ACCESS.get(self.config.broker)
        if access is None or not access.password_ok(session.username, session.password):
            log.warning("embedded broker refused a log-in (client %s)", session.client_id)
            return False
        owner = self._owners.setdefault(session.client_id, session.username)
        if owner != session.username:
            log.warning("embedded broker refused client id %s to another login", session.client_id)
            return False
        return True


class _TopicPlugin(BaseTopicPlugin):
    @dataclass
    class Config:
        broker: str = ""

    async def topic_filtering(self, *, session=None, topic=None, action=None) -> bool:
        access = _ACCESS.get(self.config.broker)
        name = getattr(action, "value", str(action)).lower()
        return bool(access and topic and session and access.may(session.username, name, topic))


class EmbeddedBroker:
    """An amqtt broker on 127.0.0.1, run in the current event loop. It requires credentials and
    applies the per-unit ACL (``BrokerAccess``); ``url`` carries the service's login and
    ``fleet_url`` the simulated fleet's, both generated for this run. ``open_for_tests`` (the
    test suite's fallback when no Mosquitto runs) lets anyone in, and is never set by the CLI."""

    def __init__(
        self,
        port: int | None = None,
        host: str = "127.0.0.1",
        *,
        topic_root: str = "lifeline",
        fleet_cids: list[str] | None = None,
        open_for_tests: bool = False,
    ) -> None:
        self.host = host
        if port is None:
            port = EMBEDDED_MQTT_PORT if _port_free(host, EMBEDDED_MQTT_PORT) else free_port(host)
        self.port = port
        self._broker = None
        self._open = open_for_tests
        self.access = BrokerAccess(topic_root=topic_root, fleet_cids=fleet_cids)
        self._key = secrets.token_hex(8)
        self.service_client_id = f"arc-ingest-{secrets.token_hex(12)}"  # in-memory broker: per run
        self._service_password = self.access.add_login(self.access.service_user)
        self._fleet_password = self.access.add_login(self.access.fleet_user)

    def _url(self, username: str, password: str) -> str:
        if self._open:
            return f"mqtt://{self.host}:{self.port}"
        return f"mqtt://{quote(username)}:{quote(password)}@{self.host}:{self.port}"

    @property
    def url(self) -> str:
        return self._url(self.access.service_user, self._service_password)

    @property
    def fleet_url(self) -> str:
        return self._url(self.access.fleet_user, self._fleet_password)

    async def start(self) -> str:
        from amqtt.broker import Broker

        if self._open:
            plugins = {"amqtt.plugins.authentication.AnonymousAuthPlugin": {"allow_anonymous": True}}
        else:
            _ACCESS[self._key] = self.access
            plugins = {
                f"{__name__}._AuthPlugin": {"broker": self._key},
                f"{__name__}._TopicPlugin": {"broker": self._key},
            }
        config = {
            "listeners": {"default": {"type": "tcp", "bind": f"{self.host}:{self.port}"}},
            "plugins": plugins,
        }
        # amqtt logs every packet at INFO; keep our logs about alarms, not bytes
        logging.getLogger("amqtt").setLevel(logging.WARNING)
        self._broker = Broker(config)
        await self._broker.start()
        log.info(
            "embedded MQTT broker (amqtt) listening on %s:%s (loopback only, %s)",
            self.host,
            self.port,
            "open to anyone: test fallback" if self._open else "logins generated for this run, per-unit ACL",
        )
        return self.url

    async def stop(self) -> None:
        if self._broker is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._broker.shutdown(), timeout=5)
            self._broker = None
        _ACCESS.pop(self._key, None)

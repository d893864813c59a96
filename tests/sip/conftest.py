"""SIP tests: sipp plays the unit against a real Kamailio (deploy/kamailio) in front of the ingest.

Each test gets its own edge on free ports, on the test database and the test's own
MQTT topic root, with the app and its ingest running as in ``lifeline serve``.
Kamailio and sipp come from Debian (``tests/run.sh`` installs them); the tests are
skipped only where they cannot be installed.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from arc.commands import units_command
from arc.ingest.worker import ingest_component
from arc.kit.settings import Settings
from simulators.sip import KamailioEdge, SippUnit, kamailio_db_url, tools_missing
from tests.factories import create_customer_with_unit

pytestmark = pytest.mark.sip


def pytest_collection_modifyitems(items):
    missing = tools_missing()
    if missing:
        skip = pytest.mark.skip(
            reason=f"{', '.join(missing)} not installed (apt-get install kamailio sip-tester)"
        )
        for item in items:
            if "tests/sip/" in str(item.fspath):
                item.add_marker(skip)


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"mqtt_session_expiry_seconds": 300, "ingest_batch_wait_ms": 2.0})


@pytest.fixture
def components() -> list:
    return [ingest_component]


@pytest.fixture
def pike_density() -> int:
    return 1000  # the tests all come from 127.0.0.1; the flood test sets its own


@pytest.fixture
async def start_edge(app, settings: Settings):
    """``await start_edge(**kw)`` -> a running KamailioEdge on the test's database and topic root."""
    try:
        kamailio_db_url(settings.database_url or "")
    except ValueError as exc:
        pytest.skip(str(exc))
    started: list[KamailioEdge] = []

    async def _start(**kw) -> KamailioEdge:
        sip = KamailioEdge(
            database_url=settings.database_url,
            mqtt_url=settings.mqtt_url,
            topic_root=settings.mqtt_topic_root,
            realm=settings.sip_realm,
            **kw,
        )
        started.append(await sip.start())
        return sip

    yield _start
    for sip in started:
        await sip.stop()


@pytest.fixture
async def edge(start_edge, pike_density: int) -> KamailioEdge:
    return await start_edge(pike_density=pike_density)


@pytest.fixture
async def provisioned(session, settings: Settings, tmp_path: Path):
    """``await provisioned()`` -> (unit, password): a registered unit given its one secret by the CLI."""

    async def _make():
        _, unit, _ = await create_customer_with_unit(session)
        await session.commit()
        made = await units_command(
            settings,
            argparse.Namespace(
                units_command="provision",
                cid=unit.cid,
                passwd_file=tmp_path / "passwd",
                acl_file=tmp_path / "acl",
            ),
        )
        return unit, made["password"]

    return _make


@pytest.fixture
def sip_unit(edge: KamailioEdge):
    def _make(cid: str, password: str, **kw) -> SippUnit:
        return SippUnit(cid=cid, password=password, host="127.0.0.1", port=edge.port, **kw)

    return _make

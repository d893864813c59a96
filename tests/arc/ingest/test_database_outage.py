"""The "are we receiving?" signal when the database itself is away (a real outage through a proxy).

The app reaches PostgreSQL only through a TCP proxy the test cuts: the status endpoint must
answer 503 in the error shape (the dashboard turns that into the red banner), log one line
rather than a traceback per request, and recover by itself when the database returns.
"""

from __future__ import annotations

import asyncio
import logging

import pytest

from arc.app import create_app
from arc.ingest.worker import STUCK_SECONDS, ingest_component
from tests.arc.ingest.conftest import FakeUnit
from tests.faults.proxy import TcpProxy, database_proxy


@pytest.fixture
async def proxied(database_url):
    proxy, url = await database_proxy(database_url)
    yield proxy, url
    await proxy.stop()


@pytest.fixture
def db_proxy(proxied) -> TcpProxy:
    return proxied[0]


@pytest.fixture
async def app(db, settings, clock, proxied):
    """The app (with its ingest) reaching PostgreSQL only through the proxy."""
    served = settings.model_copy(update={"database_url": proxied[1]})
    application = create_app(served, clock=clock, components=[ingest_component])
    async with application.router.lifespan_context(application):
        yield application


async def test_status_is_503_in_the_error_shape_while_the_database_is_away(app, db_proxy, client_as, caplog):
    operator = await client_as("operator")
    assert (await operator.get("/api/live/status")).status_code == 200
    await db_proxy.cut()
    caplog.clear()
    with caplog.at_level(logging.INFO):
        for _ in range(3):
            answer = await operator.get("/api/live/status")
            assert answer.status_code == 503
            assert answer.json()["error"] == "unavailable"
    assert not [r for r in caplog.records if r.exc_info], "an outage is a line in the log, not a traceback"
    await db_proxy.restore()
    assert (await operator.get("/api/live/status")).status_code == 200


async def test_ingest_reports_the_outage_while_it_answers_snu_5_and_clears_it_after(
    app, db_proxy, unit: FakeUnit, client_as
):
    operator = await client_as("operator")
    beat = {"cid": "4401234", "dty": "1", "mty": "PI"}
    assert (await unit.send("4401234", {"ref": "OUT1", **beat}))["snu"] == 0
    await db_proxy.cut()
    assert (await unit.send("4401234", {"ref": "OUT2", **beat}))["snu"] == 5  # not treated: try again
    assert app.state.ingest.intake_problem() == "database_unavailable"
    await db_proxy.restore()
    assert (await unit.send("4401234", {"ref": "OUT3", **beat}))["snu"] == 0
    status = (await operator.get("/api/live/status")).json()
    assert (status["receiving"], status["ingest"]) == (True, "connected")


async def test_a_hung_database_shows_as_a_stuck_ingest(app, db_proxy, unit: FakeUnit):
    beat = {"cid": "4401234", "dty": "1", "mty": "PI"}
    assert (await unit.send("4401234", {"ref": "HUNG1", **beat}))["snu"] == 0
    db_proxy.freeze()  # connections stay open, nothing answers: the batch waits in the pipeline
    await unit.publish("4401234", {"ref": "HUNG2", **beat})
    await asyncio.sleep(STUCK_SECONDS + 0.5)
    assert app.state.ingest.intake_problem() == "stuck"
    await db_proxy.restore()
    assert (await unit.reply("4401234", within=10))["snu"] == 0  # stored and answered once it thaws
    assert app.state.ingest.intake_problem() is None

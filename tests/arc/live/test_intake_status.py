"""The dashboard's "are we receiving?" signal: operators must know when alarms cannot reach them."""

from __future__ import annotations

import pytest

from arc.ingest.worker import ingest_component


@pytest.fixture
def components() -> list:
    return [ingest_component]


async def test_status_says_receiving_while_the_ingest_is_subscribed(app, client_as):
    operator = await client_as("operator")
    status = (await operator.get("/api/live/status")).json()
    assert (status["receiving"], status["ingest"]) == (True, "connected")
    assert status["listening_since"] is not None


async def test_status_says_not_receiving_when_the_broker_link_is_down(app, client_as):
    operator = await client_as("operator")
    app.state.ingest.listening_since = None  # what the worker records when it loses the broker
    status = (await operator.get("/api/live/status")).json()
    assert (status["receiving"], status["ingest"]) == (False, "disconnected")


async def test_status_is_for_operators_and_supervisors_only(app, client_as):
    tec = await client_as("tec")
    assert (await tec.get("/api/live/status")).status_code == 403

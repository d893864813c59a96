"""Simulator tests run against the real ingest over the real broker."""

from __future__ import annotations

import pytest

from arc.ingest.worker import ingest_component


@pytest.fixture
def settings(settings):
    return settings.model_copy(update={"mqtt_session_expiry_seconds": 300, "ingest_batch_wait_ms": 2.0})


@pytest.fixture
def components() -> list:
    return [ingest_component]

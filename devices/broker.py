"""Where the MQTT broker is: one parser for ``mqtt://user:pass@host:port`` URLs.

Shared by the service and the simulators (which, like real units, know the broker but not the
service's internals).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote, urlsplit

DEFAULT_URL = "mqtt://127.0.0.1:1883"


def broker_address(mqtt_url: str | None) -> dict[str, Any]:
    """``hostname``, ``port``, ``username``, ``password`` keyword arguments for aiomqtt.Client."""
    parts = urlsplit(mqtt_url or DEFAULT_URL)
    return {
        "hostname": parts.hostname or "127.0.0.1",
        "port": parts.port or 1883,
        "username": unquote(parts.username) if parts.username else None,
        "password": unquote(parts.password) if parts.password else None,
    }

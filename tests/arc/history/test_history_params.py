"""The call-history routes share one filter dependency; each filter is still documented as its own
query parameter, with its description, on every route that takes it."""

from __future__ import annotations

import pytest

from arc.app import create_app

FILTERS = {"from", "to", "device_type", "outcome", "type"}
ROUTES = {
    "/api/history/customers/{customer_id}/calls": {"page", "page_size"},
    "/api/history/customers/{customer_id}/calls/export": {"format"},
    "/api/history/units/{unit_id}/calls": {"did", "page", "page_size"},
    "/api/history/units/{unit_id}/calls/export": {"did", "format"},
}


@pytest.fixture(scope="module")
def spec(database_url, mqtt_url, tmp_path_factory):
    from arc.kit.settings import Settings

    settings = Settings(
        env="test", database_url=database_url, mqtt_url=mqtt_url, data_dir=tmp_path_factory.mktemp("params")
    )
    return create_app(settings).openapi()


@pytest.mark.parametrize("path", ROUTES)
def test_every_filter_is_a_documented_query_parameter(spec, path):
    params = {p["name"]: p for p in spec["paths"][path]["get"]["parameters"] if p["in"] == "query"}
    assert set(params) == FILTERS | ROUTES[path]
    assert params["from"]["description"] == "first London date, inclusive"
    assert params["device_type"]["schema"]["anyOf"][0]["pattern"] == "^[0-9]{4}$"
    assert set(params["type"]["schema"]["anyOf"][0]["enum"]) == {"genuine", "false", "technical", "other"}

"""Health, readiness and metrics."""

from __future__ import annotations


async def test_healthz_says_ok(anon_client):
    response = await anon_client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_readyz_checks_database_broker_and_migrations(anon_client):
    response = await anon_client.get("/readyz")
    assert response.status_code == 200, response.text
    assert response.json()["checks"] == {"database": "ok", "migrations": "ok", "broker": "ok"}


async def test_readyz_is_503_when_broker_is_unreachable(app, anon_client):
    app.state.settings = app.state.settings.model_copy(update={"mqtt_url": "mqtt://127.0.0.1:9"})
    response = await anon_client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"]["broker"] == "unreachable"


async def test_metrics_count_requests(anon_client):
    await anon_client.get("/healthz")
    body = (await anon_client.get("/metrics")).text
    assert 'lifeline_http_requests_total{method="GET",route="/healthz",status="200"}' in body


async def test_openapi_documents_the_registry(client):
    paths = (await client.get("/openapi.json")).json()["paths"]
    for path in (
        "/api/customers",
        "/api/units",
        "/api/connections",
        "/api/customers/{customer_id}/responders",
    ):
        assert path in paths

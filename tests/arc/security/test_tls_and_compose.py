"""TLS where the outside world connects (issue 11, item 10): `lifeline serve` speaks HTTPS with
LIFELINE_TLS_CERTFILE/KEYFILE (certificates from deploy/make-test-ca.sh here), and the shipped
docker-compose.yml publishes only TLS ports to the network, plain MQTT on 127.0.0.1 only."""

from __future__ import annotations

import ssl
import subprocess
from pathlib import Path

import httpx
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def certs(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("certs")
    subprocess.run(["bash", str(ROOT / "deploy" / "make-test-ca.sh"), str(out), "localhost"], check=True)
    return out


@pytest.fixture
def settings(settings, certs):
    return settings.model_copy(
        update={"tls_certfile": certs / "server.crt", "tls_keyfile": certs / "server.key"}
    )


async def test_serve_speaks_https_with_the_configured_certificate(live_server, certs):
    url = live_server.url.replace("http://127.0.0.1", "https://localhost")
    trust = ssl.create_default_context(cafile=str(certs / "ca.crt"))
    async with httpx.AsyncClient(verify=trust) as web, httpx.AsyncClient() as plain:
        assert (await web.get(f"{url}/healthz")).status_code == 200
        with pytest.raises(httpx.HTTPError):  # and no plain HTTP on that port
            await plain.get(f"{live_server.url}/healthz")


def test_compose_publishes_plain_mqtt_and_http_on_loopback_only():
    services = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
    published = {
        (name, str(port)) for name in ("mosquitto", "app") for port in services[name].get("ports", [])
    }
    assert ("mosquitto", "127.0.0.1:1883:1883") in published and ("mosquitto", "8883:8883") in published
    assert ("app", "8443:8080") in published
    assert services["app"]["environment"]["LIFELINE_TLS_CERTFILE"]
    conf = (ROOT / "deploy" / "mosquitto" / "mosquitto.conf").read_text()
    assert "listener 8883" in conf and "certfile /mosquitto/config/certs/server.crt" in conf
    for name, port in published:
        assert port.startswith("127.0.0.1:") or port.split(":")[0] in {"8883", "8443"}, (name, port)

"""The page shells: public, no data in them, strict headers; static files installed and served."""

from __future__ import annotations

import pytest

from arc.web.pages import STATIC_DIR

pytestmark = pytest.mark.asyncio


@pytest.fixture
def components() -> list:
    return []


async def test_home_sends_the_browser_to_log_in(anon_client):
    answer = await anon_client.get("/", follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"] == "/login"


@pytest.mark.parametrize(
    "path, script",
    [
        ("/login", "/static/js/login.js"),
        ("/dashboard", "/static/js/dashboard.js"),
        ("/ers", "/static/js/ers.js"),
        ("/flags", "/static/js/history.js"),
        ("/history", "/static/js/history_customer.js"),
        ("/overview", "/static/js/history_overview.js"),
    ],
)
async def test_pages_are_shells_that_load_their_module_under_a_strict_policy(anon_client, path, script):
    answer = await anon_client.get(path)
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/html")
    assert f'<script type="module" src="{script}">' in answer.text
    policy = answer.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy
    assert answer.headers["x-frame-options"] == "DENY"


async def test_every_module_a_page_imports_is_served_as_javascript(anon_client):
    modules = sorted(p.name for p in (STATIC_DIR / "js").glob("*.js"))
    assert {"dashboard.js", "live.js", "ers.js", "login.js"} <= set(modules)
    for name in modules:
        answer = await anon_client.get(f"/static/js/{name}")
        assert answer.status_code == 200
        assert "javascript" in answer.headers["content-type"], name
    css = await anon_client.get("/static/css/app.css")
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")


async def test_the_api_behind_the_pages_still_needs_a_session(anon_client):
    assert (await anon_client.get("/api/live/stream")).status_code == 401
    assert (await anon_client.get("/auth/me")).status_code == 401

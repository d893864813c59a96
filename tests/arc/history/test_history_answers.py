"""The read side's typed answers: each matches its documented model, and the models change no
byte of what the views make (the TEC pages read these answers)."""

from __future__ import annotations

import json

from arc.history.calls import Filters, Scope, call_history
from arc.history.charts import overview
from arc.history.jobs import evaluate_flags
from arc.history.reports import monthly_report, people_supported
from tests.arc.history.test_history_api import _arrange
from tests.arc.test_contract_answers import _success_schema, drift


def _bytes(view: dict) -> bytes:
    """The answer as the routes sent it before they were typed (Starlette's JSONResponse)."""
    return json.dumps(view, ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode()


async def test_history_answers_match_their_models_byte_for_byte(app, session, clock, client_as):
    spec = app.openapi()
    zone = app.state.settings.zone
    tec = await client_as("tec")
    customer, unit, _ = await _arrange(session, clock)
    await evaluate_flags(app)  # the fall makes a falls flag
    flags = (await tec.get("/api/history/flags")).json()
    flag_id = flags["customers"][0]["flags"][0]["id"]
    review = {"status": "action_taken", "action": "review_visit", "note": "visit booked"}
    added = await tec.post(f"/api/history/flags/{flag_id}/reviews", json=review)
    assert added.status_code == 201, added.text
    today = clock.now().astimezone(zone).date()
    period = f"from={today.replace(day=1).isoformat()}&to={today.isoformat()}"
    calls = [
        ("get", f"/api/history/customers/{customer.id}/calls", "/api/history/customers/{customer_id}/calls"),
        ("get", f"/api/history/units/{unit.id}/calls?did=P1", "/api/history/units/{unit_id}/calls"),
        ("get", "/api/history/flags?status=resolved", "/api/history/flags"),
        ("get", f"/api/history/customers/{customer.id}/flags", "/api/history/customers/{customer_id}/flags"),
        ("get", f"/api/history/overview?{period}", "/api/history/overview"),
        ("get", "/api/history/reports/monthly?month=2026-11", "/api/history/reports/monthly"),
        ("get", "/api/history/reports/people-supported?year=2025", "/api/history/reports/people-supported"),
    ]
    seen = {"/api/history/flags/{flag_id}/reviews": added}
    for method, url, path in calls:
        answer = await tec.request(method.upper(), url)
        assert answer.status_code == 200, (url, answer.text)
        seen[path] = answer
    for path, answer in seen.items():
        method = "post" if path.endswith("/reviews") else "get"
        assert drift(answer.json(), _success_schema(spec, method, path), spec) == [], path

    resolved = seen["/api/history/flags"].json()["customers"][0]["flags"][0]
    assert resolved["id"] == flag_id and resolved["last_reviewed_at"] is not None
    [past] = seen["/api/history/customers/{customer_id}/flags"].json()["past"]
    assert past["reviews"][0]["note"] == "visit booked" and past["summary"].startswith("falls")

    views = {
        "/api/history/customers/{customer_id}/calls": await call_history(
            session, Scope(customer_id=customer.id), Filters(), zone
        ),
        "/api/history/overview": await overview(session, today.replace(day=1), today, zone),
        "/api/history/reports/monthly": await monthly_report(session, 2026, 11, zone),
        "/api/history/reports/people-supported": await people_supported(session, 2025),
    }
    for path, view in views.items():
        assert seen[path].content == _bytes(view), path
    assert list(seen["/api/history/overview"].json())[:2] == ["from", "to"]

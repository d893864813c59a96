"""Real answers match their documented models: no key the schema does not declare, no declared
key missing. A view that grows a key without its model fails here (the model keeps the key in
the answer meanwhile, so nobody loses it; see ``arc.kit.openapi.Out``)."""

from __future__ import annotations

from tests.arc.alarms.helpers import give_key_safe, scene


def _resolve(schema: dict, spec: dict) -> dict:
    while "$ref" in schema:
        schema = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


def drift(value, schema: dict, spec: dict, where: str = "") -> list[str]:
    """Where ``value`` has keys its schema does not declare, or lacks required ones."""
    schema = _resolve(schema, spec)
    options = schema.get("anyOf") or schema.get("oneOf")
    if options:
        found = [drift(value, option, spec, where) for option in options]
        return [] if any(f == [] for f in found) else min(found, key=len)
    if isinstance(value, list) and "items" in schema:
        return [p for n, item in enumerate(value) for p in drift(item, schema["items"], spec, f"{where}[{n}]")]
    if isinstance(value, dict) and "properties" in schema:
        props = schema["properties"]
        problems = [f"{where}.{k}: not declared" for k in value if k not in props]
        problems += [f"{where}.{k}: missing" for k in schema.get("required", []) if k not in value]
        for key, sub in value.items():
            if key in props:
                problems += drift(sub, props[key], spec, f"{where}.{key}")
        return problems
    return []


def _success_schema(spec, method: str, path: str) -> dict:
    responses = spec["paths"][path][method]["responses"]
    [code] = [c for c in responses if c.startswith("2")]
    return responses[code]["content"]["application/json"]["schema"]


async def test_alarm_answers_match_their_models(app, client_as, session, clock):
    spec = app.openapi()
    s = await scene(session, clock)
    await give_key_safe(app, session, s.customer, "Key safe 4321")
    erin = await client_as("ers", full_name="Erin ERS")
    operator = await client_as("operator")
    supervisor = await client_as("supervisor")
    alarm = f"/api/alarms/{s.alarm.id}"
    calls = [
        (operator, "get", "/api/alarms/queue", "/api/alarms/queue", None),
        (operator, "post", f"{alarm}/accept", "/api/alarms/{alarm_id}/accept", None),
        (operator, "post", f"{alarm}/notes", "/api/alarms/{alarm_id}/notes", {"text": "On the floor"}),
        (operator, "post", f"{alarm}/dispatch", "/api/alarms/{alarm_id}/dispatch",
         {"kind": "ers", "ers_user_id": erin.user.id}),
        (operator, "post", f"{alarm}/dispatch", "/api/alarms/{alarm_id}/dispatch",
         {"kind": "responder", "responder_id": s.responders[0].id}),
        (operator, "get", alarm, "/api/alarms/{alarm_id}", None),
        (erin, "get", "/api/ers/jobs", "/api/ers/jobs", None),
        (operator, "get", "/api/outcomes", "/api/outcomes", None),
        (supervisor, "get", "/api/outcomes?include_inactive=true", "/api/outcomes", None),
        (operator, "get", "/api/scripts", "/api/scripts", None),
        (operator, "get", "/api/kpis?group=operator", "/api/kpis", None),
        (operator, "get", "/healthz", "/healthz", None),
    ]
    seen = {}
    for who, method, url, path, body in calls:
        answer = await who.request(method.upper(), url, json=body)
        assert answer.status_code < 300, (url, answer.text)
        seen[url] = answer.json()
        assert drift(answer.json(), _success_schema(spec, method, path), spec) == [], url
    card = seen[alarm]
    assert card["key_safe"] == "Key safe 4321" and card["customer"]["name"] == "Edith Clarke"
    assert [t["kind"] for t in card["tasks"]] == ["ers", "responder"]
    assert seen["/api/ers/jobs"]["items"][0]["address"]["postcode"] == "CB2 1TN"


async def test_a_refusal_matches_error_out(app, client_as, session, clock):
    spec = app.openapi()
    s = await scene(session, clock)
    first, second = await client_as("operator"), await client_as("operator", full_name="Olive Second")
    await first.post(f"/api/alarms/{s.alarm.id}/accept")
    taken = await second.post(f"/api/alarms/{s.alarm.id}/close", json={"outcome_code": "no_action"})
    assert taken.status_code == 409 and taken.json()["error"] == "taken"
    schema = spec["paths"]["/api/alarms/{alarm_id}/close"]["post"]["responses"]["409"]
    error_out = _resolve(schema["content"]["application/json"]["schema"], spec)
    assert set(error_out["required"]) <= set(taken.json())
    assert taken.json()["error"] in _resolve(error_out["properties"]["error"], spec)["enum"]

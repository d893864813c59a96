"""Every route in the OpenAPI schema, for every role, answers malformed input with a 4xx and a reason.

The standard: a bad request is a 4xx in the one error shape ``{"error", "detail"}``, never a 5xx.
This sweep walks ``app.openapi()`` (so a new route is covered the day it is added) and sends, per
route and role: bad path ids (zero, negative, beyond bigint, not a number), bad query values (NUL,
very long, huge, unknown enum), malformed bodies (not JSON, wrong JSON type, wrong content type)
and, field by field, a seeded sample of wrong values (NUL, lone surrogate, very long, huge and
negative numbers, wrong types, unknown enum values, null), plus the same valid request twice.
Roles refused by a route get a handful of cases; roles it serves get the field-by-field sample.

Routes left out, and why: ``/api/live/stream`` (an endless response; its bad input is covered in
tests/arc/live), ``/readyz`` (a 503 there is a correct readiness answer, not a bad request),
``/auth/logout`` and ``/auth/password`` for the signed-in clients (they end the session the rest
of the sweep uses; they are swept anonymously).
"""

from __future__ import annotations

import json
import random
import re
from urllib.parse import quote

import httpx

from arc.dispatch.models import ResponseTask
from tests.factories import (
    create_alarm,
    create_customer_with_unit,
    create_peripheral,
    create_responder,
    create_user,
)

ROLES = ("operator", "supervisor", "tec", "ers", "finance", "admin")
SKIPPED = {("get", "/api/live/stream"), ("get", "/readyz")}
ENDS_SESSION = {("post", "/auth/logout"), ("post", "/auth/password")}
SEED = 20261122
FIELD_SAMPLE = 4  # wrong values tried per body field (seeded choice)

NUL = "a\x00b"
BAD_FIELD_VALUES = [
    NUL,
    "\ud800",  # lone surrogate (sent escaped; not storable text)
    "x" * 20_000,
    10**30,
    2**63,
    -1,
    0,
    1e308,
    True,
    None,
    [1, "a"],
    {"a": 1},
    "zzz-not-a-choice",
    "2026-02-30",
]
BAD_IDS = ["0", "-1", str(2**63), str(10**30), "abc", "%00", "1.5"]
BAD_CODES = ["%00", "x" * 300, "%ED%A0%80", "%FF"]
BAD_QUERY = [
    NUL,
    "x" * 5000,
    str(10**30),
    str(2**63),
    "-1",
    "zzz-not-a-choice",
    "",
    "9999-99-99",
    "9999-12-31",
    "0001-01-01T00:00:00+14:00",
]
PATTERN_CANDIDATES = ["7123456", "standard", "12:00", "CB2 1TN", "default", "sweep.user", "abc", "0003"]


class Sweep:
    def __init__(self, spec: dict, ids: dict[str, object]):
        self.spec = spec
        self.ids = ids
        self.rng = random.Random(SEED)

    # --- valid values, so a wrong field is the only thing wrong -----------------

    def resolve(self, schema: dict) -> dict:
        while "$ref" in schema:
            schema = self.spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
        return schema

    def valid(self, schema: dict, name: str = ""):
        schema = self.resolve(schema)
        for key in ("anyOf", "oneOf"):
            if key in schema:
                options = [o for o in schema[key] if self.resolve(o).get("type") != "null"]
                return self.valid(options[0], name) if options else None
        if "enum" in schema:
            return schema["enum"][0]
        if "const" in schema:
            return schema["const"]
        kind = schema.get("type")
        if kind == "object":
            return {
                k: self.valid(v, k)
                for k, v in schema.get("properties", {}).items()
                if k in schema.get("required", ())
            }
        if kind == "array":
            return [self.valid(schema.get("items", {}), name)] if schema.get("minItems") else []
        if kind == "integer":
            return self.ids.get(name, max(int(schema.get("minimum", 1)), 1))
        if kind == "number":
            return 1
        if kind == "boolean":
            return False
        return self.valid_text(schema, name)

    def valid_text(self, schema: dict, name: str) -> str:
        if schema.get("format") == "date":
            return "2026-01-05"
        if schema.get("format") == "date-time":
            return "2026-01-05T10:00:00Z"
        if "phone" in name:
            return "07700 900123"
        if name in ("postcode", "dty", "cid"):
            return {"postcode": "CB2 1TN", "dty": "0003", "cid": "7123456"}[name]
        if "pattern" in schema:
            for candidate in PATTERN_CANDIDATES:
                if re.search(schema["pattern"], candidate):
                    return candidate
        return "x" * max(int(schema.get("minLength", 1)), 1)

    # --- the cases ----------------------------------------------------------------

    def request_parts(self, path: str, op: dict) -> tuple[dict, list, dict | None]:
        params = [p for p in op.get("parameters", ()) if p["in"] in ("path", "query")]
        path_values = {p["name"]: str(self.ids.get(p["name"], 1)) for p in params if p["in"] == "path"}
        body_schema = op.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema")
        body = self.valid(body_schema) if body_schema else None
        return path_values, params, body

    def cases(self, method: str, path: str, op: dict, full: bool):
        """(label, path with values, query string, raw body or None, content type)."""
        path_values, params, body = self.request_parts(path, op)

        def url(**override) -> str:
            return path.format(**{**path_values, **override})

        def dump(value) -> bytes:
            return json.dumps(value).encode()  # ASCII-escaped: a lone surrogate travels as \\ud800

        good = dump(body) if body is not None else None
        for p in params:
            if p["in"] == "path":
                bad = BAD_CODES if self.resolve(p["schema"]).get("type") == "string" else BAD_IDS
                for value in bad if full else bad[2:4]:
                    yield (
                        f"path {p['name']}={value[:20]}",
                        url(**{p["name"]: value}),
                        "",
                        good,
                        "application/json",
                    )
            elif full:
                for value in BAD_QUERY:
                    yield (
                        f"query {p['name']}={value[:20]!r}",
                        url(),
                        f"{p['name']}={quote(value)}",
                        good,
                        None,
                    )
        if body is None:
            return
        yield "not json", url(), "", b"{not json", "application/json"
        yield "json array", url(), "", b"[]", "application/json"
        yield "wrong content type", url(), "", good, "text/plain"
        if not full:
            return
        yield "no body", url(), "", None, None
        yield "json null", url(), "", b"null", "application/json"
        yield "form encoded", url(), "", b"a=1&b=2", "application/x-www-form-urlencoded"
        yield "invalid utf-8", url(), "", b'{"a": "\xff\xfe"}', "application/json"
        yield "deep nesting", url(), "", b"[" * 5000 + b"]" * 5000, "application/json"
        yield "unknown field", url(), "", dump({**body, "zz_unknown": 1}), "application/json"
        schema = self.resolve(op["requestBody"]["content"]["application/json"]["schema"])
        for field in sorted(schema.get("properties", {})):
            for value in self.rng.sample(BAD_FIELD_VALUES, FIELD_SAMPLE):
                label = f"{field}={str(value)[:20]!r}"
                yield label, url(), "", dump({**body, field: value}), "application/json"
        if method == "post":  # a double submission: 2xx, 409 or 422, never a 5xx
            yield "duplicate 1", url(), "", good, "application/json"
            yield "duplicate 2", url(), "", good, "application/json"


async def _arrange(session, ers_user_id: int, now) -> dict[str, object]:
    customer, unit, connection = await create_customer_with_unit(session)
    peripheral = await create_peripheral(session, unit)
    responder = await create_responder(session, customer)
    alarm = await create_alarm(session, customer=customer, unit=unit)
    throwaway = await create_user(session, role="operator")  # the admin sweep edits this one
    task = ResponseTask(
        alarm_id=alarm.id, kind="ers", status="requested", ers_user_id=ers_user_id, requested_at=now
    )
    session.add(task)
    await session.flush()
    await session.commit()
    return {
        "customer_id": customer.id,
        "unit_id": unit.id,
        "connection_id": connection.id,
        "peripheral_id": peripheral.id,
        "responder_id": responder.id,
        "alarm_id": alarm.id,
        "task_id": task.id,
        "user_id": throwaway.id,
        "ers_user_id": ers_user_id,
        "script_id": 1,
        "code": "false_alarm",
    }


def _broken(response: httpx.Response) -> str | None:
    """Why this answer breaks the standard, or None."""
    if response.status_code >= 500:
        return f"{response.status_code} {response.text[:200]}"
    if response.status_code >= 400:
        try:
            body = response.json()
        except ValueError:
            return f"{response.status_code} not JSON: {response.text[:200]}"
        if not isinstance(body, dict) or not {"error", "detail"} <= set(body):
            return f"{response.status_code} not the error shape: {response.text[:200]}"
    return None


async def _send(client: httpx.AsyncClient, method: str, case) -> httpx.Response:
    _, url, query, body, content_type = case
    headers = {"content-type": content_type} if content_type else {}
    return await client.request(method, url + (f"?{query}" if query else ""), content=body, headers=headers)


async def test_every_route_answers_malformed_input_with_a_4xx_in_the_error_shape(
    app, client_as, anon_client, session, clock
):
    clients = {role: await client_as(role) for role in ROLES}
    ids = await _arrange(session, clients["ers"].user.id, clock.now())
    spec = app.openapi()
    sweep = Sweep(spec, ids)
    problems: list[str] = []
    sent = 0
    for path, operations in sorted(spec["paths"].items()):
        for method, op in sorted(operations.items()):
            if (method, path) in SKIPPED:
                continue
            who = {"anonymous": anon_client} if (method, path) in ENDS_SESSION else clients
            for role, client in who.items():
                probe = next(iter(sweep.cases(method, path, op, full=False)), None)
                first = await _send(client, method, probe) if probe else await client.request(method, path)
                full = first.status_code not in (401, 403)
                for case in sweep.cases(method, path, op, full=full):
                    response = await _send(client, method, case)
                    sent += 1
                    why = _broken(response)
                    if why:
                        problems.append(f"{method.upper()} {path} as {role} [{case[0]}]: {why}")
    assert sent > 1000, f"the sweep sent only {sent} requests"
    assert not problems, f"{len(problems)} answers break the standard:\n" + "\n".join(problems[:40])

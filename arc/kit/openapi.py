"""The error half of the typed contract: one ``ErrorOut`` model, documented on every route.

Success answers are typed by each route's ``response_model``. Errors all have one shape,
``{"error": <ErrorCode>, "detail": ...}`` (``arc/kit/errors.py``); this module writes that
shape into the OpenAPI schema:

- ``error_responses(409, ...)`` — for a route's own refusals, in its decorator
  (``responses=error_responses(409)``);
- ``document_errors(app)`` — run once by the app factory: adds the refusals every route
  shares (422 where it takes input, 401/403 where it needs a role, 404 where its path names a
  record, 413 where it takes a body, 503 when the database is away) and replaces FastAPI's own
  422 model, which our validation handler never sends.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, routing
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute
from pydantic import BaseModel, ConfigDict

from arc.kit.errors import ErrorCode


class Out(BaseModel):
    """Base of answers built from the views' dicts: declared fields are typed and documented; a
    key a view gained since keeps its place in the answer instead of vanishing (the drift test,
    ``tests/arc/test_contract.py``, asks for it to be declared)."""

    model_config = ConfigDict(extra="allow")


class FieldProblem(BaseModel):
    field: str
    message: str


class ErrorOut(BaseModel):
    """Every refusal. Some carry more, named in their detail (``field``, ``accepted_by``...)."""

    model_config = ConfigDict(extra="allow")

    error: ErrorCode
    detail: str | list[FieldProblem]


DESCRIPTIONS = {
    400: "Bad request",
    401: "Not signed in, or the session expired (`unauthorized`)",
    403: "Signed in without the role this needs (`forbidden`), or no CSRF token (`csrf`)",
    404: "No such record (`not_found`)",
    409: "Conflicts with the record's state (`conflict`, `duplicate`, `taken`, `closed`...)",
    413: "Request body too large (`too_large`)",
    422: "A field is wrong (`invalid`); `detail` names it",
    429: "Too many attempts (`rate_limited`)",
    502: "An upstream service did not answer",
    503: "The database cannot be reached; try again shortly (`unavailable`)",
}

_REF = "#/components/schemas/ErrorOut"


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """``responses=`` for a route's decorator: these statuses answer ``ErrorOut``."""
    return {s: {"model": ErrorOut, "description": DESCRIPTIONS.get(s, "Refused")} for s in statuses}


def _calls(dependant) -> list:
    found = []
    for sub in dependant.dependencies:
        found.append(sub.call)
        found.extend(_calls(sub))
    return found


def shared_statuses(route) -> set[int]:
    """The refusals a route shares with others, read from its path, body and dependencies."""
    statuses = {503}
    calls = _calls(route.dependant)
    if any(getattr(call, "roles", None) for call in calls):  # ``arc.auth.deps.require_roles``
        statuses |= {401, 403}
    if route.dependant.path_params:
        statuses.add(404)
    if route.body_field is not None:
        statuses |= {413, 422}
    if route.dependant.query_params or route.dependant.header_params or route.dependant.path_params:
        statuses.add(422)
    return statuses


def api_routes(app: FastAPI) -> list:
    """Every API route with its effective path (FastAPI >= 0.16x keeps included routers nested)."""
    iterate = getattr(routing, "iter_route_contexts", None)
    found = list(iterate(app.routes)) if iterate else list(app.routes)
    return [r for r in found if isinstance(getattr(r, "original_route", r), APIRoute)]


def _error_content() -> dict:
    return {"application/json": {"schema": {"$ref": _REF}}}


def document_errors(app: FastAPI) -> None:
    """Make ``app.openapi()`` document ``ErrorOut`` on every route (see the module docstring)."""

    def openapi() -> dict:
        if app.openapi_schema:
            return app.openapi_schema
        schema = get_openapi(
            title=app.title,
            version=app.version,
            openapi_version=app.openapi_version,
            summary=app.summary,
            description=app.description,
            routes=app.routes,
            tags=app.openapi_tags,
            servers=app.servers,
        )
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        error_schema = ErrorOut.model_json_schema(ref_template="#/components/schemas/{model}")
        components.update(error_schema.pop("$defs", {}))
        components["ErrorOut"] = error_schema
        for route in api_routes(app):
            if not route.include_in_schema:
                continue
            for method in route.methods:
                operation = schema["paths"].get(route.path_format, {}).get(method.lower())
                if operation is None:
                    continue
                responses = operation.setdefault("responses", {})
                statuses = shared_statuses(route) | ({422} if "422" in responses else set())
                for status in sorted(statuses):
                    key = str(status)
                    known = responses.get(key, {}).get("content", {}).get("application/json", {})
                    if key not in responses or "HTTPValidationError" in str(known):
                        responses[key] = {"description": DESCRIPTIONS[status], "content": _error_content()}
                for key, answer in responses.items():  # declared without a model: it is ErrorOut
                    if key[0] in "45" and not answer.get("content", {}).get("application/json", {}).get("schema"):
                        answer["content"] = _error_content()
                operation["responses"] = dict(sorted(responses.items()))
        for unused in ("HTTPValidationError", "ValidationError"):
            components.pop(unused, None)
        app.openapi_schema = schema
        return schema

    app.openapi = openapi

"""The typed contract: every route's success answer has a schema, every refusal is ``ErrorOut``,
and every ``error`` code a route can send is one member of ``ErrorCode``.

A client generated from ``/openapi.json`` (or a page reading it) can then trust both halves.
"""

from __future__ import annotations

import ast
import importlib
import pkgutil
import re
from pathlib import Path

import pytest

import arc
import billing
from arc.app import create_app
from arc.kit import errors
from arc.kit.errors import AppError, ErrorCode

ROOT = Path(__file__).resolve().parents[2]
# answers that are not JSON documents, declared as such by the route (``response_class``)
NON_JSON = ("text/event-stream", "text/csv", "text/html", "application/pdf", "application/vnd.")
ERROR_REF = "#/components/schemas/ErrorOut"
NOT_ERRORS = {"GET /readyz 503"}  # a probe's answer: which checks failed


@pytest.fixture(scope="module")
def spec(database_url, mqtt_url, tmp_path_factory):
    from arc.kit.settings import Settings

    settings = Settings(
        env="test", database_url=database_url, mqtt_url=mqtt_url, data_dir=tmp_path_factory.mktemp("contract")
    )
    return create_app(settings).openapi()


def _operations(spec):
    for path, ops in spec["paths"].items():
        for method, op in ops.items():
            yield f"{method.upper()} {path}", op


def _typed(schema: dict) -> bool:
    """A named model, a list of them, or a scalar; never a bare object with anything inside."""
    if "$ref" in schema:
        return True
    if "anyOf" in schema or "oneOf" in schema:
        return all(_typed(s) for s in schema.get("anyOf", schema.get("oneOf")))
    if schema.get("type") == "array":
        return _typed(schema.get("items", {}))
    if schema.get("type") in ("string", "integer", "number", "boolean"):
        return True
    return False


def _untyped(op: dict) -> list[str]:
    """Why an operation's success answer is not typed (empty when it is)."""
    success = {code: r for code, r in op.get("responses", {}).items() if code.startswith(("2", "3"))}
    if not success:
        return ["no success answer documented"]
    problems = []
    for code, answer in success.items():
        if code == "204" or code.startswith("3"):
            continue  # no body (or a redirect to follow)
        content = answer.get("content")
        if not content:
            problems.append(f"{code}: no content")
        for media, body in (content or {}).items():
            if not media.startswith(NON_JSON) and not _typed(body.get("schema", {})):
                problems.append(f"{code}: {media} is {body.get('schema')}")
    return problems


def test_every_route_has_a_typed_success_answer(spec):
    untyped = [f"{name} {p}" for name, op in _operations(spec) for p in _untyped(op)]
    assert untyped == [], "give these routes a response_model (pydantic):\n" + "\n".join(untyped)


def test_every_refusal_is_documented_as_error_out(spec):
    wrong = []
    for name, op in _operations(spec):
        for code, answer in op.get("responses", {}).items():
            if code[0] not in "45" or f"{name} {code}" in NOT_ERRORS:
                continue
            schema = answer.get("content", {}).get("application/json", {}).get("schema", {})
            if schema.get("$ref") != ERROR_REF:
                wrong.append(f"{name} {code}: {schema}")
    assert wrong == []
    schemas = spec["components"]["schemas"]
    assert "HTTPValidationError" not in schemas  # FastAPI's own 422 shape is never sent
    assert set(schemas["ErrorCode"]["enum"]) == {c.value for c in ErrorCode}


def test_shared_refusals_are_on_the_routes_that_give_them(spec):
    close = spec["paths"]["/api/alarms/{alarm_id}/close"]["post"]["responses"]
    assert {"401", "403", "404", "409", "422", "503"} <= set(close)
    health = spec["paths"]["/healthz"]["get"]["responses"]
    assert "401" not in health and "403" not in health  # public: nobody is refused a role


def _modules():
    for package in (arc, billing):
        for info in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
            yield info.name


def _error_classes() -> set[type]:
    for name in _modules():
        importlib.import_module(name)
    found, todo = set(), [AppError]
    while todo:
        cls = todo.pop()
        found.add(cls)
        todo.extend(cls.__subclasses__())
    return found


def test_every_error_class_has_an_enumerated_code():
    for cls in _error_classes():
        assert isinstance(cls.code, ErrorCode), f"{cls.__module__}.{cls.__name__}.code = {cls.code!r}"


def test_every_raised_code_is_an_error_code_member():
    """``code=`` on any error is ``ErrorCode.NAME`` (a new one is added to ``arc/kit/errors.py``)."""
    error_names = {cls.__name__ for cls in _error_classes()}
    members = {c.name for c in ErrorCode}
    wrong = []
    for folder in ("arc", "billing"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            tree = ast.parse(path.read_text(), filename=str(path))
            for node in ast.walk(tree):
                if not isinstance(node, ast.Call):
                    continue
                callee = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
                if callee not in error_names:
                    continue
                for kw in node.keywords:
                    if kw.arg != "code":
                        continue
                    value = kw.value
                    ok = (
                        isinstance(value, ast.Attribute)
                        and isinstance(value.value, ast.Name)
                        and value.value.id == "ErrorCode"
                        and value.attr in members
                    )
                    if not ok:
                        wrong.append(f"{path.relative_to(ROOT)}:{node.lineno} {ast.unparse(value)}")
    assert wrong == [], "raise with code=ErrorCode.NAME:\n" + "\n".join(wrong)


def test_handlers_answer_only_enumerated_codes():
    """The shared handlers' codes (integrity, database, validation...) are members too."""
    source = Path(errors.__file__).read_text() + (ROOT / "arc/kit/limits.py").read_text()
    assert not re.search(r'_body\("|"error":\s*"', source), "use ErrorCode members in the handlers"


def test_the_pages_map_only_enumerated_codes():
    """``api.js`` turns codes into messages; a code it knows that the API never sends is a typo."""
    script = (ROOT / "arc/web/static/js/api.js").read_text()
    block = re.search(r"const MESSAGES = \{(.*?)\n\};", script, re.S)
    assert block, "api.js keeps its code -> message map in `const MESSAGES = {...};`"
    mapped = set(re.findall(r"^\s*([a-z_]+):", block.group(1), re.M))
    client_side = {"network", "timeout"}  # raised by api.js itself
    assert mapped, "no codes mapped"
    assert mapped - client_side <= {c.value for c in ErrorCode}
    used = set(re.findall(r'\.code === "([a-z_]+)"', "".join(
        p.read_text() for p in (ROOT / "arc/web/static/js").glob("*.js")
    )))
    assert used <= {c.value for c in ErrorCode} | client_side

"""Which policy guards each route of an app: the route-policy test and docs read this.

FastAPI wraps included routers (``_IncludedRouter``) and builds each route's
effective dependencies (router-level ones included) lazily, so this walks the
effective route contexts, not just ``app.routes``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, APIWebSocketRoute
from starlette.routing import BaseRoute, Mount, Route, WebSocketRoute


@dataclass(frozen=True)
class RoutePolicy:
    path: str
    methods: tuple[str, ...]
    kind: str  # "api", "websocket", "starlette", "mount"
    roles: frozenset[str] | None  # the union of every require_roles on the route
    public_reason: str | None
    name: str = ""

    @property
    def declared(self) -> bool:
        return self.roles is not None or self.public_reason is not None


def _scan(dependant: Dependant | None) -> tuple[frozenset[str] | None, str | None]:
    roles: set[str] | None = None
    reason: str | None = None
    stack = [dependant] if dependant is not None else []
    while stack:
        dep = stack.pop()
        call = getattr(dep, "call", None)
        if call is not None and hasattr(call, "roles"):
            # several require_roles on one route: a caller must pass all of them
            roles = set(call.roles) if roles is None else roles & set(call.roles)
        if call is not None and hasattr(call, "public_reason"):
            reason = call.public_reason
        stack.extend(dep.dependencies)
    return (frozenset(roles) if roles is not None else None), reason


def _policy_of(route: object, path: str) -> RoutePolicy:
    name = getattr(route, "name", "") or ""
    if isinstance(route, APIRoute) or getattr(route, "dependant", None) is not None:
        roles, reason = _scan(route.dependant)
        methods = tuple(sorted(getattr(route, "methods", None) or ("WS",)))
        kind = "websocket" if isinstance(route, APIWebSocketRoute) else "api"
        return RoutePolicy(path, methods, kind, roles, reason, name)
    if isinstance(route, Mount):
        return RoutePolicy(path, ("*",), "mount", None, None, name)
    if isinstance(route, WebSocketRoute):
        return RoutePolicy(path, ("WS",), "websocket", None, None, name)
    methods = tuple(sorted(getattr(route, "methods", None) or ()))
    return RoutePolicy(path, methods, "starlette", None, None, name)


def _walk(routes: list[BaseRoute]) -> Iterator[RoutePolicy]:
    for route in routes:
        if hasattr(route, "effective_candidates"):  # fastapi's _IncludedRouter
            yield from _walk_included(route)
            continue
        yield _policy_of(route, getattr(route, "path", ""))


def _walk_included(included) -> Iterator[RoutePolicy]:
    contexts = list(included.effective_candidates())
    contexts += [c for c in included.effective_low_priority_routes() if c not in contexts]
    for ctx in contexts:
        if hasattr(ctx, "effective_candidates"):
            yield from _walk_included(ctx)
            continue
        original = ctx.original_route
        if isinstance(original, APIRoute):
            if ctx.dependant is None:  # pragma: no cover - depends on the FastAPI version
                raise RuntimeError(f"no effective dependant for {ctx.path}")
            yield _policy_of(ctx, ctx.path)
        elif ctx.starlette_route is not None:
            yield _policy_of(ctx.starlette_route, getattr(ctx.starlette_route, "path", ctx.path))
        else:  # pragma: no cover
            yield _policy_of(original, getattr(original, "path", ""))


def route_policies(app: FastAPI) -> list[RoutePolicy]:
    """Every route of ``app`` (nested routers included) with its declared policy."""
    seen: dict[tuple[str, tuple[str, ...]], RoutePolicy] = {}
    for policy in _walk(app.router.routes):
        seen.setdefault((policy.path, policy.methods), policy)
    return sorted(seen.values(), key=lambda p: (p.path, p.methods))


__all__ = ["Route", "RoutePolicy", "route_policies"]

"""Every route of the real app declares who may call it; only a few are deliberately open."""

from __future__ import annotations

from arc.app import create_app
from arc.auth.models import ROLES
from arc.auth.policy import route_policies

# the explicit exceptions: health and metrics probes, logging in (password and SSO), signed webhooks
PUBLIC_PATHS = {"/healthz", "/readyz", "/metrics", "/auth/login", "/auth/oidc/login", "/auth/oidc/callback"}
FRAMEWORK_PATHS = {"/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc"}  # schema only, no data
STATIC_MOUNTS = {"/static", "/docs-assets"}  # our page files; Swagger UI / ReDoc files from fastapi-offline


def _allowed_public(policy) -> bool:
    if policy.path in PUBLIC_PATHS:
        return True
    if "stripe" in policy.path and "webhook" in policy.path:
        return True  # the Stripe webhook is authenticated by its signature instead
    # HTML page shells: no data in them, everything they show comes from the protected API
    return (
        policy.public_reason is not None
        and policy.public_reason.startswith("page shell")
        and not policy.path.startswith(("/api", "/auth"))
        and set(policy.methods) <= {"GET", "HEAD"}
    )


def test_every_route_declares_roles_or_is_an_explicit_public_exception(settings):
    app = create_app(settings)
    policies = route_policies(app)
    assert len(policies) > 20  # the walk reached the included routers

    undeclared, unexpected_public = [], []
    for policy in policies:
        if policy.kind == "starlette" and policy.path in FRAMEWORK_PATHS:
            continue
        if policy.kind == "mount" and policy.path in STATIC_MOUNTS:
            continue
        if not policy.declared:
            undeclared.append(f"{'/'.join(policy.methods)} {policy.path}")
        elif policy.roles is None and not _allowed_public(policy):
            unexpected_public.append(f"{'/'.join(policy.methods)} {policy.path} ({policy.public_reason})")
        if policy.roles is not None:
            assert policy.roles, f"{policy.path}: require_roles on one route leave nobody allowed"
            assert policy.roles <= set(ROLES)
    assert not undeclared, f"routes without require_roles(...) or public(...): {undeclared}"
    assert not unexpected_public, f"public routes that are not an agreed exception: {unexpected_public}"


def test_the_walk_sees_router_level_policies_of_nested_routers(settings):
    policies = {(p.path, p.methods): p for p in route_policies(create_app(settings))}
    # /api/units is guarded by a dependency on a router included inside the registry router
    assert policies[("/api/units", ("GET",))].roles == {"operator", "supervisor", "tec", "admin"}
    assert policies[("/api/customers/{customer_id}/key-safe", ("GET",))].roles == {"operator", "supervisor"}
    assert policies[("/api/audit", ("GET",))].roles == {"admin"}
    assert policies[("/auth/login", ("POST",))].public_reason


def test_the_walk_finds_a_route_added_without_a_policy(settings):
    from fastapi import APIRouter

    app = create_app(settings)
    inner, outer = APIRouter(), APIRouter()

    @inner.get("/forgotten")
    async def forgotten() -> dict:
        return {}

    outer.include_router(inner, prefix="/deep")
    app.include_router(outer, prefix="/api")
    found = {p.path: p for p in route_policies(app)}
    assert "/api/deep/forgotten" in found and not found["/api/deep/forgotten"].declared


def test_customer_health_data_routes_exclude_admin_finance_and_ers(settings):
    for policy in route_policies(create_app(settings)):
        if policy.path.startswith("/api/customers"):
            assert policy.roles is not None
            assert not policy.roles & {"admin", "finance", "ers"}, policy

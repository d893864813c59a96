"""Optional single sign-on with OpenID Connect (authorization code + PKCE), e.g. Entra ID.

Off unless ``LIFELINE_OIDC_ISSUER`` is set. The issuer is found by discovery;
the ID token's signature, issuer, audience, expiry and nonce are checked; one
claim (``LIFELINE_OIDC_ROLE_CLAIM``, e.g. ``roles`` or ``groups``) is mapped to
Lifeline roles by ``LIFELINE_OIDC_ROLE_MAP``. A person with no mapped role is
refused. SSO users are matched by (issuer, subject), never by username, so an
SSO login cannot take over a local account.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from typing import Annotated

import httpx
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import RedirectResponse
from sqlalchemy import func, select

from arc.audit.service import record
from arc.auth.deps import public
from arc.auth.endpoints import set_session_cookie
from arc.auth.jwt import TokenError, b64url_encode, verify_jws
from arc.auth.models import ROLES, User
from arc.auth.service import issue_session, lifetime_for
from arc.kit.db import Session
from arc.kit.errors import AppError, ErrorCode, Forbidden, NotFound, Unauthorized
from arc.kit.openapi import error_responses
from arc.kit.settings import Settings

router = APIRouter(prefix="/auth/oidc", tags=["auth"])
FLOW_COOKIE = "lifeline_oidc"
FLOW_SECONDS = 600
LEEWAY = 60


class IssuerUnavailable(AppError):
    status_code = 502
    code = ErrorCode.SSO_UNAVAILABLE


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    if not settings.oidc_issuer:
        raise NotFound("single sign-on is not configured")
    return settings


def _client(request: Request) -> httpx.AsyncClient:
    # tests put a fake issuer here; production talks to the real one over HTTPS
    return httpx.AsyncClient(transport=getattr(request.app.state, "oidc_transport", None), timeout=10)


async def _get_json(client: httpx.AsyncClient, url: str) -> dict:
    try:
        response = await client.get(url)
        response.raise_for_status()
        return response.json()
    except (httpx.HTTPError, ValueError) as exc:
        raise IssuerUnavailable(f"identity provider unreachable ({type(exc).__name__})") from exc


async def discover(request: Request, settings: Settings) -> dict:
    cache = request.app.state.__dict__.setdefault("_oidc_cache", {})
    hit = cache.get(settings.oidc_issuer)
    if hit and hit[0] > time.monotonic():
        return hit[1]
    async with _client(request) as client:
        meta = await _get_json(client, settings.oidc_issuer.rstrip("/") + "/.well-known/openid-configuration")
        if meta.get("issuer") != settings.oidc_issuer:
            raise IssuerUnavailable("discovery document names a different issuer")
        meta["_jwks"] = await _get_json(client, meta["jwks_uri"])
    cache[settings.oidc_issuer] = (time.monotonic() + 3600, meta)
    return meta


def _sign(settings: Settings, data: dict) -> str:
    body = b64url_encode(json.dumps(data, separators=(",", ":")).encode())
    mac = hmac.new(settings.secret_key.get_secret_value().encode(), body.encode(), hashlib.sha256).digest()
    return f"{body}.{b64url_encode(mac)}"


def _same(given: str, expected: str) -> bool:
    """Constant-time comparison that refuses, rather than crashes on, non-ASCII input."""
    return hmac.compare_digest(given.encode(), expected.encode())


def _unsign(settings: Settings, value: str | None) -> dict | None:
    if not value or "." not in value:
        return None
    body, mac = value.rsplit(".", 1)
    expected = b64url_encode(
        hmac.new(settings.secret_key.get_secret_value().encode(), body.encode(), hashlib.sha256).digest()
    )
    if not _same(mac, expected):
        return None
    data = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    return data if data.get("exp", 0) > time.time() else None


@router.get(
    "/login",
    dependencies=[Depends(public("single sign-on: redirect to the identity provider"))],
    response_class=RedirectResponse,
    status_code=302,
    summary="Redirect to the identity provider",
    responses=error_responses(404, 502),
)
async def oidc_login(request: Request):
    settings = _settings(request)
    meta = await discover(request, settings)
    flow = {
        "state": secrets.token_urlsafe(24),
        "nonce": secrets.token_urlsafe(24),
        "verifier": secrets.token_urlsafe(48),
        "exp": int(time.time()) + FLOW_SECONDS,
    }
    challenge = b64url_encode(hashlib.sha256(flow["verifier"].encode()).digest())
    params = {
        "response_type": "code",
        "client_id": settings.oidc_client_id,
        "redirect_uri": settings.oidc_redirect_url,
        "scope": settings.oidc_scopes,
        "state": flow["state"],
        "nonce": flow["nonce"],
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }
    response = RedirectResponse(
        str(httpx.URL(meta["authorization_endpoint"], params=params)), status_code=302
    )
    secure = request.url.scheme == "https" or settings.env == "production"
    # Lax, not Strict: the browser must send it on the redirect back from the identity provider
    response.set_cookie(
        FLOW_COOKIE,
        _sign(settings, flow),
        max_age=FLOW_SECONDS,
        httponly=True,
        samesite="lax",
        secure=secure,
        path="/auth/oidc",
    )
    return response


async def _exchange(request: Request, settings: Settings, meta: dict, code: str, verifier: str) -> dict:
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": settings.oidc_redirect_url,
        "client_id": settings.oidc_client_id,
        "code_verifier": verifier,
    }
    auth = None
    if settings.oidc_client_secret is not None:
        methods = meta.get("token_endpoint_auth_methods_supported", ["client_secret_basic"])
        if "client_secret_basic" in methods:
            auth = (settings.oidc_client_id, settings.oidc_client_secret.get_secret_value())
        else:
            form["client_secret"] = settings.oidc_client_secret.get_secret_value()
    async with _client(request) as client:
        try:
            response = await client.post(meta["token_endpoint"], data=form, auth=auth)
        except httpx.HTTPError as exc:
            raise IssuerUnavailable(f"identity provider unreachable ({type(exc).__name__})") from exc
    if response.status_code != 200:
        raise Unauthorized("the identity provider refused the sign-in code", code=ErrorCode.SSO_REFUSED)
    return response.json()


def check_id_token(id_token: str, meta: dict, settings: Settings, nonce: str) -> dict:
    try:
        claims = verify_jws(id_token, meta["_jwks"])
    except TokenError as exc:
        raise Unauthorized(f"ID token rejected: {exc}", code=ErrorCode.SSO_REFUSED) from exc
    now = time.time()
    audience = claims.get("aud")
    audiences = audience if isinstance(audience, list) else [audience]
    problems = [
        ("issuer", claims.get("iss") != settings.oidc_issuer),
        ("audience", settings.oidc_client_id not in audiences),
        ("azp", len(audiences) > 1 and claims.get("azp") != settings.oidc_client_id),
        ("expiry", not isinstance(claims.get("exp"), int | float) or claims["exp"] + LEEWAY < now),
        ("nonce", not _same(str(claims.get("nonce", "")), nonce)),
        ("subject", not claims.get("sub")),
    ]
    bad = [name for name, failed in problems if failed]
    if bad:
        raise Unauthorized(f"ID token rejected: wrong {', '.join(bad)}", code=ErrorCode.SSO_REFUSED)
    return claims


def roles_from_claims(claims: dict, settings: Settings) -> list[str]:
    values = claims.get(settings.oidc_role_claim) or []
    values = [values] if isinstance(values, str) else list(values)
    mapped = {settings.oidc_role_map[v] for v in values if isinstance(v, str) and v in settings.oidc_role_map}
    return [role for role in ROLES if role in mapped]  # stable order: the first is the main role


async def _sso_user(session, claims: dict, roles: list[str], settings: Settings) -> tuple[User, bool]:
    user = await session.scalar(
        select(User).where(User.oidc_issuer == settings.oidc_issuer, User.oidc_subject == claims["sub"])
    )
    created = user is None
    if user is None:
        base = str(claims.get("preferred_username") or claims.get("email") or f"sso-{claims['sub']}")[:56]
        username = base
        while await session.scalar(select(User.id).where(func.lower(User.username) == username.lower())):
            username = f"{base}~{secrets.token_hex(3)}"
        user = User(
            username=username,
            full_name=str(claims.get("name") or username)[:200],
            role=roles[0],
            password_hash=None,  # SSO only: no local password
            oidc_issuer=settings.oidc_issuer,
            oidc_subject=claims["sub"],
        )
        session.add(user)
    user.role, user.extra_roles = roles[0], roles[1:]  # the identity provider is the source of truth
    await session.flush()
    return user, created


@router.get(
    "/callback",
    dependencies=[Depends(public("single sign-on: return from the identity provider"))],
    response_class=RedirectResponse,
    status_code=303,
    summary="Back from the identity provider: signed in, redirected to /",
    responses=error_responses(401, 403, 404, 502),
)
async def oidc_callback(
    request: Request,
    session: Session,
    code: Annotated[str | None, Query(max_length=4096)] = None,
    state: Annotated[str | None, Query(max_length=256)] = None,
    error: Annotated[str | None, Query(max_length=256)] = None,
):
    settings = _settings(request)
    if error:
        raise Unauthorized(f"the identity provider reported: {error}", code=ErrorCode.SSO_REFUSED)
    flow = _unsign(settings, request.cookies.get(FLOW_COOKIE))
    if flow is None or not state or not _same(state, flow["state"]):
        raise Unauthorized("sign-in state missing, expired or wrong; start again", code=ErrorCode.SSO_STATE)
    if not code:
        raise Unauthorized("no sign-in code", code=ErrorCode.SSO_REFUSED)
    meta = await discover(request, settings)
    tokens = await _exchange(request, settings, meta, code, flow["verifier"])
    claims = check_id_token(str(tokens.get("id_token", "")), meta, settings, flow["nonce"])
    roles = roles_from_claims(claims, settings)
    if not roles:
        raise Forbidden("your account has no Lifeline role; ask an administrator", code=ErrorCode.NO_ROLE)
    user, created = await _sso_user(session, claims, roles, settings)
    if not user.is_active:
        raise Unauthorized("this account is deactivated", code=ErrorCode.INACTIVE)
    now = request.app.state.clock.now()
    if created:
        await record(
            session,
            actor="sso",
            action="create",
            object_type="user",
            object_id=user.id,
            request=request,
            detail={"role": user.role, "extra_roles": user.extra_roles},
        )
    token, row = await issue_session(session, user, "browser", now, lifetime_for(settings, "browser"))
    response = RedirectResponse("/", status_code=303)
    set_session_cookie(request, response, token, int((row.expires_at - now).total_seconds()))
    response.delete_cookie(FLOW_COOKIE, path="/auth/oidc")
    return response

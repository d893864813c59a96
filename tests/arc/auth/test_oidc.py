"""Single sign-on (OIDC authorization code + PKCE) against a tiny fake issuer inside the test."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import time
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from fastapi import FastAPI, Form, Request
from fastapi.responses import JSONResponse
from pydantic import SecretStr
from sqlalchemy import select

from arc.auth.models import User
from tests.factories import create_user

ISSUER = "https://login.council.example/tenant"
CLIENT_ID = "lifeline-arc"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class FakeIssuer:
    """Discovery, JWKS, and a token endpoint that checks the PKCE verifier."""

    def __init__(self) -> None:
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.codes: dict[str, dict] = {}
        self.app = FastAPI()
        numbers = self.key.public_key().public_numbers()
        jwk = {
            "kty": "RSA",
            "kid": "k1",
            "use": "sig",
            "alg": "RS256",
            "n": _b64(numbers.n.to_bytes(256, "big")),
            "e": _b64(numbers.e.to_bytes(3, "big")),
        }

        @self.app.get("/tenant/.well-known/openid-configuration")
        async def discovery():
            return {
                "issuer": ISSUER,
                "authorization_endpoint": f"{ISSUER}/authorize",
                "token_endpoint": f"{ISSUER}/token",
                "jwks_uri": f"{ISSUER}/keys",
                "token_endpoint_auth_methods_supported": ["client_secret_basic"],
            }

        @self.app.get("/tenant/keys")
        async def keys():
            return {"keys": [jwk]}

        @self.app.post("/tenant/token")
        async def token(
            request: Request, code: str = Form(), code_verifier: str = Form(), client_id: str = Form()
        ):
            grant = self.codes.pop(code, None)
            challenge = _b64(hashlib.sha256(code_verifier.encode()).digest())
            if grant is None or challenge != grant["challenge"] or client_id != CLIENT_ID:
                return JSONResponse({"error": "invalid_grant"}, status_code=400)
            assert request.headers["authorization"].startswith("Basic ")
            return {"access_token": "at", "token_type": "Bearer", "id_token": self.id_token(grant["claims"])}

    def id_token(self, claims: dict, key=None) -> str:
        header = _b64(json.dumps({"alg": "RS256", "kid": "k1", "typ": "JWT"}).encode())
        body = _b64(json.dumps(claims).encode())
        signature = (key or self.key).sign(f"{header}.{body}".encode(), padding.PKCS1v15(), hashes.SHA256())
        return f"{header}.{body}.{_b64(signature)}"

    def sign_in(self, authorize_url: str, **claims) -> str:
        """What the person does at the identity provider: returns the callback query."""
        query = {k: v[0] for k, v in parse_qs(urlsplit(authorize_url).query).items()}
        assert query["code_challenge_method"] == "S256" and query["client_id"] == CLIENT_ID
        code = secrets.token_urlsafe(16)
        now = int(time.time())
        self.codes[code] = {
            "challenge": query["code_challenge"],
            "claims": {
                "iss": ISSUER,
                "aud": CLIENT_ID,
                "sub": "entra-oid-123",
                "iat": now,
                "exp": now + 600,
                "nonce": query["nonce"],
                "preferred_username": "olive@council.example",
                "name": "Olive Operator",
                "roles": ["ARC-Operators"],
                **claims,
            },
        }
        return f"code={code}&state={query['state']}"


@pytest.fixture
def settings(settings):
    return settings.model_copy(
        update={
            "oidc_issuer": ISSUER,
            "oidc_client_id": CLIENT_ID,
            "oidc_client_secret": SecretStr("client-secret"),
            "oidc_redirect_url": "http://testserver/auth/oidc/callback",
            "oidc_role_claim": "roles",
            "oidc_role_map": {"ARC-Operators": "operator", "ARC-Supervisors": "supervisor"},
        }
    )


@pytest.fixture
def issuer(app) -> FakeIssuer:
    fake = FakeIssuer()
    app.state.oidc_transport = httpx.ASGITransport(app=fake.app)
    return fake


async def _start(anon_client) -> str:
    started = await anon_client.get("/auth/oidc/login")
    assert started.status_code == 302
    assert started.headers["location"].startswith(f"{ISSUER}/authorize?")
    assert "samesite=lax" in started.headers["set-cookie"].lower()
    return started.headers["location"]


async def test_sso_sign_in_creates_the_user_with_the_mapped_role_and_a_session(anon_client, issuer, session):
    back = issuer.sign_in(await _start(anon_client))
    done = await anon_client.get(f"/auth/oidc/callback?{back}")
    assert done.status_code == 303, done.text
    me = await anon_client.get("/auth/me")
    assert me.status_code == 200
    assert me.json()["user"]["role"] == "operator" and me.json()["csrf_token"]
    user = await session.scalar(select(User).where(User.oidc_subject == "entra-oid-123"))
    assert (user.username, user.password_hash) == ("olive@council.example", None)


async def test_role_follows_the_identity_provider_at_each_sign_in(anon_client, issuer, session):
    await anon_client.get(f"/auth/oidc/callback?{issuer.sign_in(await _start(anon_client))}")
    again = issuer.sign_in(await _start(anon_client), roles=["ARC-Supervisors", "ARC-Operators"])
    assert (await anon_client.get(f"/auth/oidc/callback?{again}")).status_code == 303
    me = (await anon_client.get("/auth/me")).json()["user"]
    assert (me["role"], me["extra_roles"]) == ("operator", ["supervisor"])


async def test_person_without_a_mapped_role_is_refused(anon_client, issuer):
    back = issuer.sign_in(await _start(anon_client), roles=["Everyone"])
    refused = await anon_client.get(f"/auth/oidc/callback?{back}")
    assert refused.status_code == 403 and refused.json()["error"] == "no_role"


async def test_forged_state_wrong_nonce_or_foreign_signature_are_refused(anon_client, issuer):
    url = await _start(anon_client)
    forged = issuer.sign_in(url).split("&state=")[0] + "&state=forged"
    assert (await anon_client.get(f"/auth/oidc/callback?{forged}")).json()["error"] == "sso_state"

    url = await _start(anon_client)
    wrong_nonce = issuer.sign_in(url, nonce="replayed")
    refused = await anon_client.get(f"/auth/oidc/callback?{wrong_nonce}")
    assert refused.status_code == 401 and "nonce" in refused.json()["detail"]

    url = await _start(anon_client)
    back = issuer.sign_in(url)
    other_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    original = issuer.id_token
    issuer.id_token = lambda claims, key=None: original(claims, other_key)
    refused = await anon_client.get(f"/auth/oidc/callback?{back}")
    assert refused.status_code == 401 and "signature" in refused.json()["detail"]


async def test_expired_id_token_is_refused(anon_client, issuer):
    back = issuer.sign_in(await _start(anon_client), exp=int(time.time()) - 3600)
    refused = await anon_client.get(f"/auth/oidc/callback?{back}")
    assert refused.status_code == 401 and "expiry" in refused.json()["detail"]


async def test_sso_never_takes_over_a_local_account_with_the_same_name(anon_client, issuer, session):
    local = await create_user(session, role="admin", username="olive@council.example")
    await session.commit()
    await anon_client.get(f"/auth/oidc/callback?{issuer.sign_in(await _start(anon_client))}")
    me = (await anon_client.get("/auth/me")).json()["user"]
    assert me["id"] != local.id and me["role"] == "operator"
    assert me["username"].startswith("olive@council.example~")


async def test_sso_routes_are_404_when_not_configured(app, anon_client):
    app.state.settings = app.state.settings.model_copy(update={"oidc_issuer": None})
    assert (await anon_client.get("/auth/oidc/login")).status_code == 404

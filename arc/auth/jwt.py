"""Just enough JOSE to check an OpenID Connect ID token: RS256 / ES256 signatures against a JWKS."""

from __future__ import annotations

import base64
import json

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature


class TokenError(Exception):
    pass


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def b64url_encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _int(text: str) -> int:
    return int.from_bytes(b64url_decode(text), "big")


def _public_key(jwk: dict):
    if jwk.get("kty") == "RSA":
        return rsa.RSAPublicNumbers(_int(jwk["e"]), _int(jwk["n"])).public_key()
    if jwk.get("kty") == "EC" and jwk.get("crv") == "P-256":
        return ec.EllipticCurvePublicNumbers(_int(jwk["x"]), _int(jwk["y"]), ec.SECP256R1()).public_key()
    raise TokenError(f"unsupported key type {jwk.get('kty')}")


def verify_jws(token: str, jwks: dict) -> dict:
    """The claims of a compact JWS whose signature one of ``jwks``' keys verifies."""
    try:
        header_b64, payload_b64, sig_b64 = token.split(".")
        header = json.loads(b64url_decode(header_b64))
        claims = json.loads(b64url_decode(payload_b64))
        signature = b64url_decode(sig_b64)
    except (ValueError, json.JSONDecodeError) as exc:
        raise TokenError("malformed token") from exc
    alg = header.get("alg")
    if alg not in ("RS256", "ES256"):
        raise TokenError(f"algorithm {alg!r} not accepted")
    keys = [k for k in jwks.get("keys", []) if header.get("kid") in (None, k.get("kid"))]
    signed = f"{header_b64}.{payload_b64}".encode()
    for jwk in keys:
        if jwk.get("use", "sig") != "sig":
            continue
        try:
            key = _public_key(jwk)
            if alg == "RS256" and isinstance(key, rsa.RSAPublicKey):
                key.verify(signature, signed, padding.PKCS1v15(), hashes.SHA256())
                return claims
            if alg == "ES256" and isinstance(key, ec.EllipticCurvePublicKey) and len(signature) == 64:
                der = encode_dss_signature(
                    int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big")
                )
                key.verify(der, signed, ec.ECDSA(hashes.SHA256()))
                return claims
        except (InvalidSignature, TokenError, KeyError, ValueError):
            continue
    raise TokenError("signature does not verify with the issuer's keys")

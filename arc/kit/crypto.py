"""Encryption at rest for the most sensitive fields (key-safe codes).

AES-256-GCM with a random 96-bit nonce. A ciphertext is text:
``lk1:<key id>:<base64(nonce || ciphertext+tag)>``; the key id is a short
fingerprint of the key that wrote it, so several keys can be readable at once
while ``lifeline keys rotate`` re-encrypts everything under the current key.
Each value is bound to where it belongs (``context``, e.g.
``customers.key_safe:42``) as associated data, so a ciphertext copied onto
another customer does not decrypt.

Keys come from settings: ``LIFELINE_DATA_KEY`` (or, when unset,
``LIFELINE_SECRET_KEY``) is the current key; ``LIFELINE_DATA_KEYS_RETIRED``
lists earlier ones. The AES key is HKDF-SHA256 of that secret.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from arc.kit.settings import Settings

FORMAT = "lk1"
_SALT = b"lifeline-arc data key v1"


class DecryptError(Exception):
    """The value cannot be decrypted: unknown key, tampered or moved ciphertext."""


def derive_key(secret: str) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=_SALT, info=b"data-at-rest").derive(
        secret.encode()
    )


def key_id(key: bytes) -> str:
    return hashlib.sha256(b"lifeline key id\x00" + key).hexdigest()[:12]


class DataCipher:
    def __init__(self, current_secret: str, retired_secrets: list[str] | tuple[str, ...] = ()) -> None:
        current = derive_key(current_secret)
        self.current_id = key_id(current)
        self._keys = {self.current_id: AESGCM(current)}
        for secret in retired_secrets:
            key = derive_key(secret)
            self._keys.setdefault(key_id(key), AESGCM(key))

    @classmethod
    def from_settings(cls, settings: Settings) -> DataCipher:
        current = settings.data_key or settings.secret_key
        return cls(current.get_secret_value(), [s.get_secret_value() for s in settings.data_keys_retired])

    def encrypt(self, plaintext: str, *, context: str) -> str:
        nonce = os.urandom(12)
        sealed = self._keys[self.current_id].encrypt(nonce, plaintext.encode(), context.encode())
        return f"{FORMAT}:{self.current_id}:{base64.b64encode(nonce + sealed).decode()}"

    def decrypt(self, token: str, *, context: str) -> str:
        try:
            fmt, kid, body = token.split(":", 2)
        except ValueError:
            raise DecryptError("not a Lifeline ciphertext") from None
        if fmt != FORMAT:
            raise DecryptError(f"unknown ciphertext format {fmt!r}")
        aead = self._keys.get(kid)
        if aead is None:
            raise DecryptError(f"key {kid} is not configured (retired and removed?)")
        try:
            raw = base64.b64decode(body, validate=True)
            return aead.decrypt(raw[:12], raw[12:], context.encode()).decode()
        except (InvalidTag, ValueError, binascii.Error):
            raise DecryptError("ciphertext does not verify (tampered, or belongs elsewhere)") from None

    def knows(self, kid: str) -> bool:
        """Whether ``kid`` is the current key or a retired one still configured."""
        return kid in self._keys

    def is_current(self, token: str) -> bool:
        return token.startswith(f"{FORMAT}:{self.current_id}:")


def key_safe_context(customer_id: int) -> str:
    return f"customers.key_safe:{customer_id}"

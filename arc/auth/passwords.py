"""Password hashing with argon2id, and what a new password must not be."""

from __future__ import annotations

import gzip
import string
from functools import lru_cache
from importlib.resources import files

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()
MIN_LENGTH = 12


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    if not password_hash:
        return False
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)


def password_problem(password: str) -> str | None:
    """Why a new password is not acceptable, or None."""
    if len(password) < MIN_LENGTH:
        return f"password must be at least {MIN_LENGTH} characters"
    if password.strip() != password:
        return "password must not start or end with spaces"
    if any(not ch.isprintable() for ch in password):
        return "password must not contain control characters"
    if len(set(password)) < 4:
        return "password must use at least 4 different characters"
    if is_common(password):
        return (
            "password is too common (it, or it with digits or symbols added, is in breached-password lists)"
        )
    return None


@lru_cache(maxsize=1)
def common_passwords() -> frozenset[str]:
    """The breached-password list shipped in arc/auth/data (see its NOTICE), lower-cased."""
    raw = files("arc.auth").joinpath("data/common-passwords.txt.gz").read_bytes()
    return frozenset(
        line.strip().lower() for line in gzip.decompress(raw).decode().splitlines() if line.strip()
    )


_PADDING = string.digits + string.punctuation + " "


def is_common(password: str) -> bool:
    """On the list itself, a listed password with digits or symbols around it ("password1234",
    "!Dragon2024"), or a listed one repeated ("monkeymonkey")."""
    common = common_passwords()
    lowered = password.lower()
    core = lowered.strip(_PADDING)
    if lowered in common or (len(core) >= 4 and core in common) or not core:
        return True
    return any(
        len(core) % size == 0 and core[:size] * (len(core) // size) == core and core[:size] in common
        for size in range(3, len(core) // 2 + 1)
    )

"""Per-unit MQTT broker credentials for Mosquitto: password-file entries and the ACL.

Each unit logs in with its ``cid`` as username and a random password; the ACL
lets it publish only ``{root}/{its cid}/mrq`` (and its retained ``status``) and
read only ``{root}/{its cid}/mrs``. The ARC service logs in as one service user
that reads every ``mrq`` and writes every ``mrs``.

Password entries use the format ``mosquitto_passwd`` writes for Mosquitto 2:
``$7$<iterations>$<base64 salt>$<base64 PBKDF2-HMAC-SHA512>``. Unit passwords are
120-bit random strings, so the iteration count is kept at Mosquitto's default
(101): stretching protects guessable passwords, and a reconnect storm of every
unit would pay for a large count with broker CPU.

EMQX equivalent (docs/security.md): built-in database authentication with
``password_hash_algorithm = {name = pbkdf2, mac_fun = sha512, iterations = 101}``
(or bcrypt) and an authorization source with rules on ``${username}``.
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import hashlib
import hmac
import os
import re
import secrets
import stat
from collections.abc import Iterator
from pathlib import Path

CID_RE = re.compile(r"^[0-9]{1,32}$")
SERVICE_USER_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_.-]{0,63}$")
DEFAULT_ITERATIONS = 101
SALT_BYTES = 12


def mosquitto_hash(password: str, *, salt: bytes | None = None, iterations: int = DEFAULT_ITERATIONS) -> str:
    salt = salt if salt is not None else os.urandom(SALT_BYTES)
    digest = hashlib.pbkdf2_hmac("sha512", password.encode(), salt, iterations)
    return f"$7${iterations}${base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}"


def verify_mosquitto_hash(encoded: str, password: str) -> bool:
    try:
        _, kind, iterations, salt, digest = encoded.split("$")
        if kind != "7":
            return False
        computed = hashlib.pbkdf2_hmac("sha512", password.encode(), base64.b64decode(salt), int(iterations))
        return hmac.compare_digest(computed, base64.b64decode(digest))
    except ValueError:
        return False


def generate_password() -> str:
    return secrets.token_urlsafe(24)  # 32 characters, 192 bits


def check_cid(cid: str) -> str:
    if not CID_RE.match(cid):
        raise ValueError(f"cid must be 1-32 digits, got {cid!r}")
    return cid


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_name(path.name + ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _read(path: Path) -> list[str]:
    return path.read_text().splitlines() if path.exists() else []


def _write_atomically(path: Path, text: str) -> None:
    """Replace ``path`` in one step, keeping its mode and owner (the broker must still read it)."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    old = path.stat() if path.exists() else None
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    if old is not None:
        os.chmod(tmp, stat.S_IMODE(old.st_mode))
        with contextlib.suppress(PermissionError):
            os.chown(tmp, old.st_uid, old.st_gid)
    os.replace(tmp, path)


def set_password_entry(passwd_file: Path, username: str, password: str, **hash_args) -> None:
    """Add or replace ``username``'s line in a Mosquitto password file."""
    if ":" in username or not username:
        raise ValueError("username must be non-empty and contain no ':'")
    entry = f"{username}:{mosquitto_hash(password, **hash_args)}"
    with _locked(passwd_file):
        lines = [line for line in _read(passwd_file) if line.split(":", 1)[0] != username]
        _write_atomically(passwd_file, "\n".join([*lines, entry]) + "\n")


def remove_password_entry(passwd_file: Path, username: str) -> bool:
    with _locked(passwd_file):
        lines = _read(passwd_file)
        kept = [line for line in lines if line.split(":", 1)[0] != username]
        if len(kept) == len(lines):
            return False
        _write_atomically(passwd_file, "\n".join(kept) + ("\n" if kept else ""))
        return True


def has_password_entry(passwd_file: Path, username: str) -> bool:
    return any(line.split(":", 1)[0] == username for line in _read(passwd_file))


def provision_unit(passwd_file: Path, cid: str, password: str | None = None) -> str:
    """Give unit ``cid`` a new random broker password (replacing any old one); return it (shown once)."""
    check_cid(cid)
    password = password or generate_password()
    set_password_entry(passwd_file, cid, password)
    return password


def revoke_unit(passwd_file: Path, cid: str) -> bool:
    """Remove the unit's broker login; True if it had one. Reload the broker to drop it at once."""
    return remove_password_entry(passwd_file, check_cid(cid))


def render_acl(
    topic_root: str, service_user: str, shared_group: str | None = None, gateway_user: str | None = None
) -> str:
    """The ACL. ``service_user`` may list several comma-separated service logins: a broker that
    ties client ids to usernames (the shipped Mosquitto config) needs one per service process.
    ``gateway_user`` is the SIP edge (deploy/kamailio), which speaks for every SIP unit."""
    users = [name.strip() for name in service_user.split(",") if name.strip()]
    logins = [*users, *([gateway_user] if gateway_user else [])]
    if not users or any(not SERVICE_USER_RE.match(u) or CID_RE.match(u) for u in logins):
        raise ValueError("the service username must start with a letter (units use digits-only cids)")
    if not re.fullmatch(r"[A-Za-z0-9_.-]+", topic_root):
        raise ValueError("topic root must be one plain topic level")
    service = []
    for user in users:
        service += [
            f"user {user}",
            *([f"topic read $share/{shared_group}/{topic_root}/+/mrq"] if shared_group else []),
            f"topic read {topic_root}/+/mrq",
            f"topic write {topic_root}/+/mrs",
            f"topic read {topic_root}/+/status",
        ]
    if gateway_user and gateway_user not in users:
        service += [
            "",
            "# The SIP edge publishes each authenticated unit's MESSAGE and relays its answers.",
            f"user {gateway_user}",
            f"topic write {topic_root}/+/mrq",
            f"topic read {topic_root}/+/mrs",
        ]
    return "\n".join(
        [
            "# Generated by `lifeline units provision`; edits are overwritten.",
            "# The ARC service reads every unit's requests and answers every unit.",
            *service,
            "",
            "# Every unit logs in with its cid as username and may touch only its own topics.",
            f"pattern write {topic_root}/%u/mrq",
            f"pattern read {topic_root}/%u/mrs",
            f"pattern write {topic_root}/%u/status",
            "",
        ]
    )


def write_acl(
    acl_file: Path,
    topic_root: str,
    service_user: str,
    shared_group: str | None = None,
    gateway_user: str | None = None,
) -> bool:
    """Write the ACL file if its content changed; True when it was (re)written."""
    text = render_acl(topic_root, service_user, shared_group, gateway_user)
    with _locked(acl_file):
        if acl_file.exists() and acl_file.read_text() == text:
            return False
        _write_atomically(acl_file, text)
        return True


# --- SIP Digest (the SIP edge, deploy/kamailio) ------------------------------------------


def sip_ha1(username: str, realm: str, password: str) -> str:
    """RFC 2617 HA1 = MD5(username:realm:password), what the SIP edge's auth_db reads.

    MD5 is the Digest algorithm units implement; the stored HA1 opens only this realm,
    and the secret is 192 random bits (it is the same one the unit uses on MQTT).
    """
    if ":" in username or ":" in realm:
        raise ValueError("SIP username and realm must contain no ':'")
    return hashlib.md5(f"{username}:{realm}:{password}".encode(), usedforsecurity=False).hexdigest()

"""Mosquitto's dynamic security plugin: the JSON the service sends and the broker's first config.

A broker run with ``mosquitto_dynamic_security.so`` (deploy/mosquitto/mosquitto-dynsec.conf) keeps
its logins and ACLs in one JSON file it rewrites itself, and changes them at once, without a
reload, when an admin client publishes ``{"commands": [...]}`` to ``$CONTROL/dynamic-security/v1``;
the broker answers ``{"responses": [{"command", "error"?, "correlationData"?}, ...]}`` on
``.../response``. This module only builds and reads those documents (no network).

Mosquitto 2.0.11's dynsec ACL topics are literal filters: no ``%u``/``%c`` substitution (its
``acl.c`` matches the topic as written). So each unit gets its **own role**, ``unit-<cid>``, whose
ACLs name its own topics — write ``{root}/<cid>/mrq`` and ``status``, read ``{root}/<cid>/mrs`` —
and the default access is deny for everything, receiving included.
"""

from __future__ import annotations

import base64
import hashlib
import os
from collections.abc import Iterable

from devices.credentials import CID_RE, DEFAULT_ITERATIONS, SALT_BYTES, check_cid

CONTROL_TOPIC = "$CONTROL/dynamic-security/v1"
RESPONSE_TOPIC = f"{CONTROL_TOPIC}/response"
ADMIN_ROLE, SERVICE_ROLE, GATEWAY_ROLE = "lifeline-admin", "lifeline-service", "lifeline-sip-edge"


def unit_role(cid: str) -> str:
    return f"unit-{check_cid(cid)}"


def _acl(kind: str, topic: str) -> dict:
    return {"acltype": kind, "topic": topic, "allow": True, "priority": 0}


def unit_acls(topic_root: str, cid: str) -> list[dict]:
    """What the shipped Mosquitto ACL's ``pattern`` lines give a unit, spelled out for one cid."""
    base = f"{topic_root}/{check_cid(cid)}"
    return [
        _acl("publishClientSend", f"{base}/mrq"),
        _acl("publishClientSend", f"{base}/status"),
        _acl("subscribeLiteral", f"{base}/mrs"),
        _acl("publishClientReceive", f"{base}/mrs"),
    ]


def give_unit(topic_root: str, cid: str, password: str) -> list[dict]:
    """One batch (the broker runs it in order): the unit's role, any old login gone (its sessions
    are dropped), the login again with the new password and that role."""
    role = unit_role(cid)
    return [
        {"command": "createRole", "rolename": role, "acls": unit_acls(topic_root, cid)},
        {"command": "deleteClient", "username": cid},
        {"command": "createClient", "username": cid, "password": password, "roles": [{"rolename": role}]},
    ]


def take_unit(cid: str) -> list[dict]:
    """The unit's login and role removed; the broker drops its connected sessions at once."""
    return [
        {"command": "deleteClient", "username": check_cid(cid)},
        {"command": "deleteRole", "rolename": unit_role(cid)},
    ]


# what the broker answers when the state already is what the command wants
HARMLESS = {
    "createRole": "Role already exists",
    "deleteClient": "Client not found",
    "deleteRole": "Role not found",
}


def correlate(commands: list[dict], tag: str) -> list[dict]:
    """The commands with ``correlationData`` ``tag:<n>``, so their answers can be told apart."""
    return [{**c, "correlationData": f"{tag}:{n}"} for n, c in enumerate(commands)]


def answers_for(payload: dict, tag: str) -> dict[int, dict]:
    """The answers in one response message that belong to the batch ``tag``, by command index."""
    found = {}
    for answer in payload.get("responses") or []:
        mark = str(answer.get("correlationData") or "")
        prefix, _, index = mark.rpartition(":")
        if prefix == tag and index.isdigit():
            found[int(index)] = answer
    return found


def failures(commands: list[dict], answers: dict[int, dict]) -> list[str]:
    """``"command: error"`` for each answer that is an error, harmless ones aside."""
    out = []
    for n, command in enumerate(commands):
        error = (answers.get(n) or {}).get("error")
        if error and HARMLESS.get(command["command"]) != error:
            out.append(f"{command['command']}: {error}")
    return out


# --- the broker's first config file ------------------------------------------------------------


def client_entry(username: str, password: str, roles: Iterable[str], *, salt: bytes | None = None) -> dict:
    """A client as dynsec stores it: PBKDF2-HMAC-SHA512, 12-byte salt, 101 iterations, base64."""
    salt = salt if salt is not None else os.urandom(SALT_BYTES)
    digest = hashlib.pbkdf2_hmac("sha512", password.encode(), salt, DEFAULT_ITERATIONS)
    return {
        "username": username,
        "password": base64.b64encode(digest).decode(),
        "salt": base64.b64encode(salt).decode(),
        "iterations": DEFAULT_ITERATIONS,
        "roles": [{"rolename": r} for r in roles],
    }


def initial_config(
    topic_root: str,
    logins: dict[str, str],
    *,
    admin: str,
    services: list[str],
    gateway: str | None,
    shared_group: str | None,
) -> dict:
    """The file a new broker starts from: the admin login (may only use the control topic), the
    service logins (read every ``mrq``/``status``, answer every ``mrs``), the SIP edge (write
    every ``mrq``, read every ``mrs``); no unit yet; everything else denied, receiving included.
    ``logins`` maps each of these usernames to its password."""
    names = [admin, *services, *([gateway] if gateway else [])]
    if any(CID_RE.match(name) for name in names) or len(set(names)) != len(names):
        raise ValueError("admin, service and SIP edge logins must differ and not be digits-only (units are)")
    every = f"{topic_root}/+"
    service = [
        *([_acl("subscribePattern", f"$share/{shared_group}/{every}/mrq")] if shared_group else []),
        _acl("subscribePattern", f"{every}/mrq"),
        _acl("subscribePattern", f"{every}/status"),
        _acl("publishClientReceive", f"{every}/mrq"),
        _acl("publishClientReceive", f"{every}/status"),
        _acl("publishClientSend", f"{every}/mrs"),
    ]
    roles = [
        {
            "rolename": ADMIN_ROLE,
            "acls": [
                _acl("publishClientSend", CONTROL_TOPIC),
                _acl("subscribeLiteral", RESPONSE_TOPIC),
                _acl("publishClientReceive", RESPONSE_TOPIC),
            ],
        },
        {"rolename": SERVICE_ROLE, "acls": service},
    ]
    clients = [client_entry(admin, logins[admin], [ADMIN_ROLE])]
    clients += [client_entry(name, logins[name], [SERVICE_ROLE]) for name in services]
    if gateway:
        roles.append(
            {
                "rolename": GATEWAY_ROLE,
                "acls": [
                    _acl("publishClientSend", f"{every}/mrq"),
                    _acl("subscribePattern", f"{every}/mrs"),
                    _acl("publishClientReceive", f"{every}/mrs"),
                ],
            }
        )
        clients.append(client_entry(gateway, logins[gateway], [GATEWAY_ROLE]))
    return {
        "defaultACLAccess": {
            "publishClientSend": False,
            "publishClientReceive": False,
            "subscribe": False,
            "unsubscribe": True,
        },
        "clients": clients,
        "groups": [],
        "roles": roles,
    }

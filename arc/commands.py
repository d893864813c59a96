"""``lifeline user add``, ``units provision|revoke``, ``keys rotate`` and ``purge``.

Secrets are never taken from the command line (argv shows in ``ps`` and shell
history): a user's password is prompted for, or read from standard input.

Every ``lifeline`` invocation (``lifeline ingest`` too) builds these subcommands' parsers, so only
what parsing needs is imported here; each command imports its own machinery when it runs.
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from arc.audit.service import record
from arc.auth.models import ROLES
from arc.kit.clock import Clock
from arc.kit.db import make_engine, make_sessionmaker, session_scope
from arc.kit.errors import AppError, NotFound
from arc.kit.settings import Settings
from devices import credentials, dynsec

if TYPE_CHECKING:
    from arc.registry.broker_logins import BrokerLogins


class CommandError(Exception):
    """A refusal the command prints (exit status 2) rather than a crash."""


@asynccontextmanager
async def database(settings: Settings) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    from arc.runtime import resolved_services  # the embedded PostgreSQL when none is configured

    async with resolved_services(settings, broker_needed=False) as live:
        engine = make_engine(live.database_url, pool_size=1)
        try:
            yield make_sessionmaker(engine)
        finally:
            await engine.dispose()


def _cli_actor() -> str:
    try:
        return f"cli:{getpass.getuser()}"[:64]
    except Exception:  # no login name in a container
        return "cli"


def read_password(prompt: str = "Password: ") -> str:
    """Prompt twice on a terminal; otherwise read one line from standard input."""
    if sys.stdin.isatty():
        first = getpass.getpass(prompt)
        if getpass.getpass("Again: ") != first:
            raise CommandError("passwords differ")
        return first
    return sys.stdin.readline().rstrip("\r\n")


# --- user add -----------------------------------------------------------------


def _user_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="user_command", required=True)
    add = sub.add_parser("add", help="create a user (password prompted for, or read from stdin)")
    add.add_argument("--username", required=True)
    add.add_argument("--role", required=True, choices=ROLES)
    add.add_argument("--full-name", default=None)


async def user_add(settings: Settings, args: argparse.Namespace) -> dict:
    from arc.auth.service import check_user_fields, create_user  # argon2: a hash at import

    username = args.username.strip()  # as the API does; then the same rules (arc.auth.service)
    full_name = (args.full_name or username).strip()
    try:
        check_user_fields(username, full_name)
    except AppError as exc:
        raise CommandError(exc.detail) from None  # before the password prompt
    password = read_password()
    async with database(settings) as maker, session_scope(maker) as session:
        user = await create_user(
            session,
            username=username,
            full_name=full_name,
            role=args.role,
            password=password,
            now=Clock().now(),
        )
        await record(
            session,
            actor=_cli_actor(),
            action="create",
            object_type="user",
            object_id=user.id,
            detail={"role": user.role},
        )
        return {"id": user.id, "username": user.username, "role": user.role}


# --- units provision / revoke -------------------------------------------------


def _units_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="units_command", required=True)
    for name, text in (
        ("provision", "give a unit its own login (one secret: MQTT broker and SIP Digest)"),
        ("revoke", "remove a unit's login"),
    ):
        cmd = sub.add_parser(name, help=text)
        cmd.add_argument("cid")
        cmd.add_argument(
            "--passwd-file", type=Path, help="Mosquitto password file (LIFELINE_MOSQUITTO_PASSWD_FILE)"
        )
        cmd.add_argument("--acl-file", type=Path, help="Mosquitto ACL file (LIFELINE_MOSQUITTO_ACL_FILE)")
    init = sub.add_parser(
        "dynsec-init", help="write a new broker's dynamic-security file (admin, service, SIP edge logins)"
    )
    init.add_argument("file", type=Path, help="the plugin's plugin_opt_config_file")


def _logins(settings: Settings, args: argparse.Namespace) -> BrokerLogins:
    from arc.registry.broker_logins import logins_for

    if settings.broker_credentials == "dynsec":
        return logins_for(settings)
    passwd = getattr(args, "passwd_file", None) or settings.mosquitto_passwd_file
    acl = getattr(args, "acl_file", None) or settings.mosquitto_acl_file
    if passwd is None or acl is None:
        raise CommandError(
            "set LIFELINE_MOSQUITTO_PASSWD_FILE and LIFELINE_MOSQUITTO_ACL_FILE (or --passwd-file/--acl-file), "
            "or LIFELINE_BROKER_CREDENTIALS=dynsec"
        )
    return logins_for(settings, passwd=passwd, acl=acl)


async def units_command(settings: Settings, args: argparse.Namespace) -> dict:
    """The admin page's provision / revoke (arc.registry.unit_credentials), from the host."""
    from arc.registry.broker_logins import FileLogins
    from arc.registry.unit_credentials import provision, revoke

    if args.units_command == "dynsec-init":
        return dynsec_init(settings, args)
    cid = credentials.check_cid(args.cid)
    logins = _logins(settings, args)
    now = Clock().now()
    async with database(settings) as maker, session_scope(maker) as session:
        if args.units_command == "provision":
            try:
                issued = await provision(
                    session, logins, cid, realm=settings.sip_realm, now=now, actor=_cli_actor()
                )
            except NotFound as exc:
                raise CommandError(exc.detail) from None
            result = {
                "cid": cid,
                "username": cid,
                "password": issued.password,
                "sip_realm": settings.sip_realm,
            }
        else:
            taken = await revoke(session, logins, cid, now=now, actor=_cli_actor(), registered_only=False)
            result = {"cid": cid, "revoked": taken.had_login}
    result["broker"] = logins.kind
    if isinstance(logins, FileLogins):
        result |= {"passwd_file": str(logins.passwd), "acl_file": str(logins.acl)}
        result["next"] = "reload the broker (kill -HUP <mosquitto pid>) so it reads the changed files"
    return result


def dynsec_init(settings: Settings, args: argparse.Namespace) -> dict:
    """The dynamic security plugin's first config file: admin, service and SIP edge logins (their
    passwords printed once), the roles, everything else denied. Refuses to overwrite a file."""
    path: Path = args.file
    if path.exists():
        raise CommandError(f"{path} exists; the broker keeps it up to date itself, so it is not replaced")
    services = [name.strip() for name in settings.mqtt_service_username.split(",") if name.strip()]
    names = [settings.dynsec_username, *services, settings.sip_gateway_username]
    logins = {name: credentials.generate_password() for name in names}
    config = dynsec.initial_config(
        settings.mqtt_topic_root,
        logins,
        admin=settings.dynsec_username,
        services=services,
        gateway=settings.sip_gateway_username,
        shared_group=settings.mqtt_shared_group,
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump(config, handle, indent=2)
    return {
        "file": str(path),
        "logins": logins,
        "next": "make it the broker's (chown mosquitto: it rewrites the file), point plugin_opt_config_file at it "
        "(deploy/mosquitto/mosquitto-dynsec.conf), start the broker, "
        f"and set LIFELINE_BROKER_CREDENTIALS=dynsec LIFELINE_DYNSEC_USERNAME={settings.dynsec_username} "
        "LIFELINE_DYNSEC_PASSWORD=<its password above>; the service logins go in LIFELINE_MQTT_URL",
    }


# --- keys rotate ----------------------------------------------------------------


def _keys_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="keys_command", required=True)
    sub.add_parser(
        "rotate", help="re-encrypt key-safe data under LIFELINE_DATA_KEY (retired keys must still be set)"
    )


async def keys_rotate(settings: Settings, args: argparse.Namespace) -> dict:
    from arc.kit.crypto import DataCipher
    from arc.registry.keyrotation import rotate_keys

    cipher = DataCipher.from_settings(settings)
    async with database(settings) as maker, session_scope(maker) as session:
        report = await rotate_keys(session, cipher)
        await record(
            session,
            actor=_cli_actor(),
            action="rotate",
            object_type="data_key",
            object_id=report.current_key,
            detail={"rotated": report.rotated, "unreadable": len(report.unreadable)},
        )
    if report.unreadable:
        raise CommandError(
            f"{len(report.unreadable)} values opened by no configured key: customers {report.unreadable}"
        )
    return asdict(report)


# --- purge --------------------------------------------------------------------------


def _purge_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--dry-run", action="store_true", help="list who would be erased; change nothing")


async def purge_command(settings: Settings, args: argparse.Namespace) -> dict:
    from arc.erasure import purge

    async with database(settings) as maker, session_scope(maker) as session:
        report = await purge(session, Clock().now(), settings, dry_run=args.dry_run, actor=_cli_actor())
    return {**asdict(report), "dry_run": args.dry_run}


def _printing(runner):
    async def _run(settings: Settings, args: argparse.Namespace) -> None:
        try:
            result = await runner(settings, args)
        except (CommandError, ValueError, AppError) as exc:
            print(f"lifeline: {exc}", file=sys.stderr)
            raise SystemExit(2) from None
        print(json.dumps(result, indent=2, default=str))

    return _run


async def _user(settings: Settings, args: argparse.Namespace) -> dict:
    return await user_add(settings, args)


SECURITY_COMMANDS: dict[str, tuple] = {
    "user": ("manage users: `user add --username U --role R`", _user_arguments, _printing(_user)),
    "units": (
        "unit broker credentials: `units provision <cid>` / `units revoke <cid>` / `units dynsec-init FILE`",
        _units_arguments,
        _printing(units_command),
    ),
    "keys": ("data keys: `keys rotate`", _keys_arguments, _printing(keys_rotate)),
    "purge": (
        "erase withdrawn customers past the retention period",
        _purge_arguments,
        _printing(purge_command),
    ),
}

"""``lifeline user add``, ``units provision|revoke``, ``keys rotate`` and ``purge``.

Secrets are never taken from the command line (argv shows in ``ps`` and shell
history): a user's password is prompted for, or read from standard input.
"""

from __future__ import annotations

import argparse
import getpass
import json
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import asdict
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from arc.audit.service import record
from arc.auth.models import ROLES
from arc.auth.service import check_user_fields, create_user
from arc.erasure import purge
from arc.kit.clock import Clock
from arc.kit.crypto import DataCipher
from arc.kit.db import make_engine, make_sessionmaker, session_scope
from arc.kit.errors import AppError
from arc.kit.settings import Settings
from arc.registry.keyrotation import rotate_keys
from arc.registry.sip import remove_sip_secret, set_sip_secret
from arc.registry.units import Unit
from arc.runtime import resolved_services
from devices import credentials


class CommandError(Exception):
    """A refusal the command prints (exit status 2) rather than a crash."""


@asynccontextmanager
async def database(settings: Settings) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
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


def _paths(settings: Settings, args: argparse.Namespace) -> tuple[Path, Path]:
    passwd = args.passwd_file or settings.mosquitto_passwd_file
    acl = args.acl_file or settings.mosquitto_acl_file
    if passwd is None or acl is None:
        raise CommandError(
            "set LIFELINE_MOSQUITTO_PASSWD_FILE and LIFELINE_MOSQUITTO_ACL_FILE (or --passwd-file/--acl-file)"
        )
    return passwd, acl


async def units_command(settings: Settings, args: argparse.Namespace) -> dict:
    cid = credentials.check_cid(args.cid)
    passwd, acl = _paths(settings, args)
    async with database(settings) as maker, session_scope(maker) as session:
        unit_id = await session.scalar(select(Unit.id).where(Unit.cid == cid))
        if args.units_command == "provision":
            if unit_id is None:
                raise CommandError(f"unit {cid} is not registered; register it first (POST /api/units)")
            credentials.write_acl(
                acl,
                settings.mqtt_topic_root,
                settings.mqtt_service_username,
                settings.mqtt_shared_group,
                settings.sip_gateway_username,
            )
            password = credentials.provision_unit(passwd, cid)
            await set_sip_secret(session, unit_id, cid, settings.sip_realm, password)
            result = {
                "cid": cid,
                "username": cid,
                "password": password,
                "sip_realm": settings.sip_realm,
                "passwd_file": str(passwd),
                "acl_file": str(acl),
            }
        else:
            removed = credentials.revoke_unit(passwd, cid)
            removed_sip = await remove_sip_secret(session, cid)
            result = {"cid": cid, "revoked": removed or removed_sip}
        await record(
            session,
            actor=_cli_actor(),
            action=args.units_command,
            object_type="unit_credentials",
            object_id=cid,
            detail={"unit_id": unit_id},
        )
    result["next"] = "reload the broker (kill -HUP <mosquitto pid>) so it reads the changed files"
    return result


# --- keys rotate ----------------------------------------------------------------


def _keys_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="keys_command", required=True)
    sub.add_parser(
        "rotate", help="re-encrypt key-safe data under LIFELINE_DATA_KEY (retired keys must still be set)"
    )


async def keys_rotate(settings: Settings, args: argparse.Namespace) -> dict:
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
        "unit broker credentials: `units provision <cid>` / `units revoke <cid>`",
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

"""The ``lifeline`` command: demo, serve, migrate and friends.

Every invocation builds the whole parser, so this module and the subcommands' argument functions
import only what parsing needs; each runner imports its own machinery. ``lifeline ingest`` (the
process a supervisor restarts after a crash, receiving no alarm until it has subscribed) thus loads
the ingest worker and not the web app, billing, PDF or statistics code
(tests/arc/test_ingest_start.py; simulators/bench_restart.py measures the start).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import sys
import time
from datetime import timedelta
from typing import TYPE_CHECKING

from arc.commands import SECURITY_COMMANDS
from arc.kit.logs import configure_logging
from arc.kit.settings import Settings, get_settings
from billing.cli import COMMAND as BILLING_COMMAND

if TYPE_CHECKING:
    import uvicorn

log = logging.getLogger("lifeline")

# Extra subcommands register themselves here: name -> (help, add_arguments, async runner)
EXTRA_COMMANDS: dict[str, tuple] = {}
EXTRA_COMMANDS.update(SECURITY_COMMANDS)
EXTRA_COMMANDS["billing"] = BILLING_COMMAND


# --- lifeline ingest / simulate (arc/ingest, simulators) ---
def _no_arguments(parser: argparse.ArgumentParser) -> None:
    return None


async def _run_ingest(settings: Settings, args: argparse.Namespace) -> None:
    from arc.ingest.worker import run_ingest

    if not (settings.database_url and settings.mqtt_url):
        raise SystemExit("lifeline ingest needs LIFELINE_DATABASE_URL and LIFELINE_MQTT_URL")
    await run_ingest(settings, args)


def _simulate_arguments(parser: argparse.ArgumentParser) -> None:
    from simulators.cli import add_arguments

    add_arguments(parser)


async def _run_simulate(settings: Settings, args: argparse.Namespace) -> None:
    from simulators.cli import run

    await run(settings.mqtt_url, settings.mqtt_topic_root, args)


def demo_cids(units: int) -> list[str]:
    from simulators.cli import DEFAULT_CID_BASE  # the seeded demo units (arc/seed.py)

    return [str(DEFAULT_CID_BASE + i) for i in range(units)]


def _start_fleet(settings: Settings, units: int) -> asyncio.Task | None:
    """The demo's simulated fleet: the seeded units, over MQTT like real ones."""
    if units <= 0:
        return None
    from simulators.fleet import Fleet

    url = settings.simulator_mqtt_url or settings.mqtt_url  # the fleet's own login when it has one
    fleet = Fleet(url, settings.mqtt_topic_root, demo_cids(units), alarm_every_s=300.0)

    async def _run() -> None:
        runner = asyncio.create_task(fleet.run(), name="demo-fleet-units")
        try:
            # so a new operator sees an alarm on the dashboard within seconds, not minutes
            await asyncio.wait_for(fleet.connected.wait(), timeout=30)
            await asyncio.sleep(5)
            first = next(iter(fleet.units.values()))
            asyncio.create_task(first.activate(dty="0005", stc="0009", did="F1"), name="demo-first-alarm")  # noqa: RUF006
            await runner
        finally:
            runner.cancel()

    return asyncio.create_task(_run(), name="demo-fleet")


async def _stop_fleet(task: asyncio.Task | None) -> None:
    if task is not None:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


EXTRA_COMMANDS["ingest"] = (
    "run only the unit ingest (external database and broker)",
    _no_arguments,
    _run_ingest,
)
EXTRA_COMMANDS["simulate"] = ("run virtual Lifeline units over MQTT", _simulate_arguments, _run_simulate)
# --- end ingest / simulate ---


# --- lifeline registry import FILE (arc/registry/importer.py) ---
def _registry_arguments(parser: argparse.ArgumentParser) -> None:
    action = parser.add_subparsers(dest="registry_command", required=True)
    imp = action.add_parser("import", help="bring customers over from a .csv or .xlsx file")
    imp.add_argument("file", help="FILE.csv or FILE.xlsx (columns: docs/registry-import.md)")
    imp.add_argument("--dry-run", action="store_true", help="check every row; write nothing")
    imp.add_argument("--valid-only", action="store_true", help="write the valid rows even if some are not")


async def _run_registry(settings: Settings, args: argparse.Namespace) -> None:
    import json
    from dataclasses import asdict
    from pathlib import Path

    from arc.commands import _cli_actor, database
    from arc.kit.crypto import DataCipher
    from arc.kit.db import session_scope
    from arc.kit.errors import AppError
    from arc.registry.importer import import_customers
    from arc.registry.referral import Actor

    path = Path(args.file)
    try:
        content = await asyncio.to_thread(path.read_bytes)
        async with database(settings) as maker, session_scope(maker) as session:
            report = await import_customers(
                session,
                path.name,
                content,
                DataCipher.from_settings(settings),
                Actor(_cli_actor()),
                dry_run=args.dry_run,
                valid_only=args.valid_only,
            )
    except (OSError, AppError) as exc:
        print(f"lifeline: {getattr(exc, 'detail', exc)}", file=sys.stderr)
        raise SystemExit(2) from None
    print(json.dumps(asdict(report), indent=2, default=str))
    if report.problems and not report.written:
        raise SystemExit(1)


EXTRA_COMMANDS["registry"] = (
    "customer registry: `registry import FILE.csv|xlsx`",
    _registry_arguments,
    _run_registry,
)
# --- end registry ---


def app_components(settings: Settings) -> list:
    """Everything that runs beside the HTTP API in one service process."""
    from arc.ingest.worker import ingest_component
    from arc.jobs import job_worker, scheduler_component
    from arc.live.stream import live_stream

    return [live_stream, ingest_component, scheduler_component, job_worker]


def server_config(app, settings: Settings, **overrides) -> uvicorn.Config:
    """How uvicorn serves the app. Forwarding headers are believed only from the proxies in
    LIFELINE_FORWARDED_ALLOW_IPS (uvicorn's own default trusts 127.0.0.1, so anything on the host
    could forge the audited client address and dodge the per-address log-in limit)."""
    import uvicorn

    proxies = [ip.strip() for ip in settings.forwarded_allow_ips.split(",") if ip.strip()]
    options = dict(
        host=settings.host,
        port=settings.port,
        log_config=None,
        access_log=False,
        limit_concurrency=1000,
        timeout_graceful_shutdown=10,  # backstop; LiveAwareServer ends the event streams first
        proxy_headers=bool(proxies),
        forwarded_allow_ips=proxies or "",
    )
    if (
        settings.tls_certfile is not None
    ):  # HTTPS on the same port (docker-compose.yml, deploy/make-test-ca.sh)
        options.update(ssl_certfile=str(settings.tls_certfile), ssl_keyfile=str(settings.tls_keyfile))
    options.update(overrides)
    return uvicorn.Config(app, **options)


async def _serve(settings: Settings, *, seed: bool, fleet: int) -> None:
    from arc import migrate
    from arc.app import create_app
    from arc.live.server import LiveAwareServer
    from arc.runtime import resolved_services

    started = time.perf_counter()
    async with resolved_services(settings, fleet_cids=demo_cids(fleet)) as live:
        if settings.mqtt_url is None and live.mqtt_protocol == "auto":
            live = live.model_copy(update={"mqtt_protocol": "3.1.1"})  # the embedded amqtt speaks 3.1.1
        await migrate.upgrade(live.database_url)
        log.info("database schema at head")
        if seed:
            await _seed(live)
        app = create_app(live, components=app_components(live))
        server = LiveAwareServer(server_config(app, live))
        log.info("start-up took %.1f s", time.perf_counter() - started)
        fleet_task = _start_fleet(live, fleet)
        try:
            await server.serve()
        finally:
            await _stop_fleet(fleet_task)


async def _seed(settings: Settings) -> None:
    from arc.history.demo import seed_history
    from arc.kit.crypto import DataCipher
    from arc.kit.db import make_engine, make_sessionmaker, session_scope
    from arc.seed import demo_cids, print_demo_users, seed_demo, seed_demo_users
    from billing import demo as billing_demo

    engine = make_engine(settings.database_url, pool_size=1)
    try:
        async with session_scope(make_sessionmaker(engine)) as session:
            today = (time_now() - timedelta(weeks=8)).astimezone(settings.zone).date()
            added = await seed_demo(session, install_date=today, cipher=DataCipher.from_settings(settings))
            await seed_history(session, demo_cids(), now=time_now())  # months of calls for the TEC pages
            users = await seed_demo_users(session, settings, now=time_now())
            await billing_demo.seed(session, now=time_now())  # a billing history for finance
        log.info("demo data: %d customers added", added)
        print_demo_users(users, settings)
    finally:
        await engine.dispose()


def time_now():
    from arc.kit.clock import Clock

    return Clock().now()


async def _migrate(settings: Settings) -> None:
    from arc import migrate
    from arc.runtime import resolved_services

    async with resolved_services(
        settings.model_copy(update={"mqtt_url": settings.mqtt_url or "mqtt://unused"})
    ) as live:
        await migrate.upgrade(live.database_url)
        log.info("database schema at head (%s)", ", ".join(sorted(migrate.head_revisions())))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="lifeline", description="Lifeline ARC: alarm receiving and billing")
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser(
        "demo", help="embedded PostgreSQL + broker, demo data, simulated fleet, API on :8080"
    )
    demo.add_argument("--units", type=int, default=6, help="simulated units (0 for none)")
    demo.add_argument("--port", type=int, help="HTTP port (default LIFELINE_PORT or 8080)")
    serve = sub.add_parser(
        "serve",
        help="run the service against LIFELINE_DATABASE_URL / LIFELINE_MQTT_URL",
        epilog="SIP (SCAIP) units: run Kamailio beside it with deploy/kamailio/kamailio.cfg, e.g. "
        "kamailio -DD -E -f deploy/kamailio/kamailio.cfg -A 'DB_URL=\"postgres://kamailio:PASS@db/lifeline\"' "
        "-A 'MQTT_HOST=\"broker\"' -A 'MQTT_USER=\"kamailio\"' -A 'MQTT_PASSWORD=\"PASS\"' "
        "(README: SIP units). The edge publishes to the same {root}/{cid}/mrq topics this service reads.",
    )
    serve.add_argument("--port", type=int, help="HTTP port (default LIFELINE_PORT or 8080)")
    sub.add_parser("migrate", help="upgrade the database schema to head")
    for name, (help_text, add_arguments, _) in EXTRA_COMMANDS.items():
        add_arguments(sub.add_parser(name, help=help_text))
    args = parser.parse_args(argv)

    try:
        settings = get_settings()
    except ValueError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return 2
    if getattr(args, "port", None):
        settings = settings.model_copy(update={"port": args.port})
    configure_logging(settings.log_level)

    if args.command in ("demo", "serve"):
        # SIGTERM (docker stop, systemd, kill) ends the service like Ctrl-C does: every finally runs,
        # so the embedded PostgreSQL and broker stop with it. uvicorn hands a captured SIGTERM back to
        # this handler once it has shut down; the default action would kill the process first.
        signal.signal(signal.SIGTERM, signal.default_int_handler)
    if args.command == "demo":
        runner = _serve(settings, seed=True, fleet=args.units)
    elif args.command == "serve":
        if settings.env == "production" and not (settings.database_url and settings.mqtt_url):
            print("serve in production needs LIFELINE_DATABASE_URL and LIFELINE_MQTT_URL", file=sys.stderr)
            return 2
        runner = _serve(settings, seed=False, fleet=0)
    elif args.command == "migrate":
        runner = _migrate(settings)
    else:
        runner = EXTRA_COMMANDS[args.command][2](settings, args)
    try:
        asyncio.run(runner)
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

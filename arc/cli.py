"""The ``lifeline`` command: demo, serve, migrate and friends."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import time
from datetime import timedelta

import uvicorn

from arc import migrate
from arc.app import create_app
from arc.observability import configure_logging
from arc.runtime import resolved_services
from arc.settings import Settings, get_settings

log = logging.getLogger("lifeline")

# Extra subcommands register themselves here: name -> (help, add_arguments, async runner)
EXTRA_COMMANDS: dict[str, tuple] = {}


def app_components(settings: Settings) -> list:
    """Everything that runs beside the HTTP API in one service process."""
    from arc.ingest.worker import ingest_component
    from arc.scheduler import scheduler_component
    from arc.live.stream import live_stream

    return [live_stream, ingest_component, scheduler_component]


async def _serve(settings: Settings, *, seed: bool, fleet: int) -> None:
    started = time.perf_counter()
    async with resolved_services(settings) as live:
        await migrate.upgrade(live.database_url)
        log.info("database schema at head")
        if seed:
            await _seed(live)
        app = create_app(live, components=app_components(live))
        config = uvicorn.Config(
            app, host=live.host, port=live.port, log_config=None, access_log=False, limit_concurrency=1000
        )
        server = uvicorn.Server(config)
        log.info("start-up took %.1f s", time.perf_counter() - started)
        await server.serve()


async def _seed(settings: Settings) -> None:
    from arc.db import make_engine, make_sessionmaker, session_scope
    from arc.seed import seed_demo

    engine = make_engine(settings.database_url, pool_size=1)
    try:
        async with session_scope(make_sessionmaker(engine)) as session:
            today = (time_now() - timedelta(weeks=8)).astimezone(settings.zone).date()
            added = await seed_demo(session, install_date=today)
        log.info("demo data: %d customers added", added)
    finally:
        await engine.dispose()


def time_now():
    from arc.clock import Clock

    return Clock().now()


async def _migrate(settings: Settings) -> None:
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
    serve = sub.add_parser("serve", help="run the service against LIFELINE_DATABASE_URL / LIFELINE_MQTT_URL")
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

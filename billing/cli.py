"""``lifeline billing ...``: runs, the daily job, income, exports and prices, from a terminal.

Mounted by the composition layer (arc/cli.py) as ``EXTRA_COMMANDS["billing"] = COMMAND``.
Bad input is a one-line error naming the problem, exit status 2, and nothing written.

Every ``lifeline`` command (``lifeline ingest`` too) builds this parser, so only what parsing needs
is imported here (the argument types); the billing machinery is imported when a command runs.
"""

from __future__ import annotations

import argparse
import sys
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from billing.exports import FORMATS
from billing.money import money, parse_pounds
from billing.periods import Quarter

if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Table

    from billing.runs import RunSummary
    from billing.settings import BillingSettings


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date (YYYY-MM-DD)") from exc


def _quarter(text: str) -> Quarter:
    try:
        return Quarter.parse(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc


def _pence(text: str) -> int:
    try:
        return parse_pounds(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="billing_command", required=True)
    run = sub.add_parser("run", help="invoice a quarter in advance (and raise the credit notes due)")
    run.add_argument("--quarter", type=_quarter, required=True, help="e.g. 2027Q2 = 1 April - 30 June 2027")
    run.add_argument("--dry-run", action="store_true", help="compute and show, write nothing")
    run.add_argument("--batch-size", type=int, help="connections per committed batch")
    sub.add_parser("daily", help="first invoices as trials end, credit notes for withdrawals and waivers")
    inc = sub.add_parser("income", help="income of a financial year by service period")
    inc.add_argument("--fy", type=int, required=True, help="2027 = 1 April 2027 - 31 March 2028")
    exp = sub.add_parser("export", help="one row per document issued in a date range")
    exp.add_argument("--from", dest="start", type=_date, required=True)
    exp.add_argument("--to", dest="end", type=_date, required=True)
    exp.add_argument("--format", choices=FORMATS, default="csv")
    exp.add_argument("--output", type=Path, required=True)
    price = sub.add_parser("price", help="add a weekly price to a tariff from a date")
    price.add_argument("--tariff", default="standard")
    price.add_argument("--weekly", type=_pence, required=True, help="pounds, e.g. 5.50")
    price.add_argument("--from", dest="effective_from", type=_date, required=True)


def _summary_table(summary: RunSummary) -> Table:
    from rich.table import Table

    title = f"Billing run {summary.quarter}" + (" (dry run: nothing written)" if summary.dry_run else "")
    table = Table(title=title)
    table.add_column("")
    table.add_column("count", justify="right")
    table.add_column("amount", justify="right")
    table.add_row("connections looked at", str(summary.connections), "")
    table.add_row("invoices", str(summary.invoices), money(summary.invoiced_pence))
    table.add_row("  of which first invoices", str(summary.by_reason.get("first", 0)), "")
    table.add_row("credit notes", str(summary.credit_notes), money(summary.credited_pence))
    table.add_row("waived (income forgone)", "", money(summary.waived_pence))
    if summary.resumed:
        table.caption = f"resumed an interrupted run (run {summary.run_id})"
    return table


async def _run(maker, args, billing: BillingSettings, console: Console) -> None:
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from arc.kit.clock import Clock
    from billing.runs import run_quarter

    if args.batch_size:
        if args.batch_size < 1:
            raise ValueError("--batch-size must be at least 1")
        billing = billing.model_copy(update={"run_batch_size": args.batch_size})
    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        transient=False,
    ) as bar:
        task = bar.add_task(f"invoicing {args.quarter}", total=None)

        def progress(done: int, todo: int) -> None:
            bar.update(task, completed=done, total=max(todo, done))

        summary = await run_quarter(
            maker, args.quarter, now=Clock().now(), settings=billing, dry_run=args.dry_run, progress=progress
        )
        bar.update(task, total=max(summary.connections, 1), completed=max(summary.connections, 1))
    console.print(_summary_table(summary))


async def _income(maker, args, console: Console) -> None:
    from rich.table import Table

    from billing.reports import income

    async with maker() as s:
        report = await income(s, args.fy)
    table = Table(title=f"Income by service period, financial year {args.fy}/{(args.fy + 1) % 100:02d}")
    for name in ("period", "invoiced", "credited", "waived", "net"):
        table.add_column(name, justify="left" if name == "period" else "right")
    for row in [*report.quarters, report.total]:
        table.add_row(row.label, money(row.invoiced), money(row.credited), money(row.waived), money(row.net))
    console.print(table)
    console.print(
        f"Invoiced before 1 April {args.fy} for this year's service (brought in): {money(report.brought_in)}"
    )
    console.print(
        f"Invoiced this year for service after 31 March {args.fy + 1} (deferred): {money(report.deferred_out)}"
    )
    console.print(f"Net of all documents issued in the year: {money(report.invoiced_in_year)}")


async def _export(maker, args, billing: BillingSettings, console: Console) -> None:
    from billing.exports import write_export
    from billing.reports import check_range, export_rows

    check_range(args.start, args.end)
    if not args.output.parent.exists():
        raise ValueError(f"--output folder {args.output.parent} does not exist")
    async with maker() as s:
        count = await write_export(export_rows(s, args.start, args.end, billing), args.format, args.output)
    console.print(f"{count} documents written to {args.output}")


async def _price(maker, args, console: Console) -> None:
    from arc.kit.db import session_scope
    from billing.tariffs import set_price

    async with session_scope(maker) as s:
        await set_price(s, args.tariff, args.weekly, args.effective_from)
    console.print(f"tariff {args.tariff}: {money(args.weekly)} a week from {args.effective_from}")


async def run(settings, args: argparse.Namespace) -> None:
    """The runner arc/cli.py calls with the service settings and the parsed arguments."""
    from rich.console import Console

    from arc.kit.clock import Clock
    from arc.kit.db import make_engine, make_sessionmaker
    from arc.kit.errors import AppError
    from billing.invoicing import BillingDataError
    from billing.jobs import daily
    from billing.settings import get_billing_settings

    if not settings.database_url:
        raise SystemExit(
            "lifeline billing needs LIFELINE_DATABASE_URL (the demo's embedded database is private)"
        )
    console = Console()
    billing = get_billing_settings()
    engine = make_engine(settings.database_url, pool_size=2)
    maker = make_sessionmaker(engine)
    try:
        command = args.billing_command
        if command == "run":
            await _run(maker, args, billing, console)
        elif command == "daily":
            console.print(_summary_table(await daily(maker, billing, Clock().now())))
        elif command == "income":
            await _income(maker, args, console)
        elif command == "export":
            await _export(maker, args, billing, console)
        elif command == "price":
            await _price(maker, args, console)
    except (AppError, BillingDataError, ValueError) as exc:
        print(f"lifeline billing {args.billing_command}: {getattr(exc, 'detail', exc)}", file=sys.stderr)
        raise SystemExit(2) from None
    finally:
        await engine.dispose()


COMMAND = ("billing: runs, income, exports and prices (finance)", add_arguments, run)

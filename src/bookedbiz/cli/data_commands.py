"""Commands for the database itself: init/upgrade and month close/reopen/list."""

from __future__ import annotations

import json
from pathlib import Path

import click

from bookedbiz import months as months_service
from bookedbiz.cli.common import db_option, handle_errors, settings
from bookedbiz.config import resolve_database_target
from bookedbiz.db.migrate import init_database, init_server_database, require_current_schema
from bookedbiz.db.server import is_server_url
from bookedbiz.money import micros_to_dollars


@click.command("init")
@db_option
@handle_errors
def init_command(db_path: Path | None) -> None:
    """Create the database, or upgrade it to the current schema.

    An existing database that needs upgrading is first copied to a verified snapshot in a
    'backups' folder next to it.
    """
    target = resolve_database_target(settings(), db_path, must_exist=False)
    if is_server_url(target):  # DATABASE_URL: PostgreSQL, upgraded in one transaction
        server = init_server_database(str(target))
        if server.from_version == server.to_version:
            click.echo(f"The {server.path} is up to date (schema {server.to_version}).")
        elif server.created:
            click.echo(f"Created the schema {server.to_version} in the {server.path}.")
        else:
            click.echo(f"Upgraded the {server.path} from {server.from_version} to "
                       f"{server.to_version}.")
        return
    path = Path(target)
    result = init_database(path)
    if result.created:
        click.echo(f"Created {path} (schema {result.to_version}).")
    elif result.from_version == result.to_version:
        click.echo(f"{path} is up to date (schema {result.to_version}).")
    else:
        click.echo(f"Upgraded {path} from {result.from_version} to {result.to_version}; "
                   f"snapshot kept at {result.snapshot}.")


@click.group("months")
def months_group() -> None:
    """List, close and reopen broadcast months."""


@months_group.command("list")
@db_option
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@handle_errors
def months_list(db_path: Path | None, as_json: bool) -> None:
    """Show every month with its status, who closed it, spots and gross revenue."""
    from bookedbiz.cli.databases import current_database

    with current_database(db_path) as db, db.reading() as conn:
        rows = months_service.list_months(conn)
    if as_json:
        for row in rows:
            row["gross"] = float(micros_to_dollars(row.pop("gross_micros")))  # type: ignore[arg-type]
        click.echo(json.dumps(rows, indent=2))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table("Month", "Weeks", "Status", "Closed by", "Closed at", "Spots", "Gross")
    for row in rows:
        table.add_row(str(row["label"]), str(row["weeks"]), str(row["status"]),
                      str(row["closed_by"] or ""), str(row["closed_at"] or ""),
                      f"{row['spots']:,}", f"{micros_to_dollars(row['gross_micros']):,}")
    Console().print(table)


def _station_suffix(station: str | None) -> str:
    return f" for station {station.strip().upper()}" if station else ""


@months_group.command("close")
@click.argument("month")
@click.option("--by", "by", required=True, help="Who closes the month (recorded).")
@click.option("--reason", default=None, help="Optional note kept in the audit trail.")
@click.option("--station", default=None, metavar="CODE",
              help="The station whose month is closed (default: $STATION_CODE, else MAIN).")
@db_option
@handle_errors
def months_close(month: str, by: str, reason: str | None, station: str | None,
                 db_path: Path | None) -> None:
    """Close one station's MONTH (Jan-25 or 2025-01): its daily imports no longer change it.

    Other stations' month stays open (--station, default $STATION_CODE)."""
    target = resolve_database_target(settings(), db_path)
    require_current_schema(target)
    from bookedbiz.history.recording import record_month_event

    key = months_service.close_month(target, month, by, reason, on_change=record_month_event,
                                     station=station)
    click.echo(f"Closed {key}{_station_suffix(station)} (by {by}).")


@months_group.command("reopen")
@click.argument("month")
@click.option("--by", "by", required=True, help="Who reopens the month (recorded).")
@click.option("--reason", required=True, help="Why it is reopened (recorded).")
@click.option("--station", default=None, metavar="CODE",
              help="The station whose month is reopened (default: $STATION_CODE, else MAIN).")
@db_option
@handle_errors
def months_reopen(month: str, by: str, reason: str, station: str | None,
                  db_path: Path | None) -> None:
    """Reopen one station's closed MONTH so its imports may replace it again."""
    target = resolve_database_target(settings(), db_path)
    require_current_schema(target)
    from bookedbiz.history.recording import record_month_event

    key = months_service.reopen_month(target, month, by, reason, on_change=record_month_event,
                                      station=station)
    click.echo(f"Reopened {key}{_station_suffix(station)} (by {by}: {reason}).")


def register(cli: click.Group) -> None:
    cli.add_command(init_command)
    cli.add_command(months_group)

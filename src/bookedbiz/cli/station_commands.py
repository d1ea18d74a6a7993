"""``bookedbiz stations``: the stations of a group sharing one database (SPEC §4)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from bookedbiz.cli.common import db_option, handle_errors, settings


def _with_database(db_path: Path | None, work: Callable[[Any], Any], *, write: bool) -> Any:
    """``work(conn)`` in a write transaction or a read snapshot of the configured database."""
    from bookedbiz.cli.databases import current_database

    with current_database(db_path) as db, (db.writing() if write else db.reading()) as conn:
        return work(conn)


@click.group("stations")
def stations_group() -> None:
    """The stations sharing this database: list, add, rename."""


@stations_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@db_option
@handle_errors
def stations_list(as_json: bool, db_path: Path | None) -> None:
    """Show every station: code, name, whether it is active, and which one imports default to."""
    from bookedbiz.entities.stations import list_stations

    rows = _with_database(db_path, list_stations, write=False)
    default = settings().station_code.strip().upper()
    if as_json:
        click.echo(json.dumps([{**r, "default": r["code"] == default} for r in rows], indent=2))
        return
    for row in rows:
        marks = [m for m, on in (("default", row["code"] == default),
                                 ("inactive", not row["is_active"])) if on]
        note = f"  ({', '.join(marks)})" if marks else ""
        click.echo(f"{row['code']:<16} {row['name']}{note}")


@stations_group.command("add")
@click.argument("code")
@click.option("--name", required=True, help="The station's display name.")
@db_option
@handle_errors
def stations_add(code: str, name: str, db_path: Path | None) -> None:
    """Add station CODE (up to 16 letters, digits, '-' or '_'); imports name it with --station."""
    from bookedbiz.entities.stations import add_station, normalize_code

    _with_database(db_path, lambda conn: add_station(conn, code, name), write=True)
    click.echo(f"Added station {normalize_code(code)} ({' '.join(name.split())}).")


@stations_group.command("rename")
@click.argument("code")
@click.option("--name", required=True, help="The station's new display name.")
@db_option
@handle_errors
def stations_rename(code: str, name: str, db_path: Path | None) -> None:
    """Give station CODE a new display name; its code and data stay."""
    from bookedbiz.entities.stations import rename_station

    _with_database(db_path, lambda conn: rename_station(conn, code, name), write=True)
    click.echo(f"Renamed station {code.strip().upper()} to {' '.join(name.split())}.")

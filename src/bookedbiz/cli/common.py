"""Pieces every command shares: the --db option, settings, error-to-exit-code handling and the
JSON / CSV / file output of the report commands."""

from __future__ import annotations

import csv
import functools
import io
import json
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from bookedbiz.config import Settings, load_settings, resolve_database_path
from bookedbiz.errors import EXIT_FAILURE, BookedBizError, ConfigError

if TYPE_CHECKING:
    from sqlalchemy import Connection

F = TypeVar("F", bound=Callable[..., Any])


class DatabaseOption(click.Path):
    """A SQLite file (a Path) or, for the commands that run on both, a DATABASE_URL (kept as
    text: a Path would fold its ``//``)."""

    def convert(self, value: Any, param: click.Parameter | None,
                ctx: click.Context | None) -> Any:
        if isinstance(value, str) and "://" in value:
            return value
        return super().convert(value, param, ctx)


def db_option(func: F) -> F:
    """``--db PATH`` (or a PostgreSQL URL) on every command; falls back to DATABASE_URL, then
    DATABASE_PATH."""
    return click.option(
        "--db",
        "db_path",
        type=DatabaseOption(dir_okay=False, path_type=Path),
        default=None,
        help="SQLite database file, or a PostgreSQL URL where the command runs on one "
             "(default: $DATABASE_URL, else $DATABASE_PATH).",
    )(func)


def settings() -> Settings:
    ctx = click.get_current_context()
    root = ctx.find_root()
    cached = root.meta.get("bookedbiz.settings")
    if cached is None:
        cached = load_settings()
        root.meta["bookedbiz.settings"] = cached
    return cached


def database_path(db_path: Path | str | None, *, must_exist: bool = True) -> Path:
    """Resolve the database for a command (refusing a missing file unless ``must_exist=False``)."""
    if isinstance(db_path, str) and "://" in db_path:
        raise ConfigError("This command works on a SQLite file only, for now; pass --db PATH.")
    return resolve_database_path(settings(), db_path, must_exist=must_exist)


@contextmanager
def read_connection(db_path: Path | str | None) -> Iterator[Connection]:
    """A Core connection in one read-only snapshot (``Database.reading()``) for a report, on
    a SQLite file or a PostgreSQL server, refused unless the database's schema is current."""
    from bookedbiz.cli.databases import command_target
    from bookedbiz.db.access import Database
    from bookedbiz.db.migrate import require_current_schema

    target = command_target(db_path)
    require_current_schema(target)
    db = Database(target)
    try:
        with db.reading() as conn:
            yield conn
    finally:
        db.dispose()


def owning_station_option(func: F) -> F:
    """``--station CODE`` on a command that writes: the one station the data belongs to."""
    return click.option("--station", default=None, metavar="CODE",
                        help="The station this log belongs to (default: $STATION_CODE, "
                             "else MAIN).")(func)


def station_option(func: F) -> F:
    """``--station CODE`` (repeatable, or a comma list): only these stations (default: all)."""
    return click.option("--station", "station", multiple=True, metavar="CODE",
                        help="Only this station (repeat or comma-separate for several; "
                             "default: every station).")(func)


def with_checked_stations(conn: Connection, filters: Any) -> Any:
    """``filters`` with its station codes as the database spells them; an unknown code is one
    sentence naming the known ones (a non-zero exit)."""
    if not filters.stations:
        return filters
    from dataclasses import replace

    from bookedbiz.reports.stations import check_stations

    return replace(filters, stations=check_stations(conn, filters.stations))


def read_with(db_path: Path | None, func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """``func(conn, *args, **kwargs)`` on a read-only connection (see read_connection)."""
    with read_connection(db_path) as conn:
        return func(conn, *args, **kwargs)


def as_of_day(text: str | None, option: str = "--as-of") -> date:
    """A report's as-of date from the command line: the station's today when not given, never
    a day after it."""
    from bookedbiz.history.as_of import parse_as_of, station_today

    today = station_today()
    day = parse_as_of(text, option) or today
    if day > today:
        raise ConfigError(f"{option} {day.isoformat()} is in the future (today is "
                          f"{today.isoformat()} at the station).")
    return day


def fail(message: str, code: int = EXIT_FAILURE) -> None:
    click.echo(f"Error: {message}", err=True)
    sys.exit(code)


def handle_errors(func: F) -> F:
    """Show a BookedBizError as one sentence on stderr and exit with its code; no tracebacks."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except BookedBizError as exc:
            fail(str(exc), exc.exit_code)
        except KeyboardInterrupt:
            fail("Interrupted; nothing was committed by the interrupted step.", 130)

    return wrapper  # type: ignore[return-value]


# -- report output --------------------------------------------------------------------------


def jsonable(value: object) -> object:
    """Money as a JSON number (what spreadsheets and clients expect), a date as YYYY-MM-DD."""
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, date):
        return value.isoformat()
    return value


def json_text(rows: Sequence[Mapping[str, Any]], columns: Sequence[str]) -> str:
    """A JSON list of objects, one per row, with exactly ``columns``."""
    return json.dumps([{c: jsonable(r.get(c)) for c in columns} for r in rows], indent=2)


def csv_text(rows: Sequence[Mapping[str, Any]], columns: Sequence[str],
             cell: Callable[[object], object] | None = None) -> str:
    """A header of ``columns`` then one line per row (None is an empty cell); ``cell`` converts
    each value first."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([row.get(c) if cell is None else cell(row.get(c)) for c in columns])
    return buffer.getvalue().rstrip("\n")


def write_or_echo(text: str, output: Path | None, rows: int) -> None:
    """Write ``text`` to ``output`` and say so, or print it when there is no file."""
    if output is not None:
        output.write_text(text + "\n", encoding="utf-8")
        click.echo(f"Wrote {output} ({rows} rows).")
    else:
        click.echo(text)


def require_output_for_xlsx(fmt: str, output: Path | None) -> None:
    """XLSX is binary: it goes to a file, never the terminal."""
    if fmt == "xlsx" and output is None:
        raise click.UsageError("--format xlsx needs --output FILE.")

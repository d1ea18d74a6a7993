"""Commands that bring data in: import, daily-update, generate-log."""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from logging.handlers import RotatingFileHandler
from pathlib import Path

import click

from bookedbiz.cli.common import db_option, handle_errors, owning_station_option, settings
from bookedbiz.config import resolve_database_target
from bookedbiz.errors import EXIT_FAILURE, BookedBizError
from bookedbiz.ingest.fetch import default_daily_file, fetch_daily_log
from bookedbiz.ingest.result import ImportResult
from bookedbiz.ingest.service import import_workbook

log = logging.getLogger("bookedbiz.import")


def _parse_day(value: str | None, as_of: str | None = None) -> date | None:
    """``--as-of`` (or the hidden old ``--today``) as a date; a malformed one is one sentence."""
    from bookedbiz.history.as_of import parse_as_of

    if as_of is not None:
        return parse_as_of(as_of)
    return parse_as_of(value, "--today")


@contextmanager
def _progress(enabled: bool, total: int | None, label: str) -> Iterator:
    if not enabled:
        yield None
        return
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(TextColumn(label), BarColumn(), TextColumn("{task.completed:,} rows"),
                  TimeElapsedColumn(), transient=True, console=None) as bar:
        task = bar.add_task(label, total=total)
        yield lambda done: bar.update(task, completed=done)


def print_result(result: ImportResult, as_json: bool) -> None:
    """Human summary (per-month changes, warnings, rejects) or one JSON object."""
    if as_json:
        click.echo(json.dumps(result.to_dict(), default=str))
        return
    state = "DRY RUN (nothing written)" if result.dry_run else result.status.upper()
    station = f", station {result.station}" if result.station else ""
    click.echo(f"Import {state}: {Path(result.source_file).name} ({result.mode}{station}), "
               f"batch {result.batch_id or '-'}, {result.seconds:.2f} s")
    click.echo(f"  rows read {result.rows_read:,}, inserted {result.rows_inserted:,}, "
               f"deleted {result.rows_deleted:,}, rejected {result.rows_rejected:,}, "
               f"skipped {result.rows_skipped:,}")
    if result.changes:
        click.echo("  month    action                  rows before → after"
                   "      gross before → after")
        for change in result.changes:
            d = change.to_dict()
            click.echo(f"  {d['label']:<8} {d['action']:<23} {d['rows_before']:>8,} → "
                       f"{d['rows_after']:<8,} {d['gross_before']:>14,.2f} → "
                       f"{d['gross_after']:,.2f}")
    if result.months_closed:
        click.echo(f"  closed: {', '.join(result.months_closed)}")
    for warning in result.warnings:
        click.echo(f"  warning: {warning}")
    for reject in result.rejects[:20]:
        click.echo(f"  rejected: sheet '{reject.sheet}' row {reject.row_number}, "
                   f"{reject.column}: {reject.reason} (value {reject.value!r})")
    if len(result.rejects) > 20:
        click.echo(f"  … and {len(result.rejects) - 20} more rejects (stored with the batch)")


@click.command("import")
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--mode", type=click.Choice(["weekly", "historical"]), default="weekly",
              show_default=True, help="weekly: replace open months; historical: replace and close.")
@click.option("--closed-by", default=None, help="Who closes the months (historical mode).")
@click.option("--strict", is_flag=True, help="Fail the whole import if any row is rejected.")
@click.option("--dry-run", is_flag=True, help="Do all the work, report it, then roll it back.")
@click.option("--include-previous-month", is_flag=True,
              help="Also replace last calendar month (skipped by default in weekly mode).")
@click.option("--auto-setup", is_flag=True, help="Add unknown market codes to the markets table.")
@click.option("--json", "as_json", is_flag=True, help="Print the batch summary as one JSON object.")
@click.option("--as-of", "as_of", default=None, metavar="YYYY-MM-DD",
              help="The day this log describes (default: the date in 'Commercial Log YYMMDD', "
                   "else today at the station).")
@click.option("--today", default=None, hidden=True, help="Old name of --as-of.")
@owning_station_option
@db_option
@handle_errors
def import_command(file: Path, mode: str, closed_by: str | None, strict: bool, dry_run: bool,
                   include_previous_month: bool, auto_setup: bool, as_json: bool,
                   as_of: str | None, today: str | None, station: str | None,
                   db_path: Path | None) -> None:
    """Import a commercial log or an annual recap FILE (.xlsx).

    Every broadcast month in the file is replaced as a whole, all in one transaction; a failure
    changes nothing. Weekly mode skips closed months and last calendar month; historical mode
    (monthly close) replaces every month in the file and closes it. Only the station's own
    months are replaced or closed (--station, default $STATION_CODE).
    """
    target = resolve_database_target(settings(), db_path)
    day = _parse_day(today, as_of)
    show_bar = not as_json and sys.stderr.isatty()
    with _progress(show_bar, None, f"Importing {file.name}") as progress:
        result = import_workbook(
            target, file, mode=mode, closed_by=closed_by, strict=strict, dry_run=dry_run,
            include_previous_month=include_previous_month, auto_setup=auto_setup,
            as_of=day, progress=progress, station=station,
        )
    print_result(result, as_json)
    if not result.success:
        sys.exit(EXIT_FAILURE)


def _setup_file_logging(log_file: Path | None) -> None:
    log.setLevel(logging.INFO)
    if log_file is None:  # the error is printed once, as the one sentence; no stray log line
        log.addHandler(logging.NullHandler())
        return
    log_file.parent.mkdir(parents=True, exist_ok=True)
    handler = RotatingFileHandler(log_file, maxBytes=20 * 1024 * 1024, backupCount=5)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    log.addHandler(handler)


@click.command("daily-update")
@click.argument("file", required=False, type=click.Path(path_type=Path))
@click.option("--auto-setup", is_flag=True, help="Add unknown market codes to the markets table.")
@click.option("--unattended", is_flag=True,
              help="Never prompt; log to --log-file; exit non-zero if any required step failed.")
@click.option("--log-file", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Append a log of the run to this file.")
@click.option("--dry-run", is_flag=True, help="Report what would change; write nothing.")
@click.option("--source", type=click.Path(path_type=Path), default=None,
              help="Copy the log from here first (default: $DAILY_UPDATE_SOURCE).")
@click.option("--include-previous-month", is_flag=True,
              help="Also replace last calendar month.")
@click.option("--yes", is_flag=True, help="Apply without asking (interactive use).")
@click.option("--json", "as_json", is_flag=True, help="Print the batch summary as one JSON object.")
@click.option("--as-of", "as_of", default=None, metavar="YYYY-MM-DD",
              help="The day this log describes (default: the date in its name, else today).")
@click.option("--today", default=None, hidden=True, help="Old name of --as-of.")
@owning_station_option
@db_option
def daily_update_command(file: Path | None, auto_setup: bool, unattended: bool,
                         log_file: Path | None, dry_run: bool, source: Path | None,
                         include_previous_month: bool, yes: bool, as_json: bool,
                         as_of: str | None, today: str | None, station: str | None,
                         db_path: Path | None) -> None:
    """The daily job: import today's commercial log in weekly mode.

    FILE defaults to $DAILY_UPDATE_DATA_FILE, else
    $DATA_PATH/raw/daily/Commercial Log YYMMDD.xlsx for today. With --source (or
    $DAILY_UPDATE_SOURCE) the log is first copied there from the traffic system's share.
    Exits 1 when the import or the language assignment failed: never a false success.
    """
    _setup_file_logging(log_file)
    try:
        result = _daily_update(file, auto_setup, unattended, dry_run, source,
                               include_previous_month, yes, as_json, _parse_day(today, as_of),
                               db_path, station)
    except BookedBizError as exc:
        log.error("daily update FAILED: %s", exc)
        click.echo(f"Error: {exc}", err=True)
        sys.exit(exc.exit_code)
    if result is None:
        return
    if result.success:
        log.info("daily update OK: batch %s, %s rows inserted, %s deleted, %s rejected",
                 result.batch_id, result.rows_inserted, result.rows_deleted, result.rows_rejected)
    else:
        log.error("daily update FAILED: import status %s, language assignment %s",
                  result.status, "ok" if result.language_assignment_ok else "failed")
        sys.exit(EXIT_FAILURE)


def _daily_update(file, auto_setup, unattended, dry_run, source, include_previous_month, yes,
                  as_json, today, db_path, station) -> ImportResult | None:
    from bookedbiz.db.access import Database
    from bookedbiz.history.as_of import station_today

    config = settings()
    day = today or station_today(config.station_timezone)
    db = Database(resolve_database_target(config, db_path))
    try:
        return _update_into(db, file, config, day, auto_setup, unattended, dry_run, source,
                            include_previous_month, yes, as_json, today, station)
    finally:
        db.dispose()


def _update_into(db, file, config, day, auto_setup, unattended, dry_run, source,  # noqa: ANN001
                 include_previous_month, yes, as_json, today, station) -> ImportResult | None:
    target = file or config.daily_update_data_file or default_daily_file(
        config.resolved_data_path(), day)
    source = source or config.daily_update_source
    if source is not None and not dry_run:
        log.info("copying %s to %s", source, target)
        fetch_daily_log(Path(source), Path(target))
    log.info("daily update of %s into %s", target, db.describe())
    options = dict(mode="weekly", auto_setup=auto_setup, as_of=today,
                   include_previous_month=include_previous_month, station=station)
    interactive = not (unattended or yes or dry_run or as_json) and sys.stdin.isatty()
    if interactive:
        preview = import_workbook(db, Path(target), dry_run=True, **options)
        print_result(preview, False)
        if not click.confirm("Apply these changes?", default=False):
            click.echo("Nothing changed.")
            return None
    result = import_workbook(db, Path(target), dry_run=dry_run, **options)
    print_result(result, as_json)
    for warning in result.warnings:
        log.warning("%s", warning)
    return result


@click.command("generate-log")
@click.argument("out", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--start", required=True, help="First broadcast month, YYYY-MM.")
@click.option("--months", type=click.IntRange(1, 120), default=1, show_default=True)
@click.option("--rows-per-month", type=click.IntRange(1, 2_000_000), default=2500,
              show_default=True)
@click.option("--seed", type=int, default=1, show_default=True)
@click.option("--kind", type=click.Choice(["daily", "recap"]), default="daily",
              show_default=True, help="daily: four spot sheets; recap: one 'Data' sheet.")
@click.option("--clean", is_flag=True, help="Leave out the quirks (blank rows, text money, …).")
@handle_errors
def generate_log_command(out: Path, start: str, months: int, rows_per_month: int, seed: int,
                         kind: str, clean: bool) -> None:
    """Write a deterministic synthetic commercial log (.xlsx) to OUT."""
    from bookedbiz.broadcast_calendar import parse_month
    from bookedbiz.synth.generator import LogSpec
    from bookedbiz.synth.writer import write_log

    month = parse_month(start)
    if month is None:
        raise click.BadParameter("use YYYY-MM", param_hint="--start")
    counts = write_log(LogSpec(month, months, rows_per_month, seed, kind, not clean), out)
    click.echo(f"Wrote {out}: " + ", ".join(f"{k} {v:,} rows" for k, v in counts.items()))


def register(cli: click.Group) -> None:
    cli.add_command(import_command)
    cli.add_command(daily_update_command)
    cli.add_command(generate_log_command)

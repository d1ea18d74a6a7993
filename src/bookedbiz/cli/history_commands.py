"""``bookedbiz history …`` and ``bookedbiz report pacing|changes``: the booking history in the
terminal. The numbers come from reports.pacing / reports.changes; this module only lays them out."""

from __future__ import annotations

import io
import sys
from datetime import date
from decimal import Decimal
from pathlib import Path

import click

from bookedbiz.cli.common import (
    as_of_day,
    csv_text,
    db_option,
    handle_errors,
    json_text,
    jsonable,
    owning_station_option,
    read_connection,
    require_output_for_xlsx,
    station_option,
    with_checked_stations,
    write_or_echo,
)
from bookedbiz.errors import EXIT_FAILURE, ConfigError

BY_CHOICES = ("ae", "customer", "agency", "market", "revenue-type", "language", "sector",
              "station")
PACING_COLUMNS = ("booked_gross", "booked_net", "stly_gross", "stly_net", "last_year_gross",
                  "last_year_net", "pace", "budget_gross", "forecast_gross", "pipeline_gross",
                  "variance_gross", "pct_to_budget")
CHANGE_COLUMNS = ("month", "change", "contract", "customer", "ae", "gross_before",
                  "gross_after", "gross_change", "net_change")


def _month_option(text: str | None, option: str) -> str | None:
    from bookedbiz.broadcast_calendar import parse_month

    if text is None:
        return None
    month = parse_month(text)
    if month is None:
        raise ConfigError(f"{option} '{text[:30]}' is not a month; write it as YYYY-MM.")
    return month


def _report_day(text: str | None, option: str, conn) -> date:
    """A report's as-of date: not malformed, not in the future, not before the history."""
    from sqlalchemy import text as sql

    day = as_of_day(text, option)
    first = conn.execute(sql("SELECT MIN(as_of) FROM history_records")).scalar()
    if text is not None and first and day.isoformat() < first:
        raise ConfigError(f"{option} {day.isoformat()} is older than the booking history, "
                          f"which starts on {first}.")
    return day


def _fmt(value: object, column: str = "") -> str:
    if column == "pace":
        return "" if value is None else f"{Decimal(value) * 100:,.1f}%"
    if column == "pct_to_budget":
        return "" if value is None else f"{value}%"
    if isinstance(value, Decimal):
        return f"{value:,.2f}"
    return "" if value is None else str(value)


def _rich_table(title: str, rows: list[dict], columns: list[str], total: dict | None) -> str:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title)
    for column in columns:
        numeric = column in PACING_COLUMNS or column.startswith(("gross", "net"))
        table.add_column(column, justify="right" if numeric else "left")
    for row in rows:
        table.add_row(*[_fmt(row.get(c), c) for c in columns])
    if total is not None:
        table.add_row(*[_fmt(total.get(c), c) if i else "TOTAL"
                        for i, c in enumerate(columns)], style="bold")
    buffer = io.StringIO()
    Console(file=buffer, width=max(100, 16 * len(columns)), force_terminal=False).print(table)
    return buffer.getvalue().rstrip()


def _xlsx(name: str, title: str, rows: list[dict], columns: list[str], total: dict | None,
          meta: dict[str, str], output: Path) -> None:
    from bookedbiz.reports.tables import Column, Table, to_xlsx

    def kind(column: str) -> str:
        if column in ("pace", "pct_to_budget"):
            return "pct"
        return "money" if column in PACING_COLUMNS or column.startswith(("gross", "net")) \
            else "text"

    shown = [{**r, "pace": None if r.get("pace") is None else r["pace"] * 100} for r in rows]
    totals = [] if total is None else [{**total, columns[0]: "Total", "pace": None if
                                        total.get("pace") is None else total["pace"] * 100}]
    table = Table(name=name, title=title,
                  columns=[Column(c, c.replace("_", " ").title(), kind(c)) for c in columns],
                  rows=shown, totals=totals)
    output.write_bytes(to_xlsx([table], title, meta))


@click.command("pacing")
@click.option("--as-of", "as_of", default=None, metavar="YYYY-MM-DD",
              help="Booked as of this day (default: today at the station).")
@click.option("--from", "first", default=None, metavar="YYYY-MM", help="First month.")
@click.option("--to", "last", default=None, metavar="YYYY-MM", help="Last month.")
@click.option("--by", "by", type=click.Choice(BY_CHOICES), default=None,
              help="One row per month and group.")
@click.option("--measure", type=click.Choice(["gross", "net"]), default="gross",
              show_default=True, help="Which amount the pace and the sort use.")
@click.option("--ae", default=None, help="Only this AE.")
@click.option("--market", default=None, help="Only this market code.")
@click.option("--revenue-type", default=None, help="Only this revenue type.")
@station_option
@click.option("--format", "fmt", type=click.Choice(["table", "csv", "json", "xlsx"]),
              default="table", show_default=True)
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write to this file (required for xlsx).")
@db_option
@handle_errors
def pacing_command(as_of: str | None, first: str | None, last: str | None, by: str | None,
                   measure: str, ae: str | None, market: str | None, revenue_type: str | None,
                   station: tuple[str, ...], fmt: str, output: Path | None,
                   db_path: Path | None) -> None:
    """Booked today against the same time last year (STLY), per broadcast month.

    Default months: the 13 broadcast months starting with the as-of date's. JSON is a list of
    objects, one per month (and group): month, the group key, booked_gross, booked_net,
    stly_gross, stly_net, last_year_gross, last_year_net and pace (booked ÷ STLY, null when STLY
    is 0). STLY = month M−12 as of the as-of date − 364 days; last year = M−12 as it stands.
    Plans (gross; per AE with --by ae, else the company; null below the AE): budget_gross,
    forecast_gross (null when none), pipeline_gross, variance_gross, pct_to_budget.
    """
    from bookedbiz.reports.filters import ReportFilters, station_codes
    from bookedbiz.reports.pacing import key_name, pacing_report

    require_output_for_xlsx(fmt, output)
    start, end = _month_option(first, "--from"), _month_option(last, "--to")
    filters = ReportFilters(measure=measure, ae=ae, market=market.upper() if market else None,
                            revenue_type=revenue_type, stations=station_codes(station))
    with read_connection(db_path) as conn:
        filters = with_checked_stations(conn, filters)
        day = _report_day(as_of, "--as-of", conn)
        report = pacing_report(conn, as_of=day, first=start, last=end, by=by, filters=filters)
    name = key_name(by)
    columns = ["month", *([name] if name else []), *PACING_COLUMNS]
    rows = report["rows"]
    if fmt == "json":
        write_or_echo(json_text(rows, columns), output, len(rows))
    elif fmt == "csv":
        write_or_echo(csv_text(rows, columns, jsonable), output, len(rows))
    elif fmt == "xlsx":
        _xlsx("pacing", f"Pacing as of {day.isoformat()}", rows, columns, report["total"],
              {"as of": day.isoformat(), "by": by or "month", "measure": measure}, output)
        click.echo(f"Wrote {output} ({len(rows)} rows).")
    else:
        title = (f"Pacing as of {day.isoformat()} (STLY = as of "
                 f"{report['stly_as_of'].isoformat()}; Trade excluded)")
        write_or_echo(_rich_table(title, rows, columns, report["total"]), output, len(rows))


@click.command("changes")
@click.option("--since", default=None, metavar="YYYY-MM-DD",
              help="From the books as of this day (default: the previous import's day).")
@click.option("--until", default=None, metavar="YYYY-MM-DD",
              help="To the books as of this day (default: the last import's day).")
@click.option("--ae", default=None, help="Only this AE.")
@station_option
@click.option("--format", "fmt", type=click.Choice(["table", "csv", "json", "alert"]),
              default="table", show_default=True,
              help="alert: one line with the totals and the top changes (the daily job's).")
@db_option
@handle_errors
def changes_command(since: str | None, until: str | None, ae: str | None,
                    station: tuple[str, ...], fmt: str, db_path: Path | None) -> None:
    """What changed on the books: per contract (or customer when the contract is blank) and
    month, added / increased / decreased / cancelled, with AE, customer and gross change."""
    from bookedbiz.reports.changes import changes_report
    from bookedbiz.reports.filters import ReportFilters, station_codes

    with read_connection(db_path) as conn:
        filters = with_checked_stations(
            conn, ReportFilters(ae=ae, stations=station_codes(station)))
        start = _report_day(since, "--since", conn) if since else None
        end = _report_day(until, "--until", conn) if until else None
        report = changes_report(conn, since=start, until=end, filters=filters)
    rows, columns = report["rows"], list(CHANGE_COLUMNS)
    if fmt == "alert":
        click.echo(alert_line(report))
    elif fmt == "json":
        click.echo(json_text(rows, columns))
    elif fmt == "csv":
        click.echo(csv_text(rows, columns, jsonable))
    elif report["since"] is None:
        click.echo("The booking history is empty: import a log (or backfill archived ones).")
    else:
        title = (f"Changes from {report['since'].isoformat()} to "
                 f"{report['until'].isoformat()} (gross; Trade excluded)")
        click.echo(_rich_table(title, rows, columns, None))
        totals = report["totals"]
        click.echo("  " + ", ".join(f"{k} {totals[k]['lines']} ({totals[k]['gross_change']:+,.2f})"
                                    for k in ("added", "increased", "decreased", "cancelled")))


def alert_line(report: dict) -> str:
    """One line for the daily job's alert: totals per kind, then the largest changes."""
    from bookedbiz.reports.changes import summary_lines

    if report["since"] is None:
        return "What changed: no booking history yet."
    totals = report["totals"]
    counts = ", ".join(f"{totals[k]['lines']} {k} ({totals[k]['gross_change']:+,.2f})"
                       for k in ("added", "increased", "decreased", "cancelled")
                       if totals[k]["lines"])
    head = (f"What changed {report['since'].isoformat()} → {report['until'].isoformat()}: "
            f"{counts or 'nothing'}")
    top = summary_lines(report, limit=3)
    return head + ("; top: " + " · ".join(top) if top else "")


@click.group("history")
def history_group() -> None:
    """The booking history: what was on the books on any date."""


@history_group.command("backfill")
@click.argument("folder", type=click.Path(path_type=Path))
@click.option("--auto-setup", is_flag=True, help="Add unknown market codes to the markets table.")
@owning_station_option
@db_option
@handle_errors
def backfill_command(folder: Path, auto_setup: bool, station: str | None,
                     db_path: Path | None) -> None:
    """Replay archived 'Commercial Log YYMMDD.xlsx' files in FOLDER, oldest first, into the
    booking history only (today's spots are untouched). Days already backfilled are skipped; a
    corrupt file is reported and skipped; dates inside the recorded history are refused."""
    from bookedbiz.cli.databases import command_target
    from bookedbiz.ingest.backfill import backfill_folder, find_logs

    path = command_target(db_path)
    logs = find_logs(folder)
    show_bar = sys.stderr.isatty()
    if show_bar:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

        with Progress(TextColumn("Backfilling {task.description}"), BarColumn(),
                      MofNCompleteColumn(), transient=True) as bar:
            task = bar.add_task("", total=len(logs))
            outcome = backfill_folder(
                path, logs, auto_setup=auto_setup, station=station,
                progress=lambda done, name: bar.update(task, completed=done, description=name))
    else:
        outcome = backfill_folder(path, logs, auto_setup=auto_setup, station=station)
    click.echo(f"Backfilled {outcome.recorded} log(s) into the booking history"
               f" ({outcome.rows_opened:,} intervals opened, {outcome.rows_closed:,} closed); "
               f"{len(outcome.skipped)} already there, {len(outcome.failed)} failed.")
    for name, reason in outcome.failed:
        click.echo(f"  failed: {name}: {reason}", err=True)
    if outcome.failed:
        sys.exit(EXIT_FAILURE)

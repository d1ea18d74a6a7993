"""``bookedbiz budgets``, ``bookedbiz forecast`` and ``bookedbiz planning``: plans per AE ×
broadcast month and the planning and management reports, in the terminal or as files."""

from __future__ import annotations

import getpass
import io
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import click

from bookedbiz import broadcast_calendar as bc
from bookedbiz.cli.common import (
    csv_text,
    db_option,
    handle_errors,
    json_text,
    read_with,
    require_output_for_xlsx,
    write_or_echo,
)
from bookedbiz.cli.databases import current_database
from bookedbiz.money import micros_to_dollars
from bookedbiz.reports.filters import ReportFilters

FORMATS = click.Choice(["table", "csv", "json", "xlsx"])


def _default_by() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except Exception:  # noqa: BLE001 - no login name in some service environments
        return "cli"


def emit(rows: Sequence[dict[str, Any]], columns: Sequence[tuple[str, str, str]], fmt: str,
         output: Path | None, title: str) -> None:
    """Rows as a terminal table, CSV, JSON (numbers for money) or XLSX (needs --output)."""
    keys = [c[0] for c in columns]
    require_output_for_xlsx(fmt, output)
    if fmt == "xlsx":
        from bookedbiz.reports.tables import Column, Table, to_xlsx

        table = Table(name=title.lower().replace(" ", "-")[:30], title=title,
                      columns=[Column(k, label, kind) for k, label, kind in columns],
                      rows=list(rows))
        output.write_bytes(to_xlsx([table], title, {}))
        click.echo(f"Wrote {output} ({len(rows)} rows).")
        return
    if fmt == "json":
        text = json_text(rows, keys)
    elif fmt == "csv":
        text = csv_text(rows, keys)
    else:
        text = _table_text(rows, columns, title)
    write_or_echo(text, output, len(rows))


def _table_text(rows: Sequence[dict[str, Any]], columns: Sequence[tuple[str, str, str]],
                title: str) -> str:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title)
    for _, label, kind in columns:
        table.add_column(label, justify="left" if kind == "text" else "right")
    for row in rows:
        table.add_row(*[_fmt(row.get(k), kind) for k, _, kind in columns])
    buffer = io.StringIO()
    Console(file=buffer, width=max(100, 16 * len(columns)), force_terminal=False).print(table)
    return buffer.getvalue().rstrip()


def _fmt(value: object, kind: str) -> str:
    if value is None:
        return ""
    if kind == "money":
        return f"{value:,.2f}"
    if kind in ("pct", "share"):
        return f"{value}%"
    return str(value)


# -- budgets ------------------------------------------------------------------------------------

@click.group("budgets")
def budgets_group() -> None:
    """Gross budgets per AE and broadcast month: load, list, export, history."""


@budgets_group.command("import")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--by", default=None, help="Who is loading (default: cli:<login>).")
@click.option("--create-aes", is_flag=True, help="Add AEs the file names that are unknown.")
@click.option("--dry-run", is_flag=True, help="Show what would change; store nothing.")
@db_option
@handle_errors
def budgets_import(file: Path, by: str | None, create_aes: bool, dry_run: bool,
                   db_path: Path | None) -> None:
    """Load budgets from FILE (.csv or .xlsx): long (AE, Month, Gross) or wide (AE + one column
    per month; months 2026-01 or Jan-26). Every problem is listed with its row and nothing is
    stored unless the whole file is clean; AE names go through AE aliases."""
    from bookedbiz.planning.budgets import import_budget_file

    with current_database(db_path) as db:
        load = import_budget_file(db, file, by=by or _default_by(), create_aes=create_aes,
                                  dry_run=dry_run)
    verb = "Would change" if dry_run else "Changed"
    click.echo(f"{verb} {len(load.changes)} budgets ({load.unchanged} unchanged) from "
               f"{file.name}.")
    for name in load.created_aes:
        click.echo(f"  {'would add' if dry_run else 'added'} AE {name}")
    for change in load.changes[:200]:
        old = "—" if change.old_micros is None else f"{micros_to_dollars(change.old_micros):,}"
        click.echo(f"  {change.ae} {bc.label(change.month)}: {old} → "
                   f"{micros_to_dollars(change.new_micros):,}")


def _year_option(func: Callable[..., Any]) -> Callable[..., Any]:
    return click.option("--year", type=click.IntRange(1990, 2100), default=None,
                        help="Broadcast year (default: all years).")(func)


def _listing_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """The options of ``budgets list`` and ``forecast list``: year, AE, format, output, database."""
    for option in reversed((
        _year_option,
        click.option("--ae", default=None, help="Only this AE."),
        click.option("--format", "fmt", type=FORMATS, default="table", show_default=True),
        click.option("--output", type=click.Path(dir_okay=False, path_type=Path), default=None),
        db_option,
    )):
        func = option(func)
    return func


@budgets_group.command("list")
@_listing_options
@handle_errors
def budgets_list(year: int | None, ae: str | None, fmt: str, output: Path | None,
                 db_path: Path | None) -> None:
    """One row per AE × month with its budget."""
    from bookedbiz.reports.planning import plan_listing

    rows = read_with(db_path, plan_listing, ReportFilters(year=year, ae=ae), "budget")
    emit(rows, (("ae", "AE", "text"), ("month", "Month", "text"), ("gross", "Gross", "money")),
         fmt, output, f"Budgets {year or 'all years'}")


@budgets_group.command("export")
@_year_option
@click.option("--format", "fmt", type=FORMATS, default="csv", show_default=True)
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path), default=None)
@db_option
@handle_errors
def budgets_export(year: int | None, fmt: str, output: Path | None,
                   db_path: Path | None) -> None:
    """The wide layout (AE + one column per month), which `budgets import` reads back."""
    from bookedbiz.reports.planning import plan_listing

    rows = read_with(db_path, plan_listing, ReportFilters(year=year), "budget")
    months = sorted({str(r["month"]) for r in rows})
    wide: dict[str, dict[str, Any]] = {}
    for row in rows:
        wide.setdefault(str(row["ae"]), {"ae": row["ae"]})[str(row["month"])] = row["gross"]
    columns = [("ae", "AE", "text")] + [(m, m, "money") for m in months]
    emit(list(wide.values()), columns, fmt, output, f"Budgets {year or 'all years'}")


@budgets_group.command("history")
@click.option("--ae", default=None)
@click.option("--month", default=None, help="YYYY-MM or Jan-26.")
@click.option("--format", "fmt", type=FORMATS, default="table", show_default=True)
@db_option
@handle_errors
def budgets_history(ae: str | None, month: str | None, fmt: str, db_path: Path | None) -> None:
    """Every budget change, newest first: who, when, old and new."""
    rows = _history(db_path, "budget", ae, month)
    emit(rows, _HISTORY_COLUMNS + (("source", "Source", "text"),), fmt, None, "Budget changes")


_HISTORY_COLUMNS = (("changed_at", "When", "text"), ("changed_by", "Who", "text"),
                    ("ae", "AE", "text"), ("month", "Month", "text"),
                    ("old", "Old", "money"), ("new", "New", "money"))


def _history(db_path: Path | None, what: str, ae: str | None,
             month: str | None) -> list[dict[str, Any]]:
    from bookedbiz.planning import budgets, forecasts
    from bookedbiz.planning.aes import require_ae

    chosen = forecasts.parse_month_arg(month) if month else None
    with current_database(db_path) as db, db.reading() as conn:
        ae_id = require_ae(conn, ae) if ae else None
        reader = budgets.budget_history if what == "budget" else forecasts.forecast_history
        rows = reader(conn, ae_id=ae_id, month=chosen)
    for row in rows:
        for key in ("old", "new"):
            value = row[f"{key}_micros"]
            row[key] = None if value is None else micros_to_dollars(value)  # type: ignore[arg-type]
    return rows


# -- forecasts ----------------------------------------------------------------------------------

@click.group("forecast")
def forecast_group() -> None:
    """Forecasts per AE and broadcast month: set, list, history."""


@forecast_group.command("set")
@click.option("--ae", required=True, help="The AE (name or alias).")
@click.option("--month", required=True, help="YYYY-MM or Jan-26.")
@click.option("--gross", required=True, help="The expected gross, e.g. 125000 or $125,000.")
@click.option("--by", required=True, help="Who is forecasting.")
@click.option("--note", default=None, help="Why (kept with the change).")
@db_option
@handle_errors
def forecast_set(ae: str, month: str, gross: str, by: str, note: str | None,
                 db_path: Path | None) -> None:
    """Set an AE's forecast for an open month (a closed month refuses it)."""
    from bookedbiz.planning import forecasts

    chosen, micros = forecasts.parse_month_arg(month), forecasts.parse_forecast_amount(gross)
    with current_database(db_path) as db:
        done = forecasts.set_forecast(db, ae=ae, month=chosen, micros=micros, by=by, note=note)
    old = "none" if done.old_micros is None else f"{micros_to_dollars(done.old_micros):,}"
    click.echo(f"Forecast for {done.ae} {bc.label(done.month)}: {old} → "
               f"{micros_to_dollars(done.new_micros or 0):,}.")


@forecast_group.command("list")
@_listing_options
@handle_errors
def forecast_list(year: int | None, ae: str | None, fmt: str, output: Path | None,
                  db_path: Path | None) -> None:
    """One row per AE × month with its forecast and its last change."""
    from bookedbiz.reports.planning import plan_listing

    rows = read_with(db_path, plan_listing, ReportFilters(year=year, ae=ae), "forecast")
    emit(rows, (("ae", "AE", "text"), ("month", "Month", "text"), ("gross", "Gross", "money"),
                ("updated_at", "Changed", "text"), ("updated_by", "By", "text"),
                ("note", "Note", "text")), fmt, output, f"Forecasts {year or 'all years'}")


@forecast_group.command("history")
@click.option("--ae", default=None)
@click.option("--month", default=None, help="YYYY-MM or Jan-26.")
@click.option("--format", "fmt", type=FORMATS, default="table", show_default=True)
@db_option
@handle_errors
def forecast_history(ae: str | None, month: str | None, fmt: str, db_path: Path | None) -> None:
    """Every forecast change, newest first: who, when, old, new and the note."""
    rows = _history(db_path, "forecast", ae, month)
    emit(rows, _HISTORY_COLUMNS + (("note", "Note", "text"),), fmt, None, "Forecast changes")


# -- planning reports ---------------------------------------------------------------------------

@click.group("planning")
def planning_group() -> None:
    """The planning table and the quarterly management report."""


def _report_options(func: Callable[..., Any]) -> Callable[..., Any]:
    for option in reversed((
        click.option("--year", type=click.IntRange(1990, 2100), required=True),
        click.option("--ae", default=None, help="Only this AE."),
        click.option("--as-of", type=click.DateTime(["%Y-%m-%d"]), default=None,
                     help="Day booked is compared at (default today)."),
        click.option("--format", "fmt", type=FORMATS, default="table", show_default=True),
        click.option("--output", type=click.Path(dir_okay=False, path_type=Path), default=None),
    )):
        func = option(func)
    return func


@planning_group.command("show")
@_report_options
@click.option("--table", "which", type=click.Choice(["rows", "company", "periods"]),
              default="rows", show_default=True,
              help="AE × month rows, company per month, or quarters and year.")
@db_option
@handle_errors
def planning_show(year: int, ae: str | None, as_of: Any, fmt: str, output: Path | None,
                  which: str, db_path: Path | None) -> None:
    """Budget, forecast, booked, pipeline, variance, % to budget and STLY (gross)."""
    from bookedbiz.reports import planning

    report = read_with(db_path, planning.planning_report, ReportFilters(year=year, ae=ae),
                       as_of=as_of.date() if as_of else None)
    columns = {"rows": planning.ROW_COLUMNS, "company": planning.COMPANY_COLUMNS,
               "periods": planning.PERIOD_COLUMNS}[which]
    emit(report[which if which != "company" else "company"], columns, fmt, output,
         f"Planning {year}")


@planning_group.command("management")
@_report_options
@db_option
@handle_errors
def planning_management(year: int, ae: str | None, as_of: Any, fmt: str, output: Path | None,
                        db_path: Path | None) -> None:
    """Per quarter and year, company and each AE: booked vs budget and forecast, % to target,
    remaining, year over year and pace. ``--format xlsx`` writes the formatted workbook."""
    from bookedbiz.reports import management

    report = read_with(db_path, management.management_report, ReportFilters(year=year, ae=ae),
                       as_of=as_of.date() if as_of else None)
    if fmt == "xlsx":
        if output is None:
            raise click.UsageError("--format xlsx needs --output FILE.")
        output.write_bytes(management.management_xlsx(report, scope=ae or ""))
        click.echo(f"Wrote {output}.")
        return
    columns = (("entity", "Entity", "text"),) + management.COLUMNS
    emit(management.management_rows(report), columns, fmt, output, f"Management {year}")

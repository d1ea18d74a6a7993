"""``bookedbiz report``: the revenue reports in the terminal, as CSV, JSON or XLSX."""

from __future__ import annotations

import io
from decimal import Decimal
from pathlib import Path

import click

from bookedbiz.cli.common import (
    csv_text,
    db_option,
    handle_errors,
    json_text,
    read_connection,
    require_output_for_xlsx,
    station_option,
    with_checked_stations,
    write_or_echo,
)
from bookedbiz.reports.filters import BASES, ReportFilters, station_codes
from bookedbiz.reports.revenue import GROUPINGS, KEY_NAMES, revenue_by, revenue_total


@click.group("report")
def report_group() -> None:
    """Revenue reports (Trade excluded) in the terminal or as files."""


def _columns(by: str) -> list[str]:
    key = KEY_NAMES[by]
    extra = ["language_group"] if by == "language" else []
    return [key, *extra, "gross", "net", "spots"]


@report_group.command("revenue")
@click.option("--year", type=click.IntRange(1990, 2100), default=None,
              help="Broadcast year (default: all years).")
@click.option("--by", "by", type=click.Choice(GROUPINGS), default="month", show_default=True)
@click.option("--measure", type=click.Choice(["gross", "net"]), default="gross",
              show_default=True, help="Which amount sorts and charts the report.")
@click.option("--ae", default=None, help="Only this AE.")
@click.option("--market", default=None, help="Only this market code.")
@click.option("--revenue-type", default=None, help="Only this revenue type.")
@click.option("--basis", type=click.Choice(BASES), default="broadcast", show_default=True,
              help="Months by broadcast month, calendar month of the air date, or billing type.")
@click.option("--sector", default=None, help="Only customers of this sector ('(none)': none).")
@click.option("--revenue-class", default=None,
              help="Only customers of this class: regular, irregular or political.")
@station_option
@click.option("--format", "fmt", type=click.Choice(["table", "csv", "json", "xlsx"]),
              default="table", show_default=True)
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write to this file instead of standard output (required for xlsx).")
@db_option
@handle_errors
def revenue_command(year: int | None, by: str, measure: str, ae: str | None,
                    market: str | None, revenue_type: str | None, basis: str,
                    sector: str | None, revenue_class: str | None, station: tuple[str, ...],
                    fmt: str, output: Path | None, db_path: Path | None) -> None:
    """Revenue grouped by month, AE, customer, agency, market, language, revenue or spot type.

    JSON is a list of objects, one per group: the group key plus gross, net and spots. Each
    figure is the exact sum of its spots rounded to the cent, so the groups may differ from the
    total (the exact sum of every spot, rounded once) by a cent or two.
    """
    with read_connection(db_path) as conn:  # the schema is checked before the filters
        filters = ReportFilters(year=year, measure=measure, ae=ae,
                                market=market.upper() if market else None,
                                revenue_type=revenue_type, basis=basis, sector=sector,
                                revenue_class=revenue_class.lower() if revenue_class else None,
                                stations=station_codes(station))
        filters = with_checked_stations(conn, filters)
        rows = revenue_by(conn, by, filters)
        total = revenue_total(conn, filters)
    columns = _columns(by)
    require_output_for_xlsx(fmt, output)
    if fmt == "xlsx":
        _write_xlsx(rows, columns, by, filters, output, total)
        click.echo(f"Wrote {output} ({len(rows)} rows).")
        return
    if fmt == "json":
        text = json_text(rows, columns)
    elif fmt == "csv":
        text = csv_text(rows, columns)
    else:
        text = _table_text(rows, columns, total, by, filters)
    write_or_echo(text, output, len(rows))


def _table_text(rows, columns, total, by, filters) -> str:
    from rich.console import Console
    from rich.table import Table

    scope = f"{filters.year}" if filters.year else "all years"
    table = Table(title=f"Revenue by {by} — {scope} (Trade excluded)")
    for column in columns:
        table.add_column(column, justify="right" if column in ("gross", "net", "spots") else "left")
    for row in rows:
        table.add_row(*[_fmt(row.get(c)) for c in columns])
    table.add_row("TOTAL", *([""] if by == "language" else []), _fmt(total["gross"]),
                  _fmt(total["net"]), _fmt(total["spots"]), style="bold")
    buffer = io.StringIO()
    Console(file=buffer, width=max(100, 20 * len(columns)), force_terminal=False).print(table)
    return buffer.getvalue().rstrip()


def _fmt(value: object) -> str:
    if isinstance(value, Decimal):
        return f"{value:,.2f}"
    if isinstance(value, int):
        return f"{value:,}"
    return "" if value is None else str(value)


def _write_xlsx(rows, columns, by, filters, output: Path, total) -> None:
    from bookedbiz.reports.tables import Column, Table, to_xlsx

    kinds = {"gross": "money", "net": "money", "spots": "int"}
    table = Table(
        name=f"revenue-by-{by}",
        title=f"Revenue by {by}",
        columns=[Column(c, c.replace("_", " ").title(), kinds.get(c, "text")) for c in columns],
        rows=rows,
        totals=[{columns[0]: "Total", **total}],
    )
    meta = {"year": str(filters.year or "all"), "measure": filters.measure,
            "ae": filters.ae or "", "market": filters.market or "",
            "revenue type": filters.revenue_type or "", "month basis": filters.basis,
            "sector": filters.sector or "", "revenue class": filters.revenue_class or "",
            **({"station": ", ".join(filters.stations)} if filters.stations else {})}
    output.write_bytes(to_xlsx([table], "BookedBiz revenue", meta))


def _add_history_reports() -> None:
    from bookedbiz.cli.history_commands import changes_command, pacing_command

    report_group.add_command(pacing_command)
    report_group.add_command(changes_command)


_add_history_reports()


def register(cli: click.Group) -> None:
    cli.add_command(report_group)



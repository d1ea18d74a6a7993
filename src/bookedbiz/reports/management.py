"""The quarterly management report: booked against budget and forecast, % to target, what
remains, year over year and pace, for the company and each AE (SPEC §2.10), and its formatted
XLSX a manager can forward. Built on the planning grid, so its figures are the planning page's.
Year over year is the pace of SPEC §1.4: open months against the same time last year, closed
months against last year's final figure.
"""

from __future__ import annotations

import io
from dataclasses import replace
from datetime import date
from decimal import Decimal

from sqlalchemy import Connection

from bookedbiz.money import ROUNDING_NOTE, dollars, pct_change, share
from bookedbiz.reports.filters import ReportFilters
from bookedbiz.reports.pacing import newest_as_of
from bookedbiz.reports.planning import QUARTERS, Sums, grid

PERIODS = tuple(name for name, _ in QUARTERS) + ("Year",)
COLUMNS = (  # key, header, kind
    ("period", "Period", "text"),
    ("booked", "Booked", "money"),
    ("budget", "Budget", "money"),
    ("pct_to_budget", "% to budget", "share"),
    ("remaining_to_budget", "Remaining to budget", "money"),
    ("forecast", "Forecast", "money"),
    ("pct_to_forecast", "% to forecast (its months)", "share"),
    ("remaining_to_forecast", "Remaining to forecast", "money"),
    ("pipeline", "Pipeline", "money"),
    ("last_year", "Last year", "money"),
    ("yoy_pct", "YoY %", "pct"),
)


def _period(name: str, sums: Sums) -> dict[str, object]:
    """A quarter or the year. A forecast is measured against the booked business of the
    AE-months that have one (forecasts are entered month by month; comparing a quarter's whole
    booked with one month's forecast would overstate it)."""
    def remaining(target: int | None, booked: int) -> Decimal | None:
        return None if target is None else dollars(max(target - booked, 0))

    return {
        "period": name,
        "booked": dollars(sums.booked),
        "budget": None if sums.budget is None else dollars(sums.budget),
        "pct_to_budget": share(sums.booked, sums.budget),
        "remaining_to_budget": remaining(sums.budget, sums.booked),
        "forecast": None if sums.forecast is None else dollars(sums.forecast),
        "pct_to_forecast": share(sums.forecast_booked, sums.forecast),
        "remaining_to_forecast": remaining(sums.forecast, sums.forecast_booked),
        "pipeline": dollars(sums.pipeline),
        "last_year": None if sums.last_year is None else dollars(sums.last_year),
        "yoy_pct": pct_change(sums.booked, sums.last_year),
    }


def _block(name: str, cells: dict[tuple[int, str], Sums], ae_ids: list[int],
           months: list[str]) -> dict[str, object]:
    periods, year_total = [], Sums()
    for label, offset in QUARTERS:
        quarter = Sums()
        for ae_id in ae_ids:
            for month in months[offset:offset + 3]:
                quarter.add(cells[(ae_id, month)])
                year_total.add(cells[(ae_id, month)])
        periods.append(_period(label, quarter))
    periods.append(_period("Year", year_total))
    return {"name": name, "periods": periods, "_booked": year_total.booked}


def management_report(conn: Connection, filters: ReportFilters, *,
                      as_of: date | None = None) -> dict[str, object]:
    """Company block first, then one block per AE by booked this year (largest first)."""
    as_of = as_of or newest_as_of(conn)
    year = filters.year or as_of.year
    data = grid(conn, replace(filters, year=year), as_of)
    cells, names, months = data["cells"], data["names"], data["months"]
    ae_ids = sorted(names)  # type: ignore[arg-type]
    scoped = filters.ae or filters.scope_ae_id is not None
    company = _block("All AEs shown" if scoped else "Company", cells, ae_ids,  # type: ignore[arg-type]
                     months)  # type: ignore[arg-type]
    blocks = [_block(names[a], cells, [a], months) for a in ae_ids]  # type: ignore[index,arg-type]
    blocks = [b for b in blocks if any(p["booked"] or p["budget"] is not None
                                       or p["forecast"] is not None or p["last_year"]
                                       for p in b["periods"])]  # type: ignore[attr-defined]
    blocks.sort(key=lambda b: (-int(b["_booked"]), str(b["name"]).casefold()))  # type: ignore[call-overload]
    for block in [company, *blocks]:
        block.pop("_booked")
    return {"year": year, "as_of": as_of, "stly_as_of": data["stly_as_of"],
            "stly_known": data["stly_known"], "company": company, "aes": blocks}


def management_rows(report: dict[str, object]) -> list[dict[str, object]]:
    """The report flattened (entity + period columns): what CSV, JSON and XLSX contain."""
    rows = []
    for block in [report["company"], *report["aes"]]:  # type: ignore[list-item]
        for period in block["periods"]:  # type: ignore[index]
            rows.append({"entity": block["name"], **period})  # type: ignore[index]
    return rows


def management_xlsx(report: dict[str, object], *, scope: str = "") -> bytes:
    """A formatted workbook: one sheet, a titled block per entity, money and % formats, the
    entity's year row bold, frozen headers, the rounding note; numbers stay numbers."""
    import xlsxwriter

    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True})
    sheet = book.add_worksheet("Management")
    title = book.add_format({"bold": True, "font_size": 14})
    muted = book.add_format({"italic": True, "font_color": "#666666"})
    head = book.add_format({"bold": True, "bg_color": "#2d5b8f", "font_color": "#ffffff",
                            "border": 1, "text_wrap": True, "valign": "vcenter"})
    entity = book.add_format({"bold": True, "font_size": 12, "bg_color": "#e6ebf1"})
    kinds = {
        "money": book.add_format({"num_format": "$#,##0.00", "border": 1}),
        "pct": book.add_format({"num_format": "0.0\"%\"", "border": 1}),
        "text": book.add_format({"border": 1}),
    }
    kinds["share"] = kinds["pct"]
    bold = {k: book.add_format({**props, "bold": True, "bg_color": "#f4f6f8"})
            for k, props in (("money", {"num_format": "$#,##0.00", "border": 1}),
                             ("pct", {"num_format": "0.0\"%\"", "border": 1}),
                             ("text", {"border": 1}))}
    bold["share"] = bold["pct"]
    sheet.write(0, 0, f"Management report {report['year']}{' · ' + scope if scope else ''}",
                title)
    sheet.write(1, 0, f"Books as of {report['as_of']}. Last year: open months as booked on "
                f"{report['stly_as_of']} (same time last year), closed months final. Gross, "
                f"Trade excluded. {ROUNDING_NOTE}", muted)
    row = 3
    for col, (_, header, _) in enumerate(COLUMNS):
        sheet.write(row, col, header, head)
    sheet.freeze_panes(row + 1, 1)
    row += 1
    for block in [report["company"], *report["aes"]]:  # type: ignore[list-item]
        sheet.merge_range(row, 0, row, len(COLUMNS) - 1, block["name"], entity)  # type: ignore[index]
        row += 1
        for period in block["periods"]:  # type: ignore[index]
            formats = bold if period["period"] == "Year" else kinds
            for col, (key, _, kind) in enumerate(COLUMNS):
                value = period[key]
                if value is None:
                    sheet.write_blank(row, col, None, formats[kind])
                elif kind == "text":
                    sheet.write_string(row, col, str(value), formats[kind])
                else:
                    sheet.write_number(row, col, float(value), formats[kind])
            row += 1
        row += 1
    sheet.set_column(0, 0, 12)
    sheet.set_column(1, len(COLUMNS) - 1, 15)
    sheet.set_row(3, 32)
    book.close()
    return buffer.getvalue()

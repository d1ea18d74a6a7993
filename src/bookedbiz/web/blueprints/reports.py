"""Revenue overview: the 12 broadcast months of a year, quarters, last year, change, chart."""

from __future__ import annotations

from typing import Any

from flask import Blueprint

from bookedbiz.money import ROUNDING_NOTE
from bookedbiz.reports import revenue
from bookedbiz.reports import tables as tbl
from bookedbiz.web.auth import requires
from bookedbiz.web.cache import cached
from bookedbiz.web.view import current_filters, render_report

bp = Blueprint("reports", __name__, url_prefix="/reports")


def _row(period: dict[str, Any], key: str) -> dict[str, Any]:
    """One table row of an overview period (month, quarter or year): lay-out only."""
    return {
        "label": period["label"],
        "weeks": period["weeks"],
        "status": {"closed": "Closed", "open": "Open"}.get(period.get("status", ""), ""),
        "gross": period["gross"],
        "net": period["net"],
        "spots": period["spots"],
        "prior": period[f"prior_{key}"],
        "basis": period.get(f"basis_{key}"),
        "compare_to": {"stly": "STLY", "last_year": "Final", "mixed": "STLY + final"}.get(
            period.get("compare_to", ""), ""),
        "change": period["change"],
        "change_pct": period["change_pct"],
        "closed_by": period.get("closed_by") or "",
        "_class": period.get("status", ""),
    }


def overview_tables(filters) -> tuple[list[tbl.Table], dict[str, Any]]:  # noqa: ANN001
    report = cached(revenue.overview, filters)
    months, quarters, year_total = report["months"], report["quarters"], report["total"]
    key = "net" if filters.measure == "net" else "gross"
    prior_key = f"prior_{key}"
    rows = [_row(m, key) for m in months]
    measure = "Net" if key == "net" else "Gross"
    columns = [
        tbl.Column("label", "Month"),
        tbl.Column("weeks", "Weeks", "int", title="Broadcast weeks in the month"),
        tbl.Column("status", "Status"),
        tbl.Column("gross", "Gross", "money"),
        tbl.Column("net", "Net", "money"),
        tbl.Column("spots", "Spots", "int"),
        tbl.Column("prior", f"{measure} last year", "money",
                   title="The same month last year as it stands now"),
        tbl.Column("basis", "Compared with", "money",
                   title="Open months: booked the same time last year (STLY); closed months: "
                         "last year's final"),
        tbl.Column("compare_to", "Basis"),
        tbl.Column("change", "Change", "money", title="Booked − compared with"),
        tbl.Column("change_pct", "Change %", "pct"),
        tbl.Column("closed_by", "Closed by"),
    ]
    total_row = _row(year_total, key)
    month_table = tbl.Table("months", f"Broadcast months {filters.year}", columns, rows,
                            totals=[total_row], note=ROUNDING_NOTE)
    quarter_rows = [_row(q, key) for q in quarters]
    quarter_columns = [c for c in columns if c.key != "closed_by"]
    quarter_columns[0] = tbl.Column("label", "Quarter")
    quarter_table = tbl.Table("quarters", f"Quarters {filters.year}", quarter_columns,
                              quarter_rows, totals=[total_row], note=ROUNDING_NOTE)
    chart = {
        "kind": "bars",
        "title": f"{measure} booked by broadcast month",
        "x": [m["label"] for m in months],
        "series": [
            {"name": str(filters.year), "y": [float(m[key]) for m in months]},
            {"name": str(filters.year - 1), "y": [float(m[prior_key]) for m in months]},
        ],
        "status": [m["status"] for m in months],
    }
    cards = {
        "total": year_total[key],
        "prior": year_total[prior_key],
        "change_pct": year_total["change_pct"],
        "spots": year_total["spots"],
        "closed": year_total["closed"],
    }
    basis = {"as_of": report.get("as_of"), "stly_as_of": report.get("stly_as_of")}
    return [month_table, quarter_table], {"chart": chart, "cards": cards, "measure": measure,
                                          "basis": basis}


@bp.get("/")
@requires("read_reports")
def overview():  # noqa: ANN201
    filters = current_filters()
    tables, context = overview_tables(filters)
    return render_report("reports/overview.html", "Revenue overview", filters, tables, **context)

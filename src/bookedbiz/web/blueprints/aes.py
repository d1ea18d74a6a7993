"""AEs: one row per AE with monthly booked, last year and change; drill into an AE's customers."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, url_for

from bookedbiz.money import ROUNDING_NOTE, ZERO
from bookedbiz.reports import tables as tbl
from bookedbiz.reports.pages import ae_summary, matrix_totals
from bookedbiz.web.auth import requires
from bookedbiz.web.cache import cached
from bookedbiz.web.view import current_filters, filter_query, month_table_columns, render_report

bp = Blueprint("aes", __name__, url_prefix="/reports/aes")


def aes_table(filters) -> tuple[tbl.Table, dict[str, Any]]:  # noqa: ANN001
    rows = cached(ae_summary, filters)
    month_cols = month_table_columns(filters.year, filters)
    fq = filter_query(filters)
    out = []
    for r in rows:
        row: dict[str, Any] = {
            "ae": r["ae"],
            "customers": r["customers"],
            "total": r["total"],
            "prior": r["prior_total"],
            "basis": r["basis_total"],
            "change": r["change"],
            "change_pct": r["change_pct"],
            "_links": {"ae": url_for("customers.index", **dict(fq, ae=r["ae"]))},
        }
        row.update(r["months"])
        out.append(row)
    totals: dict[str, Any] = {"ae": "All AEs", "customers": None}
    totals.update(matrix_totals(rows, [c.key for c in month_cols]))
    totals["prior"] = totals.pop("prior_total", ZERO)
    totals["basis"] = totals.pop("basis_total", None)
    columns = [
        tbl.Column("ae", "AE"),
        *month_cols,
        tbl.Column("total", "Total", "money"),
        tbl.Column("prior", f"{filters.year - 1}", "money",
                   title="Same filters, last year as it stands"),
        tbl.Column("basis", "STLY / final", "money",
                   title="What the year is compared with: open months as booked the same time "
                         "last year (STLY), closed months last year's final"),
        tbl.Column("change", "Change", "money", title="Total − STLY / final"),
        tbl.Column("change_pct", "Change %", "pct"),
        tbl.Column("customers", "Customers", "int"),
    ]
    measure = "net" if filters.measure == "net" else "gross"
    table = tbl.Table("aes", f"AEs {filters.year} ({measure})", columns, out,
                      totals=[totals] if rows else [], note=ROUNDING_NOTE)
    chart = {
        "kind": "hbars",
        "title": f"{measure.title()} by AE: {filters.year} vs {filters.year - 1}",
        "y": [r["ae"] for r in rows][::-1],
        "series": [
            {"name": str(filters.year), "x": [float(r["total"]) for r in rows][::-1]},
            {"name": str(filters.year - 1), "x": [float(r["prior_total"]) for r in rows][::-1]},
        ],
    }
    return table, {"chart": chart}


@bp.get("/")
@requires("read_reports")
def index():  # noqa: ANN201
    filters = current_filters()
    table, context = aes_table(filters)
    return render_report("reports/aes.html", "AEs", filters, [table], **context)

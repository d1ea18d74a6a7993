"""Breakdowns of booked revenue by market, language, revenue type, agency and spot type."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from flask import Blueprint, abort, redirect, url_for

from bookedbiz.money import ROUNDING_NOTE, share
from bookedbiz.reports import revenue
from bookedbiz.reports import tables as tbl
from bookedbiz.web.auth import requires
from bookedbiz.web.cache import cached
from bookedbiz.web.view import current_filters, filter_query, render_report

bp = Blueprint("breakdowns", __name__, url_prefix="/reports/breakdowns")

# URL segment → (grouping name in bookedbiz.reports.revenue, row key, title)
DIMENSIONS = {
    "market": ("market", "market", "Market"),
    "language": ("language", "language", "Language"),
    "revenue-type": ("revenue-type", "revenue_type", "Revenue type"),
    "agency": ("agency", "agency", "Agency"),
    "spot-type": ("spot-type", "spot_type", "Spot type"),
}
_VALUE_KEYS = {"gross", "net", "spots", "bucket"}


def breakdown_table(filters, dimension: str) -> tuple[tbl.Table, dict[str, Any]]:  # noqa: ANN001
    grouping, key, title = DIMENSIONS[dimension]
    rows = cached(revenue.revenue_by, grouping, filters)
    exact_total = cached(revenue.revenue_total, filters)
    measure = "net" if filters.measure == "net" else "gross"
    total = exact_total[measure]
    label_keys = [k for k in (rows[0].keys() if rows else [key]) if k not in _VALUE_KEYS]
    if key in label_keys:  # the grouping key first, any extra labels (e.g. language group) next
        label_keys.remove(key)
        label_keys.insert(0, key)
    out = []
    for r in rows:
        row = {k: ("" if r.get(k) is None else r.get(k)) for k in label_keys}
        row.update(gross=r["gross"], net=r["net"], spots=r["spots"])
        row["share"] = share(r[measure], total)
        out.append(row)
    columns = [tbl.Column(k, _label(k, title, key)) for k in label_keys] + [
        tbl.Column("gross", "Gross", "money"),
        tbl.Column("net", "Net", "money"),
        tbl.Column("spots", "Spots", "int"),
        tbl.Column("share", f"Share of {measure} %", "share"),
    ]
    totals = {k: "" for k in label_keys}
    totals[label_keys[0]] = "Total"
    # The total is the exact sum of the same spots rounded once (SPEC §1.2), not the sum of
    # the rounded rows: it equals the overview's year and the CLI's total to the cent.
    totals.update(
        gross=exact_total["gross"],
        net=exact_total["net"],
        spots=exact_total["spots"],
        share=Decimal("100.0") if total else None,
    )
    table = tbl.Table(f"by-{dimension}", f"{title} {filters.year} ({measure})", columns, out,
                      totals=[totals] if rows else [], note=ROUNDING_NOTE)
    top = sorted(out, key=lambda r: r[measure], reverse=True)[:25]
    chart = {
        "kind": "hbars",
        "title": f"{measure.title()} by {title.lower()}, {filters.year}",
        "y": [str(r[label_keys[0]]) or "(blank)" for r in top][::-1],
        "series": [{"name": measure.title(), "x": [float(r[measure]) for r in top][::-1]}],
    }
    return table, {"chart": chart}


def _label(column: str, title: str, key: str) -> str:
    if column == key:
        return title
    return column.replace("_", " ").capitalize()


@bp.get("/")
@requires("read_reports")
def index():  # noqa: ANN201
    query = filter_query(current_filters())
    return redirect(url_for("breakdowns.show", dimension="market", **query))


@bp.get("/<dimension>")
@requires("read_reports")
def show(dimension: str):  # noqa: ANN201
    if dimension not in DIMENSIONS:
        abort(404)
    filters = current_filters()
    table, context = breakdown_table(filters, dimension)
    return render_report(
        "reports/breakdown.html",
        f"By {DIMENSIONS[dimension][2].lower()}",
        filters,
        [table],
        dimension=dimension,
        dimensions={k: v[2] for k, v in DIMENSIONS.items()},
        **context,
    )

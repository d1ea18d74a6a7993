"""Breakdowns of booked revenue by market, language, revenue type, agency, spot type, sector and
revenue class; the numbers come whole from reports.breakdowns, the view lays them out."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, redirect, url_for

from bookedbiz.money import ROUNDING_NOTE, share
from bookedbiz.reports import breakdowns as report
from bookedbiz.reports import tables as tbl
from bookedbiz.web.auth import requires
from bookedbiz.web.cache import cached
from bookedbiz.web.view import current_filters, filter_query, multi_station, render_report

bp = Blueprint("breakdowns", __name__, url_prefix="/reports/breakdowns")

DIMENSIONS = {name: d.title for name, d in report.DIMENSIONS.items()}


def breakdown_table(filters, dimension: str) -> tuple[list[tbl.Table], dict[str, Any]]:  # noqa: ANN001
    data = cached(report.breakdown, dimension, filters)
    key, title = data["key"], data["title"]
    measure = "net" if filters.measure == "net" else "gross"
    detail_url = url_for("customers.detail", customer_id=0)[: -len("/0")] + "/"
    query_text = url_for("customers.index", **filter_query(filters)).partition("?")[2]
    suffix = f"?{query_text}" if query_text else ""
    out = []
    for r in data["rows"]:
        row = {k: v for k, v in r.items() if k not in ("value", "top_customer_id")}
        links: dict[str, str] = {}
        name = data["filter_name"]
        if name and (r["value"] != "(none)" or name == "sector"):
            # the row's customers: the customers page filtered to this row
            links["customers"] = url_for("customers.index",
                                         **filter_query(filters, **{name: r["value"]}))
        if r["top_customer_id"] is not None:
            links["top_customer"] = f"{detail_url}{r['top_customer_id']}{suffix}"
        row["_links"] = links
        out.append(row)
    extra = [c for c in ("name", "language_group") if out and c in out[0]]
    columns = [tbl.Column(key, title)] + [
        tbl.Column(c, "Name" if c == "name" else "Group") for c in extra] + [
        tbl.Column("gross", "Gross", "money"),
        tbl.Column("net", "Net", "money"),
        tbl.Column("spots", "Spots", "int"),
        tbl.Column("share", f"Share of {measure} %", "share"),
        tbl.Column("prior", f"{filters.year - 1} {measure}", "money"),
        tbl.Column("change", "Change", "money"),
        tbl.Column("change_pct", "Change %", "pct"),
        tbl.Column("customers", "Customers", "int"),
        tbl.Column("top_customer", "Largest customer"),
    ]
    total = data["total"]
    totals = {c.key: "" for c in columns}
    totals.update({key: "Total", "gross": total["gross"], "net": total["net"],
                   "spots": total["spots"], "share": share(total[measure], total[measure]),
                   "prior": total["prior"], "change": total["change"],
                   "change_pct": total["change_pct"], "customers": None})
    note = ROUNDING_NOTE
    if data["gone"]:
        note += (f" Last year's total also holds {', '.join(data['gone'][:10])}"
                 f"{' …' if len(data['gone']) > 10 else ''}, with no business this year.")
    table = tbl.Table(f"by-{dimension}", f"{title} {filters.year} ({measure})", columns, out,
                      totals=[totals] if out else [], note=note)
    tables = [table]
    if dimension == "language":
        tables.append(_language_market_table(cached(report.language_by_market, filters),
                                             filters, measure))
    top = sorted(data["rows"], key=lambda r: r[measure], reverse=True)[:25]
    chart = {
        "kind": "hbars",
        "title": f"{measure.title()} by {title.lower()}, {filters.year}",
        "y": [str(r[key]) or "(blank)" for r in top][::-1],
        "series": [{"name": measure.title(), "x": [float(r[measure]) for r in top][::-1]}],
    }
    return tables, {"chart": chart}


def _language_market_table(matrix: dict[str, Any], filters, measure: str) -> tbl.Table:  # noqa: ANN001
    columns = [tbl.Column("language", "Language")] + [
        tbl.Column(f"m:{m}", m, "money") for m in matrix["markets"]] + [
        tbl.Column("total", "Total", "money")]
    rows = []
    for r in matrix["rows"]:
        row = {"language": r["language"], "total": r["total"]}
        row.update({f"m:{m}": v for m, v in r["markets"].items()})
        rows.append(row)
    totals = {"language": "Total", "total": matrix["total"]}
    totals.update({f"m:{m}": v for m, v in matrix["totals"].items()})
    return tbl.Table("language-market", f"Language × market {filters.year} ({measure})",
                     columns, rows, totals=[totals] if rows else [], note=ROUNDING_NOTE)


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
    tables, context = breakdown_table(filters, dimension)
    return render_report(
        "reports/breakdown.html",
        f"By {DIMENSIONS[dimension].lower()}",
        filters,
        tables,
        dimension=dimension,
        # the station tab only where there is more than one station
        dimensions={k: v for k, v in DIMENSIONS.items() if k != "station" or multi_station()},
        **context,
    )

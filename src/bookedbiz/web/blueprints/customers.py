"""Customers: customer × AE rows with 12 months and a total; one customer's detail page."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from flask import Blueprint, abort, request, url_for

from bookedbiz.broadcast_calendar import label, shift_month
from bookedbiz.money import ROUNDING_NOTE
from bookedbiz.reports import customer_detail as cdetail
from bookedbiz.reports import tables as tbl
from bookedbiz.reports.pages import customer_month_matrix, matrix_totals
from bookedbiz.web.auth import requires
from bookedbiz.web.cache import cached
from bookedbiz.web.db import read_conn
from bookedbiz.web.view import (
    current_filters,
    filter_query,
    is_scoped,
    month_table_columns,
    render_report,
)

bp = Blueprint("customers", __name__, url_prefix="/reports/customers")

SORTS = {
    "ae": ("AE, then customer", lambda r: (r["ae"].lower(), r["customer"].lower())),
    "total_desc": ("Total, largest first", lambda r: (-r["total"], r["customer"].lower())),
    "customer": ("Customer name", lambda r: (r["customer"].lower(), r["ae"].lower())),
    "total_asc": ("Total, smallest first", lambda r: (r["total"], r["customer"].lower())),
}


def customers_table(filters, search: str, sort: str, new_only: bool) -> tuple[tbl.Table, dict]:  # noqa: ANN001
    rows = cached(customer_month_matrix, filters, None)
    needle = search.lower()
    rows = [
        r for r in rows
        if (not new_only or r["is_new"])
        and (not needle or needle in r["customer"].lower() or needle in r["ae"].lower())
    ]
    rows.sort(key=SORTS.get(sort, SORTS["ae"])[1])
    month_cols = month_table_columns(filters.year)
    # One url_for for the whole table (hundreds of calls were a visible share of the page).
    detail_url = url_for("customers.detail", customer_id=0, **filter_query(filters))
    path, _, query = detail_url.partition("?")
    prefix, suffix = path[: -len("/0")] + "/", ("?" + query if query else "")
    out = []
    for r in rows:
        row: dict[str, Any] = {
            "customer": r["customer"],
            "ae": r["ae"],
            "new": "NEW" if r["is_new"] else "",
            "total": r["total"],
            "_links": {"customer": f"{prefix}{r['customer_id']}{suffix}"},
            "_class": "is-new" if r["is_new"] else "",
        }
        row.update(r["months"])
        out.append(row)
    totals: dict[str, Any] = {"customer": "Monthly totals", "ae": "", "new": ""}
    totals.update(matrix_totals(rows, [c.key for c in month_cols]))
    columns = [
        tbl.Column("customer", "Customer"),
        tbl.Column("ae", "AE"),
        tbl.Column("new", "New", title="No booked business in any earlier year"),
        *month_cols,
        tbl.Column("total", "Total", "money"),
    ]
    measure = "net" if filters.measure == "net" else "gross"
    table = tbl.Table("customers", f"Customers {filters.year} ({measure})", columns, out,
                      totals=[totals] if rows else [], note=ROUNDING_NOTE)
    customer_ids = {r["customer_id"] for r in rows}
    cards = {
        "customers": len(customer_ids),
        "active": len({r["customer_id"] for r in rows if r["total"] != 0}),
        "new": len({r["customer_id"] for r in rows if r["is_new"]}),
        "rows": len(rows),
        "total": totals["total"],
    }
    return table, cards


@bp.get("/")
@requires("read_reports")
def index():  # noqa: ANN201
    filters = current_filters()
    search = (request.args.get("q") or "").strip()[:100]
    sort = request.args.get("sort") if request.args.get("sort") in SORTS else "ae"
    new_only = request.args.get("new") == "1"
    table, cards = customers_table(filters, search, sort, new_only)
    return render_report(
        "reports/customers.html",
        "Customers",
        filters,
        [table],
        cards=cards,
        search=search,
        sort=sort,
        sorts={k: v[0] for k, v in SORTS.items()},
        new_only=new_only,
    )


@bp.get("/<int:customer_id>")
@requires("read_reports")
def detail(customer_id: int):  # noqa: ANN201
    filters = current_filters()
    conn = read_conn()
    header = cdetail.customer_header(conn, customer_id)
    history = cached(cdetail.customer_history, customer_id, filters)
    if is_scoped(filters) and not history["months"]:
        abort(404)  # not in the reader's book: as if it did not exist
    if not request.args.get("year") and history["years"] and filters.year not in history["years"]:
        # no year asked for: show the customer's latest year with business, not an empty one
        filters = filters.with_year(max(history["years"]))
    measure = "net" if filters.measure == "net" else "gross"
    month_keys = [f"{m:02d}" for m in range(1, 13)]
    year_rows = []
    for year, months in sorted(history["years"].items(), reverse=True):
        row: dict[str, Any] = {"year": str(year)}
        for mm in month_keys:
            row[mm] = months.get(f"{year}-{mm}")
        row["total"] = history["year_totals"][year]
        year_rows.append(row)
    month_names = [label(f"2000-{mm}")[:3] for mm in month_keys]
    history_table = tbl.Table(
        "history",
        f"Monthly history ({measure}, all years)",
        [tbl.Column("year", "Year")]
        + [tbl.Column(mm, name, "money") for mm, name in zip(month_keys, month_names,
                                                              strict=True)]
        + [tbl.Column("total", "Total", "money")],
        year_rows,
        empty_message="This customer has no booked business for these filters.",
        note=ROUNDING_NOTE,
    )
    year_total = cached(cdetail.customer_total, customer_id, filters)
    breakdown_tables = []
    for dimension, title in (("ae", "AEs"), ("agency", "Agencies"), ("market", "Markets"),
                             ("language", "Languages"), ("revenue_type", "Revenue types")):
        rows = cached(cdetail.customer_breakdown, customer_id, filters, dimension)
        breakdown_tables.append(
            tbl.Table(
                f"by-{dimension}",
                f"{title} {filters.year}",
                [tbl.Column("label", title[:-1] if title != "Agencies" else "Agency"),
                 tbl.Column("gross", "Gross", "money"), tbl.Column("net", "Net", "money"),
                 tbl.Column("spots", "Spots", "int"), tbl.Column("share", "Share %", "share")],
                rows,
                totals=[_total(year_total)] if rows else [],
                empty_message=f"No booked business in {filters.year}.",
            )
        )
    by_month = {m["month"]: m[measure] for m in history["months"]}
    span = _month_span(min(by_month), max(by_month)) if by_month else []
    chart = {
        "kind": "bars",
        "title": f"{measure.title()} by broadcast month, all years",
        "x": [label(m) for m in span],
        "series": [{"name": measure.title(), "y": [float(by_month.get(m, 0)) for m in span]}],
    }
    return render_report(
        "reports/customer_detail.html",
        header["name"],
        filters,
        [history_table, *breakdown_tables],
        customer=header,
        chart=chart,
    )


def _month_span(first: str, last: str) -> list[str]:
    months, current = [], first
    while current <= last:
        months.append(current)
        current = shift_month(current, 1)
    return months


def _total(total: dict[str, Any]) -> dict[str, Any]:
    return {"label": "Total", "gross": total["gross"], "net": total["net"],
            "spots": total["spots"], "share": Decimal("100.0")}

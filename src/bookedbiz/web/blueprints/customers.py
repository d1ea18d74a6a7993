"""Customers: customer × AE rows with 12 months and a total; one customer's detail page."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from flask import Blueprint, abort, request, url_for

from bookedbiz.broadcast_calendar import label, shift_month
from bookedbiz.money import ROUNDING_NOTE, share
from bookedbiz.reports import customer_detail as cdetail
from bookedbiz.reports import tables as tbl
from bookedbiz.reports.pages import CUSTOMER_SORTS, CUSTOMER_STATUSES, customers_page
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

SORTS = CUSTOMER_SORTS
STATUSES = CUSTOMER_STATUSES


def customers_table(filters, search: str, sort: str, new_only: bool,  # noqa: ANN001
                    status: str = "") -> tuple[tbl.Table, tbl.Table, dict]:
    """Lay out reports.pages.customers_page: columns, links, the lost table."""
    page = cached(customers_page, filters, search, status, new_only, sort)
    month_cols = month_table_columns(filters.year, filters)
    if filters.basis != "broadcast":  # broadcast weeks say nothing about calendar months
        month_cols = [replace(c, sub="", title=f"{c.label} ({filters.basis} basis)")
                      for c in month_cols]
    # One url_for for the whole table (hundreds of calls were a visible share of the page).
    detail_url = url_for("customers.detail", customer_id=0, **filter_query(filters))
    path, _, query = detail_url.partition("?")
    prefix, suffix = path[: -len("/0")] + "/", ("?" + query if query else "")
    out = []
    for r in page["rows"]:
        row: dict[str, Any] = {
            "customer": r["customer"],
            "this_year": r["total"],
            "total": r["total"],
            "ae": r["ae"],
            "status": r["status"],
            "prior_total": r["prior_total"],
            "change": r["change"],
            "change_pct": r["change_pct"],
            "_links": {"customer": f"{prefix}{r['customer_id']}{suffix}"},
            "_class": f"is-{r['status']}",
        }
        row.update(r["months"])
        out.append(row)
    totals: dict[str, Any] = {"customer": "Monthly totals", "ae": "", "status": "",
                              **page["totals"]}
    totals["this_year"] = totals["total"]
    columns = [
        tbl.Column("customer", "Customer"),
        tbl.Column("this_year", f"{filters.year}", "money",
                   title="This year's total, beside the name (also the last column)"),
        tbl.Column("prior_total", "Last year", "money", title=f"{filters.year - 1}"),
        tbl.Column("change", "Change", "money"),
        tbl.Column("change_pct", "Change %", "pct"),
        tbl.Column("status", "Status",
                   title="new: no business before this year; lost: none this year after "
                         "business last year; up / down / flat against last year"),
        tbl.Column("ae", "AE"),
        *month_cols,
        tbl.Column("total", "Total", "money"),
    ]
    measure = "net" if filters.measure == "net" else "gross"
    table = tbl.Table("customers", f"Customers {filters.year} ({measure})", columns, out,
                      totals=[totals] if out else [], note=ROUNDING_NOTE)
    lost_rows = [
        {"customer": r["customer"], "ae": r["ae"], "prior_total": r["prior_total"],
         "change": r["change"], "_links": {"customer": f"{prefix}{r['customer_id']}{suffix}"}}
        for r in page["lost"]
    ]
    lost_table = tbl.Table(
        "lost", f"Lost since {filters.year - 1}: business last year, none in {filters.year}",
        [tbl.Column("customer", "Customer"), tbl.Column("ae", "AE"),
         tbl.Column("prior_total", "Last year", "money"), tbl.Column("change", "Change", "money")],
        lost_rows, empty_message="No customer lost since last year for these filters.")
    return table, lost_table, page["cards"]


@bp.get("/")
@requires("read_reports")
def index():  # noqa: ANN201
    filters = current_filters()
    search = (request.args.get("q") or "").strip()[:100]
    sort = request.args.get("sort") if request.args.get("sort") in SORTS else "ae"
    new_only = request.args.get("new") == "1"
    status = request.args.get("status") if request.args.get("status") in STATUSES else ""
    table, lost_table, cards = customers_table(filters, search, sort, new_only, status)
    return render_report(
        "reports/customers.html",
        "Customers",
        filters,
        [table, lost_table],
        cards=cards,
        search=search,
        sort=sort,
        sorts={k: v[0] for k, v in SORTS.items()},
        new_only=new_only,
        status=status,
        statuses=STATUSES,
    )


@bp.get("/<int:customer_id>")
@requires("read_reports")
def detail(customer_id: int):  # noqa: ANN201
    filters = current_filters()
    start = (request.args.get("from") or "").strip()[:10] or None
    end = (request.args.get("to") or "").strip()[:10] or None
    page = request.args.get("page", "1")
    page_number = int(page) if page.isdigit() and 0 < int(page) < 100_000 else 1
    history = cached(cdetail.customer_history, customer_id, filters)
    if is_scoped(filters) and not history["months"]:
        cdetail.customer_header(read_conn(), customer_id)  # 404 for an unknown id either way
        abort(404)  # not in the reader's book: as if it did not exist
    if not request.args.get("year") and history["years"] and filters.year not in history["years"]:
        # no year asked for: show the customer's latest year with business, not an empty one
        filters = filters.with_year(max(history["years"]))
    report = cached(cdetail.customer_report, customer_id, filters, start, end, page_number)
    measure = "net" if filters.measure == "net" else "gross"
    period = (f"{label(report['range'][0])} – {label(report['range'][1])}"
              if report["range"] else str(filters.year))
    tables = [_history_table(report["history"], measure),
              *_breakdown_tables(report, period, measure), _recent_table(report["recent"])]
    by_month = {m["month"]: m[measure] for m in report["history"]["months"]}
    span = _month_span(min(by_month), max(by_month)) if by_month else []
    chart = {
        "kind": "bars",
        "title": f"{measure.title()} by month, all years",
        "x": [label(m) for m in span],
        "series": [{"name": measure.title(), "y": [float(by_month.get(m, 0)) for m in span]}],
    }
    return render_report(
        "reports/customer_detail.html",
        report["customer"]["name"],
        filters,
        tables,
        customer=report["customer"],
        summary=report["summary"],
        recent=report["recent"],
        period=period,
        range_from=start or "",
        range_to=end or "",
        chart=chart,
    )


def _history_table(history: dict[str, Any], measure: str) -> tbl.Table:
    month_keys = [f"{m:02d}" for m in range(1, 13)]
    year_rows = []
    for year, months in sorted(history["years"].items(), reverse=True):
        row: dict[str, Any] = {"year": str(year)}
        for mm in month_keys:
            row[mm] = months.get(f"{year}-{mm}")
        row["total"] = history["year_totals"][year]
        year_rows.append(row)
    month_names = [label(f"2000-{mm}")[:3] for mm in month_keys]
    return tbl.Table(
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


def _breakdown_tables(report: dict[str, Any], period: str, measure: str) -> list[tbl.Table]:
    tables = []
    for dimension, title, singular in (
            ("ae", "AEs", "AE"), ("agency", "Agencies it bought through", "Agency"),
            ("market", "Markets", "Market"), ("language", "Languages", "Language"),
            ("revenue_type", "Revenue types", "Revenue type")):
        rows = report["breakdowns"][dimension]
        tables.append(tbl.Table(
            f"by-{dimension}",
            f"{title}, {period}",
            [tbl.Column("label", singular),
             tbl.Column("gross", "Gross", "money"), tbl.Column("net", "Net", "money"),
             tbl.Column("spots", "Spots", "int"), tbl.Column("share", "Share %", "share")],
            rows,
            totals=[_total(report["total"], measure)] if rows else [],
            empty_message=f"No booked business in {period}.",
        ))
    return tables


def _recent_table(recent: dict[str, Any]) -> tbl.Table:
    return tbl.Table(
        "recent",
        f"Spots, newest first (page {recent['page']} of {recent['pages']}, "
        f"{recent['total']} spots)",
        [tbl.Column("air_date", "Air date"), tbl.Column("bill_code", "Bill code"),
         tbl.Column("agency", "Agency"), tbl.Column("ae", "AE"), tbl.Column("market", "Market"),
         tbl.Column("language", "Lang"), tbl.Column("spot_type", "Type"),
         tbl.Column("length", "Sec", "int"), tbl.Column("contract", "Contract"),
         tbl.Column("gross", "Gross", "money"), tbl.Column("net", "Net", "money")],
        recent["rows"],
        empty_message="No spots for these filters.",
    )


def _month_span(first: str, last: str) -> list[str]:
    months, current = [], first
    while current <= last:
        months.append(current)
        current = shift_month(current, 1)
    return months


def _total(total: dict[str, Any], measure: str) -> dict[str, Any]:
    """The totals row: its share is 100% of a positive total, blank when the total is zero
    or negative (as on the rows: a share of a net loss reads as nonsense)."""
    return {"label": "Total", "gross": total["gross"], "net": total["net"],
            "spots": total["spots"], "share": share(total[measure], total[measure])}

"""Revenue overview: the 12 broadcast months of a year, quarters, last year, change, chart."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from flask import Blueprint

from bookedbiz.reports import revenue
from bookedbiz.reports.pages import pct_change
from bookedbiz.web import tables as tbl
from bookedbiz.web.cache import cached
from bookedbiz.web.view import current_filters, render_report

bp = Blueprint("reports", __name__, url_prefix="/reports")


def overview_tables(filters) -> tuple[list[tbl.Table], dict[str, Any]]:  # noqa: ANN001
    months = cached(revenue.monthly_overview, filters)
    key = "net" if filters.measure == "net" else "gross"
    prior_key = f"prior_{key}"
    rows = []
    for m in months:
        current, prior = m[key], m[prior_key]
        rows.append(
            {
                "label": m["label"],
                "weeks": m["weeks"],
                "status": "Closed" if m["status"] == "closed" else "Open",
                "gross": m["gross"],
                "net": m["net"],
                "spots": m["spots"],
                "prior": prior,
                "change": current - prior if prior is not None else None,
                "change_pct": pct_change(current, prior) if prior is not None else None,
                "closed_by": m.get("closed_by") or "",
                "_class": m["status"],
            }
        )
    measure = "Net" if key == "net" else "Gross"
    columns = [
        tbl.Column("label", "Month"),
        tbl.Column("weeks", "Weeks", "int", title="Broadcast weeks in the month"),
        tbl.Column("status", "Status"),
        tbl.Column("gross", "Gross", "money"),
        tbl.Column("net", "Net", "money"),
        tbl.Column("spots", "Spots", "int"),
        tbl.Column("prior", f"{measure} last year", "money"),
        tbl.Column("change", "Change", "money"),
        tbl.Column("change_pct", "Change %", "pct"),
        tbl.Column("closed_by", "Closed by"),
    ]
    year_total = _sum_rows(rows, "Year total", key)
    year_total["weeks"] = sum(m["weeks"] for m in months)
    month_table = tbl.Table("months", f"Broadcast months {filters.year}", columns, rows,
                            totals=[year_total])
    quarter_rows = []
    for q in range(4):
        chunk = rows[q * 3 : q * 3 + 3]
        statuses = {m["status"] for m in months[q * 3 : q * 3 + 3]}
        row = _sum_rows(chunk, f"Q{q + 1} {filters.year}", key)
        row["weeks"] = sum(m["weeks"] for m in months[q * 3 : q * 3 + 3])
        row["status"] = "Closed" if statuses == {"closed"} else "Open"
        row["_class"] = "closed" if statuses == {"closed"} else "open"
        quarter_rows.append(row)
    quarter_columns = [c for c in columns if c.key != "closed_by"]
    quarter_columns[0] = tbl.Column("label", "Quarter")
    quarter_table = tbl.Table("quarters", f"Quarters {filters.year}", quarter_columns,
                              quarter_rows, totals=[dict(year_total, closed_by="")])
    chart = {
        "kind": "bars",
        "title": f"{measure} booked by broadcast month",
        "x": [m["label"] for m in months],
        "series": [
            {"name": str(filters.year), "y": [float(m[key]) for m in months]},
            {"name": str(filters.year - 1),
             "y": [float(m[prior_key] or 0) for m in months]},
        ],
        "status": [m["status"] for m in months],
    }
    cards = {
        "total": year_total[key],
        "prior": year_total["prior"],
        "change_pct": year_total["change_pct"],
        "spots": year_total["spots"],
        "closed": sum(1 for m in months if m["status"] == "closed"),
    }
    return [month_table, quarter_table], {"chart": chart, "cards": cards, "measure": measure}


def _sum_rows(rows: list[dict[str, Any]], label: str, key: str) -> dict[str, Any]:
    total: dict[str, Any] = {"label": label, "status": "", "closed_by": ""}
    for name in ("gross", "net", "prior", "change"):
        values = [r[name] for r in rows if r[name] is not None]
        total[name] = sum(values, Decimal(0)) if values else None
    total["spots"] = sum(r["spots"] for r in rows)
    prior = total["prior"]
    total["change_pct"] = pct_change(total[key], prior) if prior is not None else None
    return total


@bp.get("/")
def overview():  # noqa: ANN201
    filters = current_filters()
    tables, context = overview_tables(filters)
    return render_report("reports/overview.html", "Revenue overview", filters, tables, **context)

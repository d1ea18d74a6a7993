"""One customer on one page: who they are, their monthly history across years, and who/where.

Reads ``spot_summary`` (Trade excluded) plus the entity tables; amounts are Decimal dollars.
"""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, text

from bookedbiz.errors import NotFoundError
from bookedbiz.languages.assign import SPECIAL_BUCKETS
from bookedbiz.money import dollars, share
from bookedbiz.reports.filters import ReportFilters
from bookedbiz.reports.pages import summary_where


def customer_header(conn: Connection, customer_id: int) -> dict[str, Any]:
    row = conn.execute(
        text(
            "SELECT c.customer_id, c.name, c.auto_created, c.is_active, c.merged_into, "
            "c.created_at, a.name FROM customers c LEFT JOIN agencies a ON a.agency_id = "
            "c.agency_id WHERE c.customer_id = :c"
        ),
        {"c": customer_id},
    ).first()
    if row is None:
        raise NotFoundError(f"There is no customer with id {customer_id}.")
    aliases = conn.execute(
        text(
            "SELECT alias_text, created_by, created_at, is_active FROM customer_aliases "
            "WHERE customer_id = :c ORDER BY alias_text"
        ),
        {"c": customer_id},
    ).all()
    merged = conn.execute(
        text("SELECT customer_id, name FROM customers WHERE merged_into = :c ORDER BY name"),
        {"c": customer_id},
    ).all()
    survivor = None
    if row[4] is not None:
        survivor_row = conn.execute(
            text("SELECT customer_id, name FROM customers WHERE customer_id = :c"), {"c": row[4]}
        ).first()
        survivor = dict(customer_id=survivor_row[0], name=survivor_row[1]) if survivor_row else None
    return {
        "customer_id": row[0],
        "name": row[1],
        "auto_created": bool(row[2]),
        "is_active": bool(row[3]),
        "merged_into": survivor,
        "created_at": row[5],
        "agency": row[6],
        "aliases": [
            dict(alias=a[0], created_by=a[1], created_at=a[2], is_active=bool(a[3]))
            for a in aliases
        ],
        "merged_from": [dict(customer_id=m[0], name=m[1]) for m in merged],
    }


def customer_history(conn: Connection, customer_id: int, filters: ReportFilters) -> dict[str, Any]:
    """Monthly gross/net/spots for every year the customer booked, plus a year × month grid and
    each year's total (the exact sum of the year's spots, rounded once)."""
    scoped = _with_customer(filters, customer_id)
    where, params = summary_where(scoped)
    sql = (
        "SELECT s.broadcast_month, SUM(s.gross_micros), SUM(s.net_micros), SUM(s.spots) "  # noqa: S608
        f"FROM spot_summary s WHERE {where} GROUP BY s.broadcast_month ORDER BY 1"
    )
    rows = conn.execute(text(sql), params).all()
    months = [
        {"month": m, "gross": dollars(g), "net": dollars(n), "spots": int(c or 0)}
        for m, g, n, c in rows
    ]
    years: dict[int, dict[str, Decimal]] = defaultdict(dict)
    year_micros: dict[int, int] = defaultdict(int)
    key = "net" if filters.measure == "net" else "gross"
    for row, (_month, gross, net, _spots) in zip(months, rows, strict=True):
        year = int(row["month"][:4])
        years[year][row["month"]] = row[key]
        year_micros[year] += int((net if key == "net" else gross) or 0)
    return {"months": months, "years": dict(sorted(years.items())),
            "year_totals": {year: dollars(year_micros[year]) for year in sorted(year_micros)}}


def customer_total(conn: Connection, customer_id: int, filters: ReportFilters) -> dict[str, Any]:
    """The customer's exact gross, net and spots (for ``filters.year`` when set): the total row
    of every breakdown on the detail page."""
    scoped = _with_customer(filters, customer_id)
    where, params = scoped.where("s")
    gross, net, spots = conn.execute(
        text("SELECT SUM(s.gross_micros), SUM(s.net_micros), SUM(s.spots) "  # noqa: S608
             f"FROM spot_summary s WHERE {where}"),
        params,
    ).one()
    return {"gross": dollars(gross), "net": dollars(net), "spots": int(spots or 0),
            "gross_micros": int(gross or 0), "net_micros": int(net or 0)}


def customer_breakdown(
    conn: Connection, customer_id: int, filters: ReportFilters, dimension: str
) -> list[dict[str, Any]]:
    """The customer's booked business by AE, market, language bucket, revenue type or agency
    (for ``filters.year`` when set, else all years), largest first, with share of the total."""
    scoped = _with_customer(filters, customer_id)
    where, params = summary_where(scoped)
    if filters.year is not None:
        where += " AND s.broadcast_month BETWEEN :start AND :end"
        params.update(start=f"{filters.year:04d}-01", end=f"{filters.year:04d}-12")
    select, join = {
        "ae": ("COALESCE(x.name, 'Unassigned')", "LEFT JOIN aes x ON x.ae_id = s.ae_id"),
        "market": ("s.market_code", ""),
        "language": (
            "COALESCE(x.name, s.language_bucket)",
            "LEFT JOIN languages x ON x.code = s.language_bucket",
        ),
        "revenue_type": ("s.revenue_type", ""),
        "agency": (
            "COALESCE(x.name, '(direct)')",
            "LEFT JOIN agencies x ON x.agency_id = s.agency_id",
        ),
    }[dimension]
    sql = (
        f"SELECT {select} AS label, SUM(s.gross_micros), SUM(s.net_micros), SUM(s.spots) "  # noqa: S608
        f"FROM spot_summary s {join} WHERE {where} GROUP BY label"
    )
    found = conn.execute(text(sql), params).all()
    key = "net" if filters.measure == "net" else "gross"
    exact = [int((net if key == "net" else gross) or 0) for _label, gross, net, _spots in found]
    whole = sum(exact)
    rows = []
    for (label, gross, net, spots), amount in zip(found, exact, strict=True):
        name = SPECIAL_BUCKETS.get(label, label) if dimension == "language" else label
        rows.append({"label": name or "(blank)", "gross": dollars(gross), "net": dollars(net),
                     "spots": int(spots or 0), "share": share(amount, whole)})
    rows.sort(key=lambda r: (-r[key], r["label"].lower()))
    return rows


def _with_customer(filters: ReportFilters, customer_id: int) -> ReportFilters:
    from dataclasses import replace

    return replace(filters, customer_id=customer_id)


def search_customers(conn: Connection, query: str, limit: int = 50) -> list[dict[str, Any]]:
    """Customers whose name contains ``query`` (case-insensitive), for pickers and merges."""
    needle = f"%{(query or '').strip().lower()}%"
    rows = conn.execute(
        text(
            "SELECT customer_id, name, auto_created, merged_into FROM customers "
            "WHERE lower(name) LIKE :q ORDER BY name LIMIT :n"
        ),
        {"q": needle, "n": limit},
    ).all()
    return [
        dict(customer_id=r[0], name=r[1], auto_created=bool(r[2]), merged_into=r[3]) for r in rows
    ]

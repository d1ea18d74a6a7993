"""One customer on one page: who they are, their monthly history across years, and who/where.

Reads ``spot_summary`` (Trade excluded) plus the entity tables; amounts are Decimal dollars.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import replace
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, text

from bookedbiz.errors import ConfigError, NotFoundError
from bookedbiz.languages.assign import SPECIAL_BUCKETS
from bookedbiz.money import dollars, pct_change, share
from bookedbiz.reports.filters import ReportFilters
from bookedbiz.reports.pages import summary_where

_MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])(-\d{2})?$")


def customer_header(conn: Connection, customer_id: int) -> dict[str, Any]:
    row = conn.execute(
        text(
            # the agencies it bought through: agency is on each spot, not on the customer
            "SELECT c.customer_id, c.name, c.auto_created, c.is_active, c.merged_into, "
            "c.created_at, NULL, "
            "(SELECT name FROM sectors WHERE sector_id = c.sector_id), c.revenue_class "
            "FROM customers c WHERE c.customer_id = :c"
        ),
        {"c": customer_id},
    ).first()
    if row is None:
        raise NotFoundError(f"There is no customer with id {customer_id}.")
    agencies = sorted(conn.execute(text(
        "SELECT DISTINCT a.name FROM spot_summary s JOIN agencies a "
        "ON a.agency_id = s.agency_id WHERE s.customer_id = :c"), {"c": customer_id}).scalars())
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
        "agency": ", ".join(agencies) or None,
        "sector": row[7],
        "revenue_class": row[8],
        "aliases": [
            dict(alias=a[0], created_by=a[1], created_at=a[2], is_active=bool(a[3]))
            for a in aliases
        ],
        "merged_from": [dict(customer_id=m[0], name=m[1]) for m in merged],
    }


def _month_range(start: str | None, end: str | None) -> tuple[str, str] | None:
    """A ``(from, to)`` month range from ``YYYY-MM`` or ``YYYY-MM-DD`` text, or None."""
    if not start and not end:
        return None
    found = []
    for value, default in ((start, "1990-01"), (end, "2100-12")):
        text_value = (value or "").strip()[:10]
        if not text_value:
            found.append(default)
            continue
        if not _MONTH.match(text_value):
            raise ConfigError(f"A date range needs months like 2025-01, not '{text_value}'.")
        found.append(text_value[:7])
    if found[0] > found[1]:
        raise ConfigError("The date range ends before it starts.")
    return found[0], found[1]


def _scope(filters: ReportFilters, customer_id: int, months: tuple[str, str] | None,
           *, use_year: bool = True) -> tuple[str, dict[str, Any]]:
    """The customer's summary rows under ``filters`` and the period: the month range when
    given, else ``filters.year`` (when ``use_year``), else every month."""
    scoped = replace(filters, customer_id=customer_id)
    where, params = summary_where(scoped)
    if months is not None:
        where += f" AND {filters.month_between('s', 'r_from', 'r_to')}"
        params.update(r_from=months[0], r_to=months[1])
    elif use_year and filters.year is not None:
        where += f" AND {filters.month_between('s', 'r_from', 'r_to')}"
        params.update(r_from=f"{filters.year:04d}-01", r_to=f"{filters.year:04d}-12")
    return where, params


def customer_history(conn: Connection, customer_id: int, filters: ReportFilters,
                     months: tuple[str, str] | None = None) -> dict[str, Any]:
    """Monthly gross/net/spots for every year the customer booked (within ``months`` when
    given), a year × month grid and each year's total (exact sums, rounded once)."""
    where, params = _scope(filters, customer_id, months, use_year=False)
    month = filters.month_expr("s")
    sql = (
        f"SELECT {month} AS m, SUM(s.gross_micros), SUM(s.net_micros), SUM(s.spots) "  # noqa: S608
        f"FROM spot_summary s WHERE {where} GROUP BY m ORDER BY 1"
    )
    rows = conn.execute(text(sql), params).all()
    by_month = [
        {"month": m, "gross": dollars(g), "net": dollars(n), "spots": int(c or 0)}
        for m, g, n, c in rows
    ]
    years: dict[int, dict[str, Decimal]] = defaultdict(dict)
    year_micros: dict[int, list[int]] = defaultdict(lambda: [0, 0, 0])
    key = "net" if filters.measure == "net" else "gross"
    for row, (_month, gross, net, spots) in zip(by_month, rows, strict=True):
        year = int(row["month"][:4])
        years[year][row["month"]] = row[key]
        sums = year_micros[year]
        sums[0] += int(gross or 0)
        sums[1] += int(net or 0)
        sums[2] += int(spots or 0)
    index = 1 if key == "net" else 0
    return {"months": by_month, "years": dict(sorted(years.items())),
            "year_totals": {y: dollars(year_micros[y][index]) for y in sorted(year_micros)},
            "year_micros": {y: tuple(year_micros[y]) for y in sorted(year_micros)}}


def customer_total(conn: Connection, customer_id: int, filters: ReportFilters,
                   months: tuple[str, str] | None = None) -> dict[str, Any]:
    """The customer's exact gross, net and spots for the period (the month range, else
    ``filters.year``, else all years): the total row of every breakdown on the detail page."""
    where, params = _scope(filters, customer_id, months)
    gross, net, spots = conn.execute(
        text("SELECT SUM(s.gross_micros), SUM(s.net_micros), SUM(s.spots) "  # noqa: S608
             f"FROM spot_summary s WHERE {where}"),
        params,
    ).one()
    return {"gross": dollars(gross), "net": dollars(net), "spots": int(spots or 0),
            "gross_micros": int(gross or 0), "net_micros": int(net or 0)}


_DIMENSIONS = {
    "ae": ("COALESCE(x.name, 'Unassigned')", "LEFT JOIN aes x ON x.ae_id = s.ae_id"),
    "market": (
        "CASE WHEN s.market_code = '' THEN '(none)' ELSE s.market_code || COALESCE(' · ' || "
        "x.name, '') END", "LEFT JOIN markets x ON x.code = s.market_code"),
    "language": (
        "COALESCE(x.name, s.language_bucket)",
        "LEFT JOIN languages x ON x.code = s.language_bucket",
    ),
    "revenue_type": ("s.revenue_type", ""),
    "agency": (
        "COALESCE(x.name, '(direct)')",
        "LEFT JOIN agencies x ON x.agency_id = s.agency_id",
    ),
}


def customer_breakdown(
    conn: Connection, customer_id: int, filters: ReportFilters, dimension: str,
    months: tuple[str, str] | None = None,
) -> list[dict[str, Any]]:
    """The customer's booked business by AE, market (code and name), language, revenue type
    or agency for the period, largest first, with share of the total."""
    return customer_breakdowns(conn, customer_id, filters, (dimension,), months)[dimension]


def customer_breakdowns(
    conn: Connection, customer_id: int, filters: ReportFilters, dimensions: tuple[str, ...],
    months: tuple[str, str] | None = None,
) -> dict[str, list[dict[str, Any]]]:
    """:func:`customer_breakdown` for several dimensions in one statement (one round trip,
    what a page pays most for on a server): a grouped read per dimension, UNION ALL."""
    where, params = _scope(filters, customer_id, months)
    parts = []
    for number, dimension in enumerate(dimensions):
        select, join = _DIMENSIONS[dimension]
        parts.append(
            f"SELECT {number} AS d, {select} AS label, SUM(s.gross_micros) AS g, "  # noqa: S608
            f"SUM(s.net_micros) AS n, SUM(s.spots) AS c FROM spot_summary s {join} "
            f"WHERE {where} GROUP BY {select}")
    found: dict[str, list[tuple]] = {d: [] for d in dimensions}
    for number, label, gross, net, spots in conn.execute(text(" UNION ALL ".join(parts)),
                                                         params):
        found[dimensions[int(number)]].append((label, gross, net, spots))
    return {d: _breakdown_rows(d, rows, filters) for d, rows in found.items()}


def _breakdown_rows(dimension: str, found: list[tuple],
                    filters: ReportFilters) -> list[dict[str, Any]]:
    key = "net" if filters.measure == "net" else "gross"
    exact = [int((net if key == "net" else gross) or 0) for _label, gross, net, _spots in found]
    whole = sum(exact)
    rows = []
    for (label, gross, net, spots), amount in zip(found, exact, strict=True):
        name = SPECIAL_BUCKETS.get(label, label) if dimension == "language" else label
        rows.append({"label": name or "(blank)", "gross": dollars(gross), "net": dollars(net),
                     "spots": int(spots or 0), "share": share(amount, whole),
                     "_micros": amount})
    rows.sort(key=lambda r: (-r["_micros"], r["label"].lower()))
    for row in rows:
        del row["_micros"]
    return rows


def customer_summary(conn: Connection, customer_id: int, filters: ReportFilters,
                     months: tuple[str, str] | None = None) -> dict[str, Any]:
    """Lifetime (or range) gross, net, spots, first and last air date, average unit rate and
    primary AE (the AE with the most gross), plus this year against last year."""
    where, params = _scope(filters, customer_id, months, use_year=False)
    gross, net, spots, first_month, last_month = conn.execute(text(
        "SELECT SUM(s.gross_micros), SUM(s.net_micros), SUM(s.spots), "  # noqa: S608
        f"MIN(s.broadcast_month), MAX(s.broadcast_month) FROM spot_summary s WHERE {where}"),
        params).one()
    primary = conn.execute(text(
        "SELECT a.name, SUM(s.gross_micros) AS g FROM spot_summary s "  # noqa: S608
        f"JOIN aes a ON a.ae_id = s.ae_id WHERE {where} GROUP BY a.ae_id, a.name "
        "ORDER BY g DESC, a.name LIMIT 1"), params).first()
    spot_where, spot_params = _spot_scope(filters, customer_id)
    first_air = last_air = None
    if first_month:
        # One month of spots each (the month index), not a scan of every spot.
        first_air = conn.execute(text(
            f"SELECT MIN(s.air_date) FROM spots s WHERE s.broadcast_month = :m "  # noqa: S608
            f"AND NOT s.is_trade AND {spot_where}"), {**spot_params, "m": first_month}).scalar()
        last_air = conn.execute(text(
            f"SELECT MAX(s.air_date) FROM spots s WHERE s.broadcast_month = :m "  # noqa: S608
            f"AND NOT s.is_trade AND {spot_where}"), {**spot_params, "m": last_month}).scalar()
    spots = int(spots or 0)
    year = filters.year
    this_year = last_year = None
    if year is not None:
        current = customer_total(conn, customer_id, filters.with_year(year))
        before = customer_total(conn, customer_id, filters.with_year(year - 1))
        key = "net_micros" if filters.measure == "net" else "gross_micros"
        this_year = {"year": year, "gross": current["gross"], "net": current["net"],
                     "spots": current["spots"]}
        last_year = {"year": year - 1, "gross": before["gross"], "net": before["net"],
                     "spots": before["spots"]}
        this_year["change"] = dollars(current[key] - before[key])
        this_year["change_pct"] = pct_change(current[key], before[key])
    return {
        "gross": dollars(gross), "net": dollars(net), "spots": spots,
        "first_air_date": first_air, "last_air_date": last_air,
        "average_rate": dollars(round(int(gross or 0) / spots)) if spots else None,
        "primary_ae": primary[0] if primary else None,
        "this_year": this_year, "last_year": last_year,
    }


def _spot_scope(filters: ReportFilters, customer_id: int) -> tuple[str, dict[str, Any]]:
    """The same AE/market/type/sector/class/scope conditions on ``spots`` (broadcast months:
    the spots table has no calendar columns; callers choose months themselves)."""
    return replace(filters, customer_id=customer_id, year=None, basis="broadcast").where("s")


def recent_spots(conn: Connection, customer_id: int, filters: ReportFilters,
                 months: tuple[str, str] | None = None, page: int = 1,
                 per_page: int = 25) -> dict[str, Any]:
    """The customer's spots (Trade excluded), newest broadcast month and air date first,
    ``per_page`` at a time, with their bill codes. The summary's per-month counts say which
    months hold the page, so only those months of spots are read."""
    page = max(1, page)
    where, params = _scope(filters, customer_id, months, use_year=False)
    counts = conn.execute(text(
        "SELECT s.broadcast_month, SUM(s.spots) FROM spot_summary s "  # noqa: S608
        f"WHERE {where} GROUP BY s.broadcast_month ORDER BY 1 DESC"), params).all()
    total = sum(int(n or 0) for _m, n in counts)
    skip = (page - 1) * per_page
    chosen: list[str] = []
    seen = 0
    offset = 0
    for month, count in counts:
        count = int(count or 0)
        if seen + count <= skip:
            seen += count
            continue
        if not chosen:
            offset = skip - seen
        chosen.append(month)
        seen += count
        if seen >= skip + per_page:
            break
    rows: list[dict[str, Any]] = []
    if chosen:
        spot_where, spot_params = _spot_scope(filters, customer_id)
        marks = ", ".join(f":m{n}" for n in range(len(chosen)))
        found = conn.execute(text(
            "SELECT s.air_date, s.broadcast_month, s.bill_code, COALESCE(ag.name, '(direct)'), "  # noqa: S608
            "a.name, s.market_code, s.language_code, s.spot_type, s.revenue_type, "
            "s.length_seconds, s.contract, s.gross_rate_micros, s.station_net_micros "
            "FROM spots s JOIN aes a ON a.ae_id = s.ae_id "
            "LEFT JOIN agencies ag ON ag.agency_id = s.agency_id "
            f"WHERE s.broadcast_month IN ({marks}) AND NOT s.is_trade AND {spot_where} "
            "ORDER BY s.broadcast_month DESC, s.air_date DESC, s.spot_id DESC "
            "LIMIT :n OFFSET :o"),
            {**spot_params, **{f"m{n}": m for n, m in enumerate(chosen)}, "n": per_page,
             "o": offset}).all()
        keys = ("air_date", "month", "bill_code", "agency", "ae", "market", "language",
                "spot_type", "revenue_type", "length")
        for row in found:
            item = dict(zip(keys, row[:10], strict=True))
            item["contract"] = row[10] if row[10] not in (None, "", "0") else ""
            item["gross"], item["net"] = dollars(row[11]), dollars(row[12])
            rows.append(item)
    pages = max(1, -(-total // per_page))
    return {"rows": rows, "page": page, "pages": pages, "total": total, "per_page": per_page}


def customer_report(conn: Connection, customer_id: int, filters: ReportFilters,
                    start: str | None = None, end: str | None = None,
                    page: int = 1) -> dict[str, Any]:
    """The whole customer page as plain data: who they are, lifetime figures, this year
    against last, monthly history, breakdowns (AE, agency, market, language, revenue type)
    and recent spots, for ``filters.year`` or the month range ``start``..``end``."""
    months = _month_range(start, end)
    header = customer_header(conn, customer_id)
    return {
        "customer": header,
        "range": months,
        "summary": customer_summary(conn, customer_id, filters, months),
        "history": customer_history(conn, customer_id, filters, months),
        "total": customer_total(conn, customer_id, filters, months),
        "breakdowns": customer_breakdowns(conn, customer_id, filters,
                                          ("ae", "agency", "market", "language",
                                           "revenue_type"), months),
        "recent": recent_spots(conn, customer_id, filters, months, page),
    }


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

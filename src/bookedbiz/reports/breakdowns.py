"""Breakdowns of booked revenue by market, language, revenue type, agency, spot type, sector and
revenue class: each row with last year and the change, its customers, and a language × market
table. Every figure is its spots' exact sum rounded once (SPEC §1.2).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, text

from bookedbiz.money import dollars, pct_change, share
from bookedbiz.reports.filters import ReportFilters
from bookedbiz.reports.names import names_by_id
from bookedbiz.reports.revenue import language_names


@dataclass(frozen=True)
class Dimension:
    key: str  # the row key, as in the CLI's ``report --by`` output
    title: str
    expression: str  # SQL over ``ss`` (and the join)
    join: str = ""
    filter_name: str | None = None  # the ReportFilters field a row's customers link uses


_CUSTOMER_JOIN = "JOIN customers c ON c.customer_id = ss.customer_id"
DIMENSIONS = {
    "market": Dimension("market", "Market",
                        "CASE WHEN ss.market_code = '' THEN '(none)' ELSE ss.market_code END",
                        filter_name="market"),
    "language": Dimension("language", "Language", "ss.language_bucket"),
    "revenue-type": Dimension(
        "revenue_type", "Revenue type",
        "CASE WHEN ss.revenue_type = '' THEN '(none)' ELSE ss.revenue_type END",
        filter_name="revenue_type"),
    "agency": Dimension("agency", "Agency", "COALESCE(ag.name, '(direct)')",
                        "LEFT JOIN agencies ag ON ag.agency_id = ss.agency_id"),
    "spot-type": Dimension("spot_type", "Spot type",
                           "CASE WHEN ss.spot_type = '' THEN '(none)' ELSE ss.spot_type END"),
    "sector": Dimension("sector", "Sector", "COALESCE(sec.name, '(none)')",
                        f"{_CUSTOMER_JOIN} LEFT JOIN sectors sec ON sec.sector_id = c.sector_id",
                        filter_name="sector"),
    "class": Dimension("revenue_class", "Revenue class", "c.revenue_class", _CUSTOMER_JOIN,
                       filter_name="revenue_class"),
    "station": Dimension("station", "Station", "st.code",
                         "JOIN stations st ON st.station_id = ss.station_id",
                         filter_name="station"),
}


def _grouped(conn: Connection, dimension: Dimension, filters: ReportFilters) -> list[tuple]:
    where, params = filters.where("ss")
    return conn.execute(text(
        f"SELECT {dimension.expression} AS k, ss.customer_id, SUM(ss.gross_micros), "  # noqa: S608
        f"SUM(ss.net_micros), SUM(ss.spots) FROM spot_summary ss {dimension.join} "
        f"WHERE {where} GROUP BY k, ss.customer_id"), params).all()


def breakdown(conn: Connection, name: str, filters: ReportFilters) -> dict[str, Any]:
    """Rows (largest first) with gross, net, spots, share, last year, change, the number of
    customers and the largest one; the exact total with last year and change."""
    dimension = DIMENSIONS[name]
    assert filters.year is not None
    index = 1 if filters.measure == "net" else 0
    sums: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    customers: dict[str, dict[int, int]] = defaultdict(dict)
    for key, customer_id, gross, net, spots in _grouped(conn, dimension, filters):
        row = sums[key]
        row[0] += int(gross or 0)
        row[1] += int(net or 0)
        row[2] += int(spots or 0)
        customers[key][customer_id] = int((net if index else gross) or 0)
    prior: dict[str, int] = defaultdict(int)
    for key, _customer, gross, net, _spots in _grouped(conn, dimension,
                                                       filters.with_year(filters.year - 1)):
        prior[key] += int((net if index else gross) or 0)
    names = names_by_id(conn, "customers", {c for found in customers.values() for c in found})
    labels = _labels(conn, name)
    whole = sum(s[index] for s in sums.values())
    rows = []
    for key in sums:  # rows with business this year; last year's total covers every row
        gross, net, spots = sums.get(key, (0, 0, 0))
        amount = (gross, net)[index]
        top = max(customers.get(key, {}).items(), key=lambda item: (item[1], -item[0]),
                  default=None)
        rows.append({
            dimension.key: labels.get(key, (key,))[0],
            **({"name": labels.get(key, (key, ""))[1]} if name == "market" else {}),
            **({"language_group": labels.get(key, (key, key))[1]} if name == "language" else {}),
            "value": key,
            "gross": dollars(gross), "net": dollars(net), "spots": spots,
            "share": share(amount, whole),
            "prior": dollars(prior.get(key, 0)), "change": dollars(amount - prior.get(key, 0)),
            "change_pct": pct_change(amount, prior.get(key, 0)),
            "customers": len(customers.get(key, {})),
            "top_customer_id": top[0] if top else None,
            "top_customer": names.get(top[0], "") if top else "",
            "_amount": amount,
        })
    rows.sort(key=lambda r: (-r["_amount"], str(r[dimension.key])))
    for row in rows:
        del row["_amount"]
    total = [sum(s[i] for s in sums.values()) for i in range(3)]
    prior_total = sum(prior.values())
    return {
        "dimension": name, "key": dimension.key, "title": dimension.title,
        "filter_name": dimension.filter_name, "year": filters.year, "rows": rows,
        "gone": sorted(str(labels.get(k, (k,))[0]) for k in set(prior) - set(sums)),
        "total": {"gross": dollars(total[0]), "net": dollars(total[1]), "spots": total[2],
                  "prior": dollars(prior_total), "change": dollars(total[index] - prior_total),
                  "change_pct": pct_change(total[index], prior_total)},
    }


def _labels(conn: Connection, name: str) -> dict[str, tuple[str, str]]:
    """key → (what the row shows in its first column, a second label): market names beside
    codes, language names and groups beside buckets."""
    if name == "market":
        return {code: (code, market) for code, market in conn.execute(text(
            "SELECT code, name FROM markets")).all()}
    if name == "language":
        return language_names(conn)
    return {}


def language_by_market(conn: Connection, filters: ReportFilters) -> dict[str, Any]:
    """Language (rows) × market (columns) of the measure, with row and column totals from
    exact sums; the review and default buckets are rows of their own, so it adds up."""
    where, params = filters.where("ss")
    column = "net_micros" if filters.measure == "net" else "gross_micros"
    found = conn.execute(text(
        f"SELECT ss.language_bucket, ss.market_code, SUM(ss.{column}) "  # noqa: S608
        f"FROM spot_summary ss WHERE {where} GROUP BY 1, 2"), params).all()
    names = language_names(conn)
    cells: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    markets: dict[str, int] = defaultdict(int)
    for bucket, market, amount in found:
        market = market or "(none)"
        cells[bucket][market] += int(amount or 0)
        markets[market] += int(amount or 0)
    order = sorted(markets, key=lambda m: (-markets[m], m))
    rows = []
    for bucket, by_market in cells.items():
        total = sum(by_market.values())
        rows.append({"language": names.get(bucket, (bucket, bucket))[0],
                     "markets": {m: dollars(by_market.get(m, 0)) for m in order},
                     "total": dollars(total), "_total": total})
    rows.sort(key=lambda r: (-r["_total"], r["language"]))
    for row in rows:
        del row["_total"]
    return {"markets": order, "rows": rows,
            "totals": {m: dollars(markets[m]) for m in order},
            "total": dollars(sum(markets.values()))}

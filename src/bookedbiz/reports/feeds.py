"""Flat feeds for the management workbook (SPEC §2): all-history revenue at the finest reporting
grain, and the planning table, as CSV or JSON written a chunk at a time.

The revenue feed's grain is month × customer × agency × AE × market × revenue type (sector and
revenue class are attributes of the customer, so they ride along). Each row carries a stable
``row_key``: a hash of the grain's natural keys (month, the customer's, agency's and AE's name
keys, market code, revenue type), never rowids, so a refresh in Power Query matches rows across
pulls and across imports of other months. Broker fees are not in the spot summary, so the feed
groups ``spots`` itself, one broadcast month per query (the month index), Trade excluded exactly
as the summary excludes it: the rows add up to the revenue report.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections.abc import Iterable, Iterator
from dataclasses import replace
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, text

from bookedbiz.reports.filters import ReportFilters
from bookedbiz.reports.planning import planning_report

REVENUE_COLUMNS = ("row_key", "month", "customer", "agency", "ae", "market", "revenue_type",
                   "sector", "revenue_class", "gross", "net", "spots", "broker_fees")
PLANNING_COLUMNS = ("row_key", "ae", "month", "status", "budget", "forecast", "booked",
                    "pipeline", "variance", "pct_to_budget", "last_year", "compare_to")
KEY_SEPARATOR = "\x1f"
NEGATIVE_ZERO = Decimal("-0.00")


def row_key(*parts: object) -> str:
    """A short stable hash of natural keys (20 hex digits = 80 bits)."""
    joined = KEY_SEPARATOR.join("" if p is None else str(p) for p in parts)
    return hashlib.sha256(joined.encode("utf-8")).hexdigest()[:20]


def _customer_attributes(conn: Connection) -> tuple[str, str]:
    """SQL for a customer's sector and revenue class."""
    return "(SELECT name FROM sectors WHERE sectors.sector_id = c.sector_id)", "c.revenue_class"


def _feed_filters(filters: ReportFilters) -> ReportFilters:
    if getattr(filters, "basis", "broadcast") != "broadcast":
        filters = replace(filters, basis="broadcast")  # type: ignore[call-arg]
    return filters


def _cents(micros: int | None) -> Decimal:
    """Micro-dollars rounded half-even to the cent (money.dollars, on integers: the feed
    rounds three amounts on each of a million rows)."""
    whole, rest = divmod(micros or 0, 10_000)
    if rest > 5_000 or (rest == 5_000 and whole & 1):
        whole += 1
    if whole == 0 and micros and micros < 0:
        return NEGATIVE_ZERO  # as Decimal rounds it, so every export reads the same
    return Decimal(whole).scaleb(-2)


def revenue_feed(conn: Connection, filters: ReportFilters) -> Iterator[tuple[Any, ...]]:
    """Every (filtered, scoped) row of the revenue feed as a tuple in REVENUE_COLUMNS order,
    month by month, oldest first (within a month by row key)."""
    filters = _feed_filters(filters)
    where, params = filters.where("s")
    summary_where, summary_params = filters.where("ss")
    months = list(conn.execute(text(
        f"SELECT DISTINCT ss.broadcast_month FROM spot_summary ss WHERE {summary_where} "
        "ORDER BY 1"), summary_params).scalars())
    sector_sql, class_sql = _customer_attributes(conn)
    customers = {int(r[0]): tuple(r[1:]) for r in conn.execute(text(
        f"SELECT c.customer_id, c.name, c.name_key, {sector_sql}, {class_sql} "
        "FROM customers c"))}
    agencies = {int(r[0]): tuple(r[1:]) for r in conn.execute(text(
        "SELECT agency_id, name, name_key FROM agencies"))}
    agencies[None] = ("", "")  # type: ignore[index]
    aes = {int(r[0]): tuple(r[1:]) for r in conn.execute(text(
        "SELECT ae_id, name, name_key FROM aes"))}
    sql = (
        "SELECT s.customer_id, s.agency_id, s.ae_id, s.market_code, s.revenue_type, "
        "SUM(s.gross_rate_micros), SUM(s.station_net_micros), COUNT(*), "
        "SUM(s.broker_fees_micros) FROM spots s "
        f"WHERE s.broadcast_month = :feed_month AND NOT s.is_trade AND {where} "
        "GROUP BY s.customer_id, s.agency_id, s.ae_id, s.market_code, s.revenue_type")
    sep = KEY_SEPARATOR
    if conn.dialect.name == "sqlite":
        # the driver's cursor on the same connection (one snapshot): SQLAlchemy's row objects
        # would cost more than the query on a million rows
        cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]

        def month_rows(month: str) -> list[tuple]:
            return cursor.execute(sql, {**params, "feed_month": month}).fetchall()
    else:
        statement = text(sql)

        def month_rows(month: str) -> list[tuple]:  # PostgreSQL sums are Decimal: ints here
            return [(*row[:5], *(None if v is None else int(v) for v in row[5:]))
                    for row in conn.execute(statement, {**params, "feed_month": month})]

    for month in months:
        out = []
        for customer_id, agency_id, ae_id, market, revenue_type, gross, net, spots, fees in (
                month_rows(month)):
            customer, customer_key, sector, revenue_class = customers[customer_id]
            agency, agency_key = agencies[agency_id]
            ae, ae_key = aes[ae_id]
            key = sep.join((month, customer_key, agency_key, ae_key, market, revenue_type))
            out.append((hashlib.sha256(key.encode()).hexdigest()[:20], month, customer, agency,
                        ae, market, revenue_type, sector, revenue_class, _cents(gross),
                        _cents(net), spots, _cents(fees)))
        out.sort()
        yield from out


def planning_feed(conn: Connection, filters: ReportFilters, *,
                  as_of: date | None = None) -> list[tuple[Any, ...]]:
    """AE × month budget, forecast, booked and pipeline of ``filters.year``, as tuples in
    PLANNING_COLUMNS order."""
    report = planning_report(conn, filters, as_of=as_of)
    return [(row_key(r["month"], str(r["ae"]).casefold()),
             *(r[k] for k in PLANNING_COLUMNS[1:])) for r in report["rows"]]


def _plain(value: Any) -> Any:
    return float(value) if isinstance(value, Decimal) else value


def as_csv(rows: Iterable[tuple[Any, ...]], columns: tuple[str, ...],
           chunk_rows: int = 2000) -> Iterator[str]:
    """CSV text in chunks (header first); money as plain decimals, blanks for None."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(columns)
    count = 0
    for row in rows:
        writer.writerow(row)  # csv writes None as an empty field
        count += 1
        if count % chunk_rows == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def as_json(rows: Iterable[tuple[Any, ...]], columns: tuple[str, ...],
            chunk_rows: int = 2000, **meta: Any) -> Iterator[str]:
    """``{"columns": [...], ..., "data": [{...}, ...]}`` in chunks; money as JSON numbers.
    Each chunk is encoded by one ``json.dumps`` call (far cheaper than one per row)."""
    head = {"columns": list(columns), **meta}
    yield json.dumps(head, default=str)[:-1] + ', "data": ['
    chunk: list[dict[str, Any]] = []
    separator = ""
    for row in rows:
        chunk.append(dict(zip(columns, map(_plain, row), strict=True)))
        if len(chunk) >= chunk_rows:
            yield separator + json.dumps(chunk)[1:-1]
            separator, chunk = ",", []
    yield (separator + json.dumps(chunk)[1:-1] if chunk else "") + "]}"

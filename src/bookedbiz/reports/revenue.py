"""Revenue query functions shared by the CLI report, the web pages and the JSON API.

They read the ``spot_summary`` table (non-Trade only, refreshed inside every import), so a year
of a 1.2 M-spot database is a few thousand summary rows. Money comes back as Decimal dollars.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import Connection, text

from bookedbiz import broadcast_calendar as bc
from bookedbiz.ingest.cells import micros_to_dollars
from bookedbiz.languages.assign import SPECIAL_BUCKETS
from bookedbiz.reports.filters import ReportFilters

GROUPINGS = ("month", "ae", "customer", "agency", "market", "language", "revenue-type",
             "spot-type")
_GROUP_SQL = {
    "month": ("ss.broadcast_month", ""),
    "ae": ("a.name", "JOIN aes a ON a.ae_id = ss.ae_id"),
    "customer": ("c.name", "JOIN customers c ON c.customer_id = ss.customer_id"),
    "agency": ("COALESCE(ag.name, '(direct)')",
               "LEFT JOIN agencies ag ON ag.agency_id = ss.agency_id"),
    "market": ("CASE WHEN ss.market_code = '' THEN '(none)' ELSE ss.market_code END", ""),
    "language": ("ss.language_bucket", ""),
    "revenue-type": ("CASE WHEN ss.revenue_type = '' THEN '(none)' ELSE ss.revenue_type END",
                     ""),
    "spot-type": ("CASE WHEN ss.spot_type = '' THEN '(none)' ELSE ss.spot_type END", ""),
}
KEY_NAMES = {g: g.replace("-", "_") for g in GROUPINGS}


def _money(micros: object) -> Decimal:
    return micros_to_dollars(int(micros or 0))


def apportion(micros: list[int]) -> list[Decimal]:
    """Round each amount to the cent so that the parts add up to the rounded whole.

    Rounding every group separately lets a report's column miss its own total by a few cents;
    largest-remainder rounding keeps each part within a cent of its exact value and makes every
    grouping sum to the same overall total."""
    if not micros:
        return []
    total_cents = int(micros_to_dollars(sum(micros)) * 100)
    floors = [m // 10_000 for m in micros]
    remainders = sorted(range(len(micros)), key=lambda i: (-(micros[i] % 10_000), i))
    extra = total_cents - sum(floors)
    for i in remainders[:extra]:
        floors[i] += 1
    return [Decimal(c).scaleb(-2) for c in floors]


def language_names(conn: Connection) -> dict[str, tuple[str, str]]:
    """bucket → (language name, group), including the special review buckets."""
    names = {code: (name, group) for code, name, group in conn.execute(
        text("SELECT code, name, language_group FROM languages"))}
    for bucket, label in SPECIAL_BUCKETS.items():
        names[bucket] = (label, label)
    return names


def revenue_by(conn: Connection, by: str, filters: ReportFilters) -> list[dict[str, object]]:
    """One dict per group: the group key plus gross, net (Decimal) and spots; sorted by the
    chosen measure, months chronologically. Totals over any grouping equal the overall total."""
    if by not in _GROUP_SQL:
        raise ValueError(f"unknown grouping {by!r}")
    expression, join = _GROUP_SQL[by]
    where, params = filters.where()
    rows = conn.execute(
        text(
            f"SELECT {expression} AS k, SUM(ss.gross_micros), SUM(ss.net_micros), SUM(ss.spots)"
            f" FROM spot_summary ss {join} WHERE {where} GROUP BY k"
        ),
        params,
    ).all()
    key_name = KEY_NAMES[by]
    names = language_names(conn) if by == "language" else {}
    grosses = apportion([int(r[1] or 0) for r in rows])
    nets = apportion([int(r[2] or 0) for r in rows])
    result = []
    for (key, _gross, _net, spots), gross, net in zip(rows, grosses, nets, strict=True):
        item: dict[str, object] = {key_name: key}
        if by == "language":
            item["language"], item["language_group"] = names.get(key, (key, key))
            item["bucket"] = key
        item.update(gross=gross, net=net, spots=int(spots or 0))
        result.append(item)
    if by == "month":
        result.sort(key=lambda r: str(r["month"]))
    else:
        result.sort(key=lambda r: (-r[filters.measure], str(r[key_name])))  # type: ignore[operator]
    return result


def revenue_total(conn: Connection, filters: ReportFilters) -> dict[str, object]:
    where, params = filters.where()
    gross, net, spots = conn.execute(
        text("SELECT SUM(gross_micros), SUM(net_micros), SUM(spots) FROM spot_summary ss "
             f"WHERE {where}"),
        params,
    ).one()
    return {"gross": _money(gross), "net": _money(net), "spots": int(spots or 0)}


def monthly_overview(conn: Connection, filters: ReportFilters) -> list[dict[str, object]]:
    """The 12 broadcast months of ``filters.year`` with last year's same month and the change."""
    year = filters.year or bc.broadcast_year_of(date.today())
    current = {r["month"]: r for r in revenue_by(conn, "month", filters.with_year(year))}
    prior = {r["month"]: r for r in revenue_by(conn, "month", filters.with_year(year - 1))}
    closures = {
        month: (closed_at, closed_by)
        for month, closed_at, closed_by in conn.execute(
            text("SELECT broadcast_month, closed_at, closed_by FROM month_closures "
                 "WHERE broadcast_month BETWEEN :a AND :b"),
            {"a": f"{year}-01", "b": f"{year}-12"},
        )
    }
    zero = Decimal("0.00")
    out = []
    for month in bc.months_of_year(year):
        row = current.get(month, {})
        last = prior.get(bc.shift_month(month, -12), {})
        value = row.get(filters.measure, zero)
        before = last.get(filters.measure, zero)
        closed = closures.get(month)
        change = value - before  # type: ignore[operator]
        out.append({
            "month": month,
            "label": bc.label(month),
            "gross": row.get("gross", zero),
            "net": row.get("net", zero),
            "spots": row.get("spots", 0),
            "weeks": bc.broadcast_weeks(month),
            "status": "closed" if closed else "open",
            "closed_at": closed[0] if closed else None,
            "closed_by": closed[1] if closed else None,
            "prior_gross": last.get("gross", zero),
            "prior_net": last.get("net", zero),
            "change": change,
            "change_pct": (change / before * 100).quantize(Decimal("0.1"))  # type: ignore[operator]
            if before else None,
        })
    return out


def available_years(conn: Connection) -> list[int]:
    """Years with booked business, ascending.

    A loose index scan: one MIN() lookup per year on the month index, where a DISTINCT over
    ``spot_summary`` would read every row."""
    rows = conn.execute(text(
        "WITH RECURSIVE y(month) AS ("
        " SELECT (SELECT MIN(broadcast_month) FROM spot_summary)"
        " UNION ALL"
        " SELECT (SELECT MIN(broadcast_month) FROM spot_summary"
        "         WHERE broadcast_month > substr(y.month, 1, 4) || '-99')"
        " FROM y WHERE y.month IS NOT NULL)"
        " SELECT substr(month, 1, 4) FROM y WHERE month IS NOT NULL"
    )).all()
    return [int(r[0]) for r in rows]


def filter_options(conn: Connection, year: int | None) -> dict[str, list[str]]:
    """The AEs, markets and revenue types that have booked business in ``year`` (all years
    when None): what the filter bar offers.

    A loose index scan over the indexes leading on each column (schema revision 0002): one
    lookup per distinct value and one existence probe for the year, so it costs the same on
    any size of database."""
    where, params = ReportFilters(year=year).where()
    aes = conn.execute(text(
        "SELECT DISTINCT a.name FROM aes a WHERE EXISTS (SELECT 1 FROM spot_summary ss "
        f"WHERE ss.ae_id = a.ae_id AND {where}) ORDER BY a.name"), params).scalars().all()
    return {"aes": list(aes), "markets": _values_with_data(conn, "market_code", where, params),
            "revenue_types": _values_with_data(conn, "revenue_type", where, params)}


def _values_with_data(conn: Connection, column: str, where: str,
                      params: dict[str, object]) -> list[str]:
    """Distinct non-blank values of a ``spot_summary`` column with a row matching ``where``."""
    assert column in ("market_code", "revenue_type")
    return list(conn.execute(text(
        "WITH RECURSIVE v(value) AS ("
        f" SELECT (SELECT MIN({column}) FROM spot_summary WHERE {column} > '')"
        " UNION ALL"
        f" SELECT (SELECT MIN({column}) FROM spot_summary WHERE {column} > v.value)"
        " FROM v WHERE v.value IS NOT NULL)"
        " SELECT value FROM v WHERE value IS NOT NULL AND EXISTS ("
        f" SELECT 1 FROM spot_summary ss WHERE ss.{column} = v.value AND {where})"
        " ORDER BY value"), params).scalars().all())


def last_import(conn: Connection) -> dict[str, object] | None:
    row = conn.execute(text(
        "SELECT batch_id, mode, source_file, finished_at, rows_inserted FROM import_batches "
        "WHERE status = 'completed' ORDER BY finished_at DESC, batch_id DESC LIMIT 1")).first()
    if row is None:
        return None
    return dict(row._mapping)

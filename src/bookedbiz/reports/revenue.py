"""Revenue query functions shared by the CLI report, the web pages and the JSON API.

They read the ``spot_summary`` table (non-Trade only, refreshed inside every import), so a year
of a 1.2 M-spot database is a few thousand summary rows. Money comes back as Decimal dollars.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import Connection, text

from bookedbiz import broadcast_calendar as bc
from bookedbiz.languages.assign import SPECIAL_BUCKETS
from bookedbiz.money import dollars, pct_change
from bookedbiz.reports.filters import ReportFilters
from bookedbiz.reports.pacing import last_year_basis
from bookedbiz.reports.stations import month_closures

GROUPINGS = ("month", "ae", "customer", "agency", "market", "language", "revenue-type",
             "spot-type", "station")
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
    "station": ("st.code", "JOIN stations st ON st.station_id = ss.station_id"),
}
KEY_NAMES = {g: g.replace("-", "_") for g in GROUPINGS}


def language_names(conn: Connection) -> dict[str, tuple[str, str]]:
    """bucket → (language name, group), including the special review buckets."""
    names = {code: (name, group) for code, name, group in conn.execute(
        text("SELECT code, name, language_group FROM languages"))}
    for bucket, label in SPECIAL_BUCKETS.items():
        names[bucket] = (label, label)
    return names


def revenue_by(conn: Connection, by: str, filters: ReportFilters) -> list[dict[str, object]]:
    """One dict per group: the group key plus gross, net (Decimal) and spots; sorted by the
    chosen measure, months chronologically. Each figure is its group's exact sum rounded to the
    cent (SPEC §1.2), so the rows may differ from :func:`revenue_total` by a cent or two."""
    if by not in _GROUP_SQL:
        raise ValueError(f"unknown grouping {by!r}")
    expression, join = _GROUP_SQL[by]
    if by == "month":  # the month basis (SPEC §1.2) chooses which month a row counts in
        expression = filters.month_expr("ss")
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
    result = []
    for key, gross, net, spots in rows:
        item: dict[str, object] = {key_name: key}
        if by == "language":
            item["language"], item["language_group"] = names.get(key, (key, key))
            item["bucket"] = key
        item.update(gross=dollars(gross), net=dollars(net), spots=int(spots or 0))
        result.append(item)
    if by == "month":
        result.sort(key=lambda r: str(r["month"]))
    else:
        result.sort(key=lambda r: (-r[filters.measure], str(r[key_name])))  # type: ignore[operator]
    return result


def revenue_total(conn: Connection, filters: ReportFilters) -> dict[str, object]:
    """The exact total of every spot matching ``filters``, rounded once."""
    where, params = filters.where()
    gross, net, spots = conn.execute(
        text("SELECT SUM(gross_micros), SUM(net_micros), SUM(spots) FROM spot_summary ss "
             f"WHERE {where}"),
        params,
    ).one()
    return {"gross": dollars(gross), "net": dollars(net), "spots": int(spots or 0)}


def _month_sums(conn: Connection, filters: ReportFilters) -> dict[str, tuple[int, int, int]]:
    """month → exact (gross micros, net micros, spots) for ``filters``."""
    where, params = filters.where()
    rows = conn.execute(
        text(f"SELECT {filters.month_expr('ss')} AS m, SUM(ss.gross_micros), "
             f"SUM(ss.net_micros), SUM(ss.spots) FROM spot_summary ss WHERE {where} GROUP BY m"),
        params,
    ).all()
    return {m: (int(g or 0), int(n or 0), int(c or 0)) for m, g, n, c in rows}


def _period(months: list[str], current: dict[str, tuple[int, int, int]],
            prior: dict[str, tuple[int, int, int]], measure: str,
            basis: dict[str, object] | None = None) -> dict[str, object]:
    """Gross, net, spots, last year and change of a run of months, from exact sums (a quarter
    is the sum of its spots, not of its three rounded months). With ``basis``
    (pacing.last_year_basis) the change is against what each month is comparable with: STLY
    for an open month, last year's final for a closed one; None when a month has neither."""
    empty = (0, 0, 0)
    gross = sum(current.get(m, empty)[0] for m in months)
    net = sum(current.get(m, empty)[1] for m in months)
    spots = sum(current.get(m, empty)[2] for m in months)
    before = [prior.get(bc.shift_month(m, -12), empty) for m in months]
    prior_gross, prior_net = sum(b[0] for b in before), sum(b[1] for b in before)
    value, base = (net, prior_net) if measure == "net" else (gross, prior_gross)
    period = {
        "gross": dollars(gross),
        "net": dollars(net),
        "spots": spots,
        "weeks": sum(bc.broadcast_weeks(m) for m in months),
        "prior_gross": dollars(prior_gross),
        "prior_net": dollars(prior_net),
        "change": dollars(value - base),
        "change_pct": pct_change(value, base),
    }
    if basis is not None:
        period.update(_against_basis(months, value, measure, basis))
    return period


def _against_basis(months: list[str], value: int, measure: str,
                   basis: dict[str, object]) -> dict[str, object]:
    sums, closed, has = basis["basis"], basis["closed"], basis["has_basis"]
    kinds = {"last_year" if m in closed else "stly" for m in months}
    parts = [sums.get((m, ""), (0, 0)) for m in months]  # type: ignore[union-attr]
    compared = sum(p[1] if measure == "net" else p[0] for p in parts)
    known = all(m in has for m in months)  # type: ignore[operator]
    return {
        "compare_to": kinds.pop() if len(kinds) == 1 else "mixed",
        "basis_gross": dollars(sum(p[0] for p in parts)) if known else None,
        "basis_net": dollars(sum(p[1] for p in parts)) if known else None,
        "change": dollars(value - compared) if known else None,
        "change_pct": pct_change(value, compared) if known else None,
    }


def overview(conn: Connection, filters: ReportFilters) -> dict[str, object]:
    """The overview of ``filters.year``: its 12 broadcast months, four quarters and the year,
    each with last year's figure and the change, every figure rounded once from exact sums."""
    year = filters.year or bc.broadcast_year_of(date.today())
    current = _month_sums(conn, filters.with_year(year))
    prior = _month_sums(conn, filters.with_year(year - 1))
    # closed when closed for every station in the report's scope (the latest close shown)
    closures = month_closures(conn, f"{year}-01", f"{year}-12", filters)
    year_months = bc.months_of_year(year)
    basis = last_year_basis(conn, year_months, filters, finals=prior, closed=set(closures))
    months = []
    for month in year_months:
        closed = closures.get(month)
        months.append({
            "month": month,
            "label": bc.label(month),
            **_period([month], current, prior, filters.measure, basis),
            "status": "closed" if closed else "open",
            "closed_at": closed[0] if closed else None,
            "closed_by": closed[1] if closed else None,
        })
    quarters = []
    for q in range(4):
        chunk = year_months[q * 3 : q * 3 + 3]
        all_closed = all(month in closures for month in chunk)
        quarters.append({"quarter": q + 1, "label": f"Q{q + 1} {year}",
                         **_period(chunk, current, prior, filters.measure, basis),
                         "status": "closed" if all_closed else "open"})
    total = {"label": "Year total",
             **_period(year_months, current, prior, filters.measure, basis),
             "closed": len([m for m in year_months if m in closures])}
    return {"year": year, "months": months, "quarters": quarters, "total": total,
            "as_of": basis["as_of"], "stly_as_of": basis["stly_as_of"]}


def monthly_overview(conn: Connection, filters: ReportFilters) -> list[dict[str, object]]:
    """The 12 broadcast months of ``filters.year`` with last year's same month and the change."""
    return overview(conn, filters)["months"]  # type: ignore[return-value]


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
    any size of database. The three lists come from one statement (one round trip)."""
    where, params = ReportFilters(year=year).where()
    ctes = ", ".join(_distinct_values(name, column) for name, column in _OPTION_COLUMNS)
    lists = " UNION ALL ".join(
        f"SELECT '{name}', {name}.value FROM {name} WHERE {name}.value IS NOT NULL AND EXISTS ("
        f"SELECT 1 FROM spot_summary ss WHERE ss.{column} = {name}.value AND {where})"
        for name, column in _OPTION_COLUMNS)
    rows = conn.execute(text(
        f"WITH RECURSIVE {ctes} "
        "SELECT 'aes', a.name FROM aes a WHERE EXISTS (SELECT 1 FROM spot_summary ss "
        f"WHERE ss.ae_id = a.ae_id AND {where}) UNION ALL {lists}"), params).all()
    found: dict[str, set[str]] = {"aes": set(), "markets": set(), "revenue_types": set()}
    for kind, value in rows:
        found[kind].add(value)
    return {kind: sorted(values) for kind, values in found.items()}


# (CTE name = the list it fills, spot_summary column)
_OPTION_COLUMNS = (("markets", "market_code"), ("revenue_types", "revenue_type"))


def _distinct_values(name: str, column: str) -> str:
    """A recursive CTE ``name(value)``: the distinct non-blank values of a ``spot_summary``
    column, one index lookup each (fixed names from _OPTION_COLUMNS)."""
    return (f"{name}(value) AS ("
            f"SELECT (SELECT MIN({column}) FROM spot_summary WHERE {column} > '') UNION ALL "
            f"SELECT (SELECT MIN({column}) FROM spot_summary WHERE {column} > {name}.value) "
            f"FROM {name} WHERE {name}.value IS NOT NULL)")


def last_import(conn: Connection) -> dict[str, object] | None:
    row = conn.execute(text(
        "SELECT batch_id, mode, source_file, finished_at, rows_inserted FROM import_batches "
        "WHERE status = 'completed' ORDER BY finished_at DESC, batch_id DESC LIMIT 1")).first()
    if row is None:
        return None
    return dict(row._mapping)

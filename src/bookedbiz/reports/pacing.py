"""Pacing: booked today against the same time last year (SPEC §1.4).

For month M as of day D: *booked* = M as of D (booking history); *STLY* = M−12 as of D − 364
days (the same weekday 52 weeks earlier); *last year final* = M−12 as it stands now (the spots
summary, so months loaded before the history existed count too); *pace* = booked ÷ STLY. One set
of functions serves the page, the CLI and the API. Every figure is an exact sum of micro-dollars
rounded once (SPEC §1.2). Rows are built by :func:`pacing_row` alone, so later columns (budget,
forecast, pipeline) are added in one place.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import date, timedelta
from decimal import ROUND_HALF_EVEN, Decimal

from sqlalchemy import Connection, text

from bookedbiz import broadcast_calendar as bc
from bookedbiz.errors import ConfigError
from bookedbiz.history.queries import booked_deltas, booked_rows, booked_sums
from bookedbiz.languages.assign import SPECIAL_BUCKETS
from bookedbiz.money import dollars
from bookedbiz.planning.targets import Target, applies, plan_columns, targets, total_target
from bookedbiz.reports.filters import NO_SECTOR, ReportFilters
from bookedbiz.reports.stations import closed_months

PACING_GROUPS = ("ae", "customer", "agency", "market", "revenue-type", "language", "sector",
                 "station")
STLY_DAYS = 364
DEFAULT_MONTHS = 13
MAX_MONTHS = 60
CURVE_WEEKS = 26
_EMPTY = (0, 0, 0)

# grouping → the column aggregated on booking_history (h) and on spot_summary (ss); names are
# looked up after aggregating by id (a join per summary row would cost more than the sums)
_GROUP_COLUMN = {
    "ae": ("ae_id", "ae_id"),
    "customer": ("customer_id", "customer_id"),
    "agency": ("agency_id", "agency_id"),
    "market": ("market_code", "market_code"),
    "revenue-type": ("revenue_type", "revenue_type"),
    "language": ("language_group", "language_bucket"),
    "sector": ("customer_id", "customer_id"),
    "station": ("station_id", "station_id"),
}


# Groupings whose summary sums stream in the month covering index's order (month, customer,
# AE, …): grouping by that prefix and adding up in Python beats sorting every summary row.
_SUMMARY_GROUP = {"ae": "1, ss.customer_id, 2", "customer": "1, 2", "sector": "1, 2"}


def key_name(by: str | None) -> str | None:
    return by.replace("-", "_") if by else None


def month_range(first: str, last: str) -> list[str]:
    months, month = [], first
    while month <= last:
        months.append(month)
        month = bc.shift_month(month, 1)
    return months


def resolve_months(as_of: date, first: str | None, last: str | None) -> list[str]:
    """The months asked for; by default the 13 broadcast months from the as-of date's."""
    start = first or bc.broadcast_month_of(as_of)
    end = last or bc.shift_month(start, DEFAULT_MONTHS - 1)
    if start > end:
        raise ConfigError(f"--from {bc.label(start)} is after --to {bc.label(end)}; "
                          "give the earlier month first.")
    months = month_range(start, end)
    if len(months) > MAX_MONTHS:
        raise ConfigError(f"Pacing covers at most {MAX_MONTHS} months at a time.")
    return months


def _sectors(conn: Connection) -> dict[int, str]:
    """customer id → sector name (a customer without a sector is not listed)."""
    return dict(conn.execute(text(
        "SELECT c.customer_id, s.name FROM customers c JOIN sectors s "
        "ON s.sector_id = c.sector_id")).all())


def _labeller(conn: Connection, by: str | None, table: str) -> Callable[[object], object]:
    """Group id (or code) → the name a row shows."""
    if by is None:
        return lambda _key: ""
    if by in ("ae", "customer", "agency"):
        source = {"ae": "aes", "customer": "customers", "agency": "agencies"}[by]
        names = dict(conn.execute(text(
            f"SELECT {_GROUP_COLUMN[by][0]}, name FROM {source}")).all())
        if by == "agency":
            return lambda key: names.get(key, "(direct)") if key is not None else "(direct)"
        return lambda key: names.get(key, str(key))
    if by in ("market", "revenue-type"):
        return lambda key: key or "(none)"
    if by == "station":
        codes = dict(conn.execute(text("SELECT station_id, code FROM stations")).all())
        return lambda key: codes.get(key, str(key))
    if by == "sector":
        sectors = _sectors(conn)
        return lambda key: sectors.get(key, NO_SECTOR)  # type: ignore[arg-type]
    specials = dict(SPECIAL_BUCKETS)
    if table == "h":
        return lambda key: specials.get(key, key)  # type: ignore[arg-type]
    groups = dict(conn.execute(text("SELECT code, language_group FROM languages")).all())
    return lambda key: groups.get(key) or specials.get(key, key)  # type: ignore[arg-type]


def _column(by: str | None, table: str) -> str | None:
    if by is None:
        return None
    if by not in _GROUP_COLUMN:
        raise ConfigError(f"Pacing groups by {', '.join(PACING_GROUPS)}, not '{by}'.")
    return f"{table}.{_GROUP_COLUMN[by][0 if table == 'h' else 1]}"


def _collect(rows: Iterable[Sequence], label: Callable[[object], object] | None,
             month_of: Mapping[str, str] | None = None) -> dict[tuple[str, object], list[int]]:
    """(month, shown name) → exact [gross, net, spots] in one pass over streamed result rows:
    groups sharing a name are added up, and ``month_of`` moves last year's months onto the
    months they are compared with. One key and one list a group, and no fetched row list: a
    by-customer page has ~10,000 groups, and what it allocates sets how often the collector
    runs (a full collection adds 20–35 ms to a request)."""
    out: dict[tuple[str, object], list[int]] = {}
    for month, key, gross, net, spots in rows:
        name = (month_of[month] if month_of else month, label(key) if label else key)
        into = out.get(name)
        if into is None:
            out[name] = [int(gross or 0), int(net or 0), int(spots or 0)]
        else:
            into[0] += int(gross or 0)
            into[1] += int(net or 0)
            into[2] += int(spots or 0)
    return out


def _final_sums(conn: Connection, months: Sequence[str], by: str | None,
                filters: ReportFilters, month_of: Mapping[str, str] | None = None
                ) -> dict[tuple[str, object], list[int]]:
    """(month, key) → exact [gross, net, spots] of the spots as they stand now (months moved
    by ``month_of``). By customer this reads ix_spot_summary_month_customer (revision 0011)."""
    if not months:
        return {}
    column = _column(by, "ss")
    key, group = (column, _SUMMARY_GROUP.get(by or "", "1, 2")) if column else ("''", "1")
    where, params = filters.where("ss")
    label = _labeller(conn, by, "ss") if by else None
    rows = conn.execute(text(
        f"SELECT ss.broadcast_month, {key} AS k, SUM(ss.gross_micros), "
        f"SUM(ss.net_micros), SUM(ss.spots) FROM spot_summary ss "
        f"WHERE ss.broadcast_month BETWEEN :p_first AND :p_last AND {where} GROUP BY {group}"
    ), {**params, "p_first": months[0], "p_last": months[-1]})
    return _collect(rows, label, month_of)


def _history_sums(conn: Connection, months: Sequence[str], as_of: date, by: str | None,
                  filters: ReportFilters, label: Callable[[object], object] | None = None,
                  month_of: Mapping[str, str] | None = None
                  ) -> dict[tuple[str, object], list[int]]:
    """``label``: the history labeller when the caller already has one (booked and STLY share
    it, saving a names query); ``month_of`` as for :func:`_collect`."""
    where, params = filters.where("h")
    if by and label is None:
        label = _labeller(conn, by, "h")
    rows = booked_rows(conn, months, as_of, key_sql=_column(by, "h"), where=where,
                       params=params)
    return _collect(rows, label, month_of)


def pace(booked: int, stly: int) -> Decimal | None:
    """booked ÷ STLY from exact micro-dollars, to 4 decimals; None when STLY is 0."""
    if not stly:
        return None
    return (Decimal(booked) / Decimal(stly)).quantize(Decimal("0.0001"), ROUND_HALF_EVEN)


def pacing_row(month: str, group: dict[str, object], booked: Sequence[int],
               stly: Sequence[int], final: Sequence[int], *, closed: bool,
               measure: str = "gross", target: Target | None = None,
               planned: bool = False) -> dict[str, object]:
    """One pacing row; every page, export and API response is made of these."""
    i = 1 if measure == "net" else 0
    return {
        "month": month,
        **group,
        "label": bc.label(month),
        "status": "closed" if closed else "open",
        "booked_gross": dollars(booked[0]),
        "booked_net": dollars(booked[1]),
        "stly_gross": dollars(stly[0]),
        "stly_net": dollars(stly[1]),
        "last_year_gross": dollars(final[0]),
        "last_year_net": dollars(final[1]),
        "pace": pace(booked[i], stly[i]),
        # closed months compare with last year's final, open ones with STLY (SPEC §1.4)
        "compare_to": "last_year" if closed else "stly",
        # budget, forecast, pipeline, variance, % to budget (SPEC §1.5; None when not planned)
        **plan_columns(target, booked[0], applicable=planned),
    }


def _closed_months(conn: Connection, months: Sequence[str],
                   filters: ReportFilters | None = None) -> set[str]:
    """Closed for every station in the report's scope (reports.stations)."""
    if not months:
        return set()
    return closed_months(conn, months[0], months[-1], filters)


def pacing_report(conn: Connection, *, as_of: date, first: str | None = None,
                  last: str | None = None, by: str | None = None,
                  filters: ReportFilters | None = None, detail: bool = True) -> dict[str, object]:
    """Pacing of ``first``..``last`` (default: 13 months from the as-of month) as of ``as_of``:
    one row per month (and group), per-month totals and the grand total, all exact. A page
    showing one row a group passes ``detail=False`` to skip the month × group rows."""
    filters = replace(filters or ReportFilters(), year=None)
    if by is not None and by not in PACING_GROUPS:
        raise ConfigError(f"Pacing groups by {', '.join(PACING_GROUPS)}, not '{by}'.")
    months = resolve_months(as_of, first, last)
    prior_months = [bc.shift_month(m, -12) for m in months]
    stly_day = as_of - timedelta(days=STLY_DAYS)
    label = _labeller(conn, by, "h") if by else None
    booked = _history_sums(conn, months, as_of, by, filters, label)
    a_year_on = dict(zip(prior_months, months, strict=True))
    stly = _history_sums(conn, prior_months, stly_day, by, filters, label, a_year_on)
    final = _final_sums(conn, prior_months, by, filters, a_year_on)
    closed = _closed_months(conn, months, filters)
    # plans are per AE (every station): not beside a market, type or station slice
    totals_planned = applies(filters) and not filters.stations
    rows_planned = totals_planned and by in (None, "ae")
    plan = targets(conn, months, filters, "ae" if by == "ae" else None)
    company_plan = plan if by != "ae" else targets(conn, months, filters, None)
    name = key_name(by)
    rows, month_totals = [], []
    per_month: dict[str, list[dict[object, list[int]]]] = {m: [{}, {}, {}] for m in months}
    over: list[dict[object, list[int]]] = [{}, {}, {}]  # each group over the whole range
    month_sums = {m: [[0, 0, 0], [0, 0, 0], [0, 0, 0]] for m in months}
    for source, index in ((booked, 0), (stly, 1), (final, 2)):
        into = over[index]
        for (month, key), sums in source.items():
            if month in per_month:
                per_month[month][index][key] = sums  # one entry a (month, key) already
                total = month_sums[month][index]
                total[0] += sums[0]
                total[1] += sums[1]
                total[2] += sums[2]
                if name is not None:  # inline: ~7,000 calls on a by-customer page
                    whole = into.get(key)
                    if whole is None:
                        into[key] = [sums[0], sums[1], sums[2]]
                    else:
                        whole[0] += sums[0]
                        whole[1] += sums[1]
                        whole[2] += sums[2]
    grand = [[0, 0, 0], [0, 0, 0], [0, 0, 0]]
    for month in months:
        parts = per_month[month]
        if name is not None and detail:
            keys = set(parts[0]) | set(parts[1]) | set(parts[2])
            month_rows = [
                pacing_row(month, {name: key}, parts[0].get(key, _EMPTY),
                           parts[1].get(key, _EMPTY), parts[2].get(key, _EMPTY),
                           closed=month in closed, measure=filters.measure,
                           target=plan.get((month, key)), planned=rows_planned)
                for key in keys
            ]
            month_rows.sort(key=lambda r: (-r[f"booked_{filters.measure}"],
                                           -r[f"last_year_{filters.measure}"], str(r[name])))
            rows.extend(month_rows)
        totals = month_sums[month]
        for i in range(3):
            for j in range(3):
                grand[i][j] += totals[i][j]
        month_totals.append(pacing_row(month, {}, totals[0], totals[1], totals[2],
                                       closed=month in closed, measure=filters.measure,
                                       target=company_plan.get((month, "")),
                                       planned=totals_planned))
    if name is None:
        rows = month_totals
    range_label = f"{bc.label(months[0])} – {bc.label(months[-1])}"
    group_totals = []
    if name is not None:  # for pages that show one row a group
        for key in set(over[0]) | set(over[1]) | set(over[2]):
            row = pacing_row(f"{months[0]}..{months[-1]}", {name: key},
                             over[0].get(key, _EMPTY), over[1].get(key, _EMPTY),
                             over[2].get(key, _EMPTY), closed=False, measure=filters.measure)
            row["label"] = range_label
            group_totals.append(row)
        group_totals.sort(key=lambda r: (-r[f"booked_{filters.measure}"],
                                         -r[f"last_year_{filters.measure}"], str(r[name])))
    total = pacing_row(f"{months[0]}..{months[-1]}", {}, grand[0], grand[1], grand[2],
                       closed=False, measure=filters.measure, planned=totals_planned,
                       target=total_target([company_plan.get((m, "")) for m in months]))
    total["label"] = range_label
    return {"as_of": as_of, "stly_as_of": stly_day, "months": months, "by": by,
            "key": name, "measure": filters.measure, "rows": rows,
            "month_totals": month_totals, "group_totals": group_totals, "total": total}


def booking_curve(conn: Connection, *, as_of: date, month: str,
                  filters: ReportFilters | None = None,
                  weeks: int = CURVE_WEEKS) -> dict[str, object]:
    """Booked for ``month`` at each week before it starts (26 … 0), this year (up to
    ``as_of``; later points are None) against last year's same month. Money in dollars."""
    filters = replace(filters or ReportFilters(), year=None)
    where, params = filters.where("h")
    measure = 1 if filters.measure == "net" else 0
    series = {}
    for name, key, limit in (("this_year", month, as_of),
                             ("last_year", bc.shift_month(month, -12), None)):
        events = booked_deltas(conn, [key], where=where, params=params)
        start = bc.broadcast_month_start(key)
        points = [start - timedelta(weeks=w) for w in range(weeks, -1, -1)]
        values: list[Decimal | None] = []
        running, i = 0, 0
        for day in points:
            stamp = day.isoformat()
            while i < len(events) and events[i][1] <= stamp:
                running += events[i][2 + measure]
                i += 1
            values.append(None if limit is not None and day > limit else dollars(running))
        series[name] = values
    return {"month": month, "label": bc.label(month),
            "weeks_before": list(range(weeks, -1, -1)), "this_year": series["this_year"],
            "last_year": series["last_year"], "measure": filters.measure}


def newest_as_of(conn: Connection) -> date:
    """The day the books stand at: the newest recorded as-of date (today before any)."""
    from bookedbiz.history.as_of import station_today

    newest = conn.execute(text("SELECT MAX(as_of) FROM history_records")).scalar()
    return date.fromisoformat(newest) if newest else station_today()


def last_year_basis(conn: Connection, months: Sequence[str], filters: ReportFilters, *,
                    per_ae: bool = False,
                    finals: dict[str, Sequence[int]] | None = None,
                    closed: set[str] | None = None) -> dict[str, object]:
    """What each month of ``months`` is compared with (SPEC §1.4): last year's final figure for
    a closed month, for an open one what was booked the same time last year (M−12 as of the
    books' day − 364). ``basis`` maps (month, AE id or '') → exact [gross, net]; an open month
    has no basis while the history does not reach back to the STLY day (no red change against
    a final figure for a month still being sold). ``finals`` (M−12 → exact sums, month
    totals only) saves reading last year's months when the caller has them already, and
    ``closed`` (the closed months among ``months``) the closures."""
    filters = replace(filters, year=None)
    from bookedbiz.history.as_of import station_today

    # the history's first and newest day in one round trip (two lookups on the as-of index)
    first, newest = conn.execute(text(
        "SELECT (SELECT MIN(as_of) FROM history_records), "
        "(SELECT MAX(as_of) FROM history_records)")).one()
    as_of = date.fromisoformat(newest) if newest else station_today()  # as newest_as_of
    stly_day = as_of - timedelta(days=STLY_DAYS)
    if closed is None:
        closed = _closed_months(conn, months, filters)
    known = first is not None and first <= stly_day.isoformat()
    open_prior = [bc.shift_month(m, -12) for m in months if m not in closed]
    closed_prior = [bc.shift_month(m, -12) for m in months if m in closed]
    basis: dict[tuple[str, object], list[int]] = {}
    if known and open_prior:
        where, params = filters.where("h")
        for (month, key), sums in booked_sums(conn, open_prior, stly_day,
                                              key_sql="h.ae_id" if per_ae else None,
                                              where=where, params=params).items():
            basis[(bc.shift_month(month, 12), key)] = sums[:2]
    if closed_prior and finals is not None and not per_ae:
        for month in closed_prior:
            sums = finals.get(month, (0, 0))
            basis[(bc.shift_month(month, 12), "")] = [int(sums[0]), int(sums[1])]
    elif closed_prior:
        where, params = filters.where("ss")
        in_list = ", ".join(f":cp{i}" for i in range(len(closed_prior)))
        month = filters.month_expr("ss")  # last year's finals on the report's month basis
        rows = conn.execute(text(
            f"SELECT {month} AS m, {'ss.ae_id' if per_ae else chr(39) * 2}, "
            "SUM(ss.gross_micros), SUM(ss.net_micros) FROM spot_summary ss "
            f"WHERE {month} IN ({in_list}) AND {where} "
            f"GROUP BY {'1, 2' if per_ae else '1'}"),
            {**params, **{f"cp{i}": m for i, m in enumerate(closed_prior)}}).all()
        for month, key, gross, net in rows:
            basis[(bc.shift_month(month, 12), key)] = [int(gross or 0), int(net or 0)]
    has_basis = {m for m in months if m in closed or known}
    return {"basis": basis, "as_of": as_of, "stly_as_of": stly_day, "closed": closed,
            "has_basis": has_basis}

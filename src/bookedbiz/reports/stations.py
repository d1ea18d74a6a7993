"""Stations as reports see them (SPEC §4): which stations a report covers, whether its codes
exist, and which months count as closed for it.

A month is closed for a report when it is closed for every station in the report's scope (the
stations named by ``ReportFilters.stations``, else all) that has business in it: a station
that sold nothing that month has nothing to close (as ``months.list_months`` counts it). With
one station that is exactly the month's own closure, as before stations existed.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from sqlalchemy import Connection, text

from bookedbiz.entities.stations import list_stations
from bookedbiz.errors import ConfigError
from bookedbiz.reports.filters import ReportFilters


def station_list(conn: Connection) -> list[dict[str, object]]:
    """Every station (code, name, active), by code: what the filter bar offers."""
    return list_stations(conn)


def check_stations(conn: Connection, codes: Sequence[str]) -> tuple[str, ...]:
    """``codes`` as the database spells them; an unknown one is one ConfigError sentence
    naming the known codes."""
    known = {str(s["code"]).upper(): str(s["code"]) for s in station_list(conn)}
    unknown = [c for c in codes if c.upper() not in known]
    if unknown:
        raise ConfigError(f"There is no station '{unknown[0][:16]}'; the stations are "
                          f"{', '.join(sorted(known.values())) or 'none'}.")
    return tuple(known[c.upper()] for c in codes)


def scope_station_ids(conn: Connection, filters: ReportFilters | None) -> set[int]:
    """The station ids a report covers: the named ones, else every station."""
    if filters is not None and filters.stations:
        names = {f"s{i}": code for i, code in enumerate(filters.stations)}
        sql = ("SELECT station_id FROM stations WHERE code IN "
               f"({', '.join(':' + n for n in names)})")
        return {int(s) for s in conn.execute(text(sql), names).scalars()}
    return {int(s) for s in conn.execute(text("SELECT station_id FROM stations")).scalars()}


def month_closures(conn: Connection, first: str, last: str,
                   filters: ReportFilters | None = None) -> dict[str, tuple[str, str]]:
    """month → (closed at, closed by) of the months in ``first``..``last`` closed for the
    report (see the module docstring; the latest of the stations' closes is shown).

    One statement reads the closures and the stations in scope (a round trip is what a page
    pays most for on a server); only a month that some station in scope closed and another
    did not costs a probe of the summary (one month, one station): with one station, none."""
    names = {f"s{i}": code for i, code in enumerate(filters.stations)} if filters else {}
    only = f" WHERE code IN ({', '.join(':' + n for n in names)})" if names else ""
    scope: set[int] = set()
    found: dict[str, dict[int, tuple[str, str]]] = defaultdict(dict)
    for station_id, month, closed_at, closed_by in conn.execute(text(
            "SELECT station_id, broadcast_month, closed_at, closed_by FROM month_closures "
            "WHERE broadcast_month BETWEEN :a AND :b UNION ALL "
            f"SELECT station_id, NULL, NULL, NULL FROM stations{only}"),
            {"a": first, "b": last, **names}):
        if month is None:
            scope.add(int(station_id))
        else:
            found[month][int(station_id)] = (closed_at, closed_by)
    out = {}
    for month, closes in found.items():
        by_station = {s: when for s, when in closes.items() if s in scope}
        if by_station and all(_has_no_business(conn, month, s)
                              for s in scope - set(by_station)):
            out[month] = max(by_station.values())
    return out


def _has_no_business(conn: Connection, month: str, station_id: int) -> bool:
    return conn.execute(text(
        "SELECT 1 FROM spot_summary WHERE broadcast_month = :m AND station_id = :s LIMIT 1"),
        {"m": month, "s": station_id}).first() is None


def closed_months(conn: Connection, first: str, last: str,
                  filters: ReportFilters | None = None) -> set[str]:
    """The months in ``first``..``last`` closed for every station in scope."""
    return set(month_closures(conn, first, last, filters))

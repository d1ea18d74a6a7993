"""As-of queries on ``booking_history``: "booked for month M as of date D".

A row is on the books on day D when ``valid_from <= D`` and (``valid_to`` is NULL or after D):
the state left by the last import on or before D. Months are passed as an explicit ``IN`` list so
SQLite seeks the ``(broadcast_month, valid_to, valid_from)`` index once per month and decides
validity from the index before touching a row. Reports add their own filters (``where``) on the
``h`` alias, which carries ``ae_id``, ``customer_id``, ``market_code`` and ``revenue_type``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from sqlalchemy import Connection, CursorResult, text

from bookedbiz.history.recording import KEY_COLUMNS


def valid_on(alias: str, param: str) -> str:
    """SQL: the row of ``alias`` is on the books on the day bound to ``:param``."""
    return (f"{alias}.valid_from <= :{param} AND ({alias}.valid_to IS NULL "
            f"OR {alias}.valid_to > :{param})")


def months_in(alias: str, months: Sequence[str], prefix: str) -> tuple[str, dict[str, str]]:
    """SQL ``alias.broadcast_month IN (...)`` with one bound parameter per month."""
    if not months:
        return "0 = 1", {}
    names = [f"{prefix}{i}" for i in range(len(months))]
    return (f"{alias}.broadcast_month IN ({', '.join(':' + n for n in names)})",
            dict(zip(names, months, strict=True)))


def booked_rows(conn: Connection, months: Sequence[str], as_of: date, *,
                key_sql: str | None = None, joins: str = "", where: str = "1 = 1",
                params: dict[str, object] | None = None) -> CursorResult:
    """(month, group key, gross, net, spots) rows on the books as of ``as_of``, one a group,
    streamed (a caller that renames or moves the keys builds its own dict in one pass)."""
    in_months, month_params = months_in("h", months, "hm")
    key, group = (f"{key_sql}", "1, 2") if key_sql else ("''", "1")
    return conn.execute(text(
        f"SELECT h.broadcast_month, {key} AS k, SUM(h.gross_micros), SUM(h.net_micros), "
        f"SUM(h.spots) FROM booking_history h {joins} WHERE {in_months} AND "
        f"{valid_on('h', 'h_day')} AND {where} GROUP BY {group}"
    ), {**month_params, "h_day": as_of.isoformat(), **(params or {})})


def booked_sums(conn: Connection, months: Sequence[str], as_of: date, *,
                key_sql: str | None = None, joins: str = "", where: str = "1 = 1",
                params: dict[str, object] | None = None) -> dict[tuple[str, object], list[int]]:
    """(month, group key) → exact [gross micros, net micros, spots] on the books as of ``as_of``
    (the key is '' without ``key_sql``; grouping by a constant would cost a sort)."""
    rows = booked_rows(conn, months, as_of, key_sql=key_sql, joins=joins, where=where,
                       params=params)
    return {(m, k): [int(g or 0), int(n or 0), int(s or 0)] for m, k, g, n, s in rows}


def booked_deltas(conn: Connection, months: Sequence[str], *, where: str = "1 = 1",
                  params: dict[str, object] | None = None) -> list[tuple[str, str, int, int]]:
    """(month, day, gross change, net change) events: what each recorded day added and removed,
    so a cumulative sum gives the booked total on every day (the booking curve) in one pass."""
    in_months, month_params = months_in("h", months, "hm")
    rows = conn.execute(text(
        "SELECT broadcast_month, day, SUM(g), SUM(n) FROM ("
        " SELECT h.broadcast_month, h.valid_from AS day, h.gross_micros AS g, h.net_micros AS n"
        f" FROM booking_history h WHERE {in_months} AND {where}"
        " UNION ALL"
        " SELECT h.broadcast_month, h.valid_to, -h.gross_micros, -h.net_micros"
        f" FROM booking_history h WHERE {in_months} AND h.valid_to IS NOT NULL AND {where}"
        ") d GROUP BY 1, 2 ORDER BY 2"
    ), {**month_params, **(params or {})}).all()
    return [(m, d, int(g or 0), int(n or 0)) for m, d, g, n in rows]


def state_as_of(conn: Connection, as_of: date, months: Sequence[str] | None = None,
                station_id: int | None = None) -> dict[tuple, list[int]]:
    """The whole booked state at the history grain on ``as_of`` (tests, backfill checks): of
    one station, or summed over every station when ``station_id`` is None."""
    in_months, params = months_in("h", months, "sm") if months is not None else ("1 = 1", {})
    station = "h.station_id = :sid" if station_id is not None else "1 = 1"
    keys = ", ".join(f"h.{c}" for c in KEY_COLUMNS)
    rows = conn.execute(text(
        f"SELECT {keys}, SUM(h.gross_micros), SUM(h.net_micros), SUM(h.spots) "
        f"FROM booking_history h WHERE {valid_on('h', 'day')} AND {in_months} AND {station} "
        f"GROUP BY {keys}"
    ), {**params, "day": as_of.isoformat(), "sid": station_id})
    return {tuple(r[:8]): [int(r[8]), int(r[9]), int(r[10])] for r in rows}

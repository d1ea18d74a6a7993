"""Recording booked states into ``booking_history`` as validity intervals.

A state is ``{key: [gross_micros, net_micros, spots]}`` for whole months, keyed at the history
grain (:data:`KEY_COLUMNS`). Recording a state for as-of day D compares it with the current rows
of those months: unchanged rows are left alone, changed or vanished rows are closed at D
(``valid_to = D``), new or changed ones are opened from D. A row opened on D itself is simply
replaced (several imports a day leave that day's last state), and a row closed on D that comes
back unchanged the same day is reopened, so the table grows with changes, not with imports.
Callers hold the write transaction: the history commits or rolls back with the import.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable
from datetime import date

from bookedbiz.db.connection import utc_now

KEY_COLUMNS = ("broadcast_month", "customer_id", "agency_id", "ae_id", "market_code",
               "revenue_type", "language_group", "contract")
REVIEW_BUCKET = "~review"  # what a spot without a language assignment reports as
State = dict[tuple, list[int]]

_CURRENT = (
    f"SELECT history_id, {', '.join(KEY_COLUMNS[1:])}, gross_micros, net_micros, spots, "
    "valid_from FROM booking_history WHERE broadcast_month = ? AND valid_to IS NULL"
)
_ENDED_ON = (
    f"SELECT history_id, {', '.join(KEY_COLUMNS[1:])}, gross_micros, net_micros, spots "
    "FROM booking_history WHERE broadcast_month = ? AND valid_to = ?"
)
_INSERT = (
    f"INSERT INTO booking_history ({', '.join(KEY_COLUMNS)}, gross_micros, net_micros, spots, "
    f"valid_from, valid_to, record_id) VALUES ({', '.join('?' * (len(KEY_COLUMNS) + 6))})"
)


def language_groups(conn: sqlite3.Connection) -> dict[str, str]:
    """Report bucket → language group; special buckets (``~review`` …) are their own group."""
    return dict(conn.execute("SELECT code, language_group FROM languages"))


def add_to_state(state: State, key: tuple, gross: int, net: int) -> None:
    sums = state.get(key)
    if sums is None:
        state[key] = [gross, net, 1]
    else:
        sums[0] += gross
        sums[1] += net
        sums[2] += 1


def record_state(
    conn: sqlite3.Connection,
    as_of: date,
    months: Iterable[str],
    state: State,
    *,
    kind: str,
    batch_id: int | None = None,
    source_file: str | None = None,
    source_sha256: str | None = None,
    only_if_changed: bool = False,
) -> tuple[int, int]:
    """Make the history of ``months`` as of ``as_of`` equal ``state``; returns (opened, closed).

    ``state`` must hold every key of those months (a key absent is a cancellation)."""
    day = as_of.isoformat()
    months = sorted(set(months))
    month_set = set(months)
    current: dict[tuple, tuple] = {}
    doubled: set[tuple] = set()  # two current rows of one key: a merge re-pointed one of them
    extra: list[tuple] = []
    for month in months:
        for row in conn.execute(_CURRENT, (month,)):
            key = (month, *row[1:8])
            if key in current:
                doubled.add(key)
                extra.append(row)
            else:
                current[key] = row
    close_ids: list[tuple[str, int]] = []
    delete_ids: list[tuple[int]] = []
    for row in extra:  # closed whatever the new state; their key is reopened below
        if row[11] == day:
            delete_ids.append((row[0],))
        else:
            close_ids.append((day, row[0]))
    for key, row in current.items():
        new = state.get(key)
        if (new is not None and key not in doubled and new[0] == row[8] and new[1] == row[9]
                and new[2] == row[10]):
            continue
        if row[11] == day:
            delete_ids.append((row[0],))
        else:
            close_ids.append((day, row[0]))
    opens: list[tuple] = []
    for key, sums in state.items():
        if key[0] not in month_set:
            raise ValueError(f"state key outside the recorded months: {key!r}")
        row = current.get(key)
        if (row is not None and key not in doubled and sums[0] == row[8] and sums[1] == row[9]
                and sums[2] == row[10]):
            continue
        opens.append((key, sums))
    if only_if_changed and not (close_ids or delete_ids or opens):
        return 0, 0
    reopen: list[tuple[int]] = []
    if opens and conn.execute("SELECT 1 FROM history_records WHERE as_of = ? LIMIT 1",
                              (day,)).fetchone():
        ended: dict[tuple, tuple] = {}
        for month in {key[0] for key, _ in opens}:
            for row in conn.execute(_ENDED_ON, (month, day)):
                ended[(month, *row[1:8])] = row
        kept = []
        for key, sums in opens:
            row = ended.get(key)
            if row is not None and (row[8], row[9], row[10]) == tuple(sums):
                reopen.append((row[0],))
            else:
                kept.append((key, sums))
        opens = kept
    record_id = int(conn.execute(
        "INSERT INTO history_records (as_of, kind, batch_id, source_file, source_sha256, "
        "months, rows_opened, rows_closed, recorded_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (day, kind, batch_id, source_file, source_sha256, json.dumps(months),
         len(opens) + len(reopen), len(close_ids) + len(delete_ids), utc_now()),
    ).lastrowid)
    if delete_ids:
        conn.executemany("DELETE FROM booking_history WHERE history_id = ?", delete_ids)
    if close_ids:
        conn.executemany("UPDATE booking_history SET valid_to = ? WHERE history_id = ?",
                         close_ids)
    if reopen:
        conn.executemany("UPDATE booking_history SET valid_to = NULL WHERE history_id = ?",
                         reopen)
    if opens:
        conn.executemany(_INSERT, ((*key, *sums, day, None, record_id) for key, sums in opens))
    return len(opens) + len(reopen), len(close_ids) + len(delete_ids)


def state_from_spots(conn: sqlite3.Connection, months: Iterable[str]) -> State:
    """The booked state of ``months`` as the ``spots`` table holds it now (the SQL definition
    of what an import accumulates row by row)."""
    state: State = {}
    for month in sorted(set(months)):
        for row in conn.execute(
            "SELECT s.broadcast_month, s.customer_id, s.agency_id, s.ae_id, s.market_code, "
            "s.revenue_type, COALESCE(l.language_group, la.report_bucket, ?), "
            "COALESCE(s.contract, ''), COALESCE(SUM(s.gross_rate_micros), 0), "
            "COALESCE(SUM(s.station_net_micros), 0), COUNT(*) "
            "FROM spots s LEFT JOIN language_assignments la ON la.spot_id = s.spot_id "
            "LEFT JOIN languages l ON l.code = la.report_bucket "
            "WHERE s.broadcast_month = ? AND s.is_trade = 0 "
            "GROUP BY 1, 2, 3, 4, 5, 6, 7, 8",
            (REVIEW_BUCKET, month),
        ):
            state[tuple(row[:8])] = [int(row[8]), int(row[9]), int(row[10])]
    return state


def sync_months_from_spots(conn: sqlite3.Connection, months: Iterable[str], as_of: date,
                           kind: str) -> tuple[int, int]:
    """Record the spots' current state of ``months`` when it differs from the history (month
    close, reopen, merge); a no-op, and no record, when they already agree."""
    months = sorted(set(months))
    return record_state(conn, as_of, months, state_from_spots(conn, months), kind=kind,
                        only_if_changed=True)


def record_month_event(conn: sqlite3.Connection, months: list[str], kind: str) -> None:
    """The history side of a month close or reopen (``months.StatusHook``): bring the months'
    history to the spots as of today at the station (never before the newest recorded day)."""
    from bookedbiz.history.as_of import newest_recorded_as_of, station_today

    day = station_today()
    newest = newest_recorded_as_of(conn)
    if newest is not None and newest > day:
        day = newest
    sync_months_from_spots(conn, months, day, kind)

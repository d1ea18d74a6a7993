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
from collections.abc import Iterable
from datetime import date

from sqlalchemy import Connection, text

from bookedbiz.db.bulk import insert_rows
from bookedbiz.db.connection import utc_now
from bookedbiz.db.schema import MAIN_STATION_ID

KEY_COLUMNS = ("broadcast_month", "customer_id", "agency_id", "ae_id", "market_code",
               "revenue_type", "language_group", "contract")
REVIEW_BUCKET = "~review"  # what a spot without a language assignment reports as
State = dict[tuple, list[int]]

_CURRENT = text(
    f"SELECT history_id, {', '.join(KEY_COLUMNS[1:])}, gross_micros, net_micros, spots, "
    "valid_from FROM booking_history WHERE broadcast_month = :month AND valid_to IS NULL "
    "AND station_id = :sid"
)
_ENDED_ON = text(
    f"SELECT history_id, {', '.join(KEY_COLUMNS[1:])}, gross_micros, net_micros, spots "
    "FROM booking_history WHERE broadcast_month = :month AND valid_to = :day "
    "AND station_id = :sid"
)
INTERVAL_COLUMNS = (*KEY_COLUMNS, "station_id", "gross_micros", "net_micros", "spots",
                    "valid_from", "valid_to", "record_id")


def language_groups(conn: Connection) -> dict[str, str]:
    """Report bucket → language group; special buckets (``~review`` …) are their own group."""
    return dict(conn.execute(text("SELECT code, language_group FROM languages")).all())


def add_to_state(state: State, key: tuple, gross: int, net: int) -> None:
    sums = state.get(key)
    if sums is None:
        state[key] = [gross, net, 1]
    else:
        sums[0] += gross
        sums[1] += net
        sums[2] += 1


def record_state(
    conn: Connection,
    as_of: date,
    months: Iterable[str],
    state: State,
    *,
    kind: str,
    batch_id: int | None = None,
    source_file: str | None = None,
    source_sha256: str | None = None,
    only_if_changed: bool = False,
    station_id: int = MAIN_STATION_ID,
) -> tuple[int, int]:
    """Make station ``station_id``'s history of ``months`` as of ``as_of`` equal ``state``;
    returns (opened, closed). ``state`` must hold every key of those months (a key absent is a
    cancellation); other stations' rows of those months are not touched."""
    day = as_of.isoformat()
    sid = int(station_id)
    months = sorted(set(months))
    month_set = set(months)
    current: dict[tuple, tuple] = {}
    doubled: set[tuple] = set()  # two current rows of one key: a merge re-pointed one of them
    extra: list[tuple] = []
    for month in months:
        for row in conn.execute(_CURRENT, {"month": month, "sid": sid}):
            key = (month, *row[1:8])
            if key in current:
                doubled.add(key)
                extra.append(row)
            else:
                current[key] = row
    close_ids: list[int] = []
    delete_ids: list[int] = []
    for row in extra:  # closed whatever the new state; their key is reopened below
        if row[11] == day:
            delete_ids.append(row[0])
        else:
            close_ids.append(row[0])
    for key, row in current.items():
        new = state.get(key)
        if (new is not None and key not in doubled and new[0] == row[8] and new[1] == row[9]
                and new[2] == row[10]):
            continue
        if row[11] == day:
            delete_ids.append(row[0])
        else:
            close_ids.append(row[0])
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
    reopen: list[int] = []
    if opens and conn.execute(text(
            "SELECT 1 FROM history_records WHERE as_of = :day AND (station_id = :sid "
            "OR station_id IS NULL) LIMIT 1"), {"day": day, "sid": sid}).first():
        ended: dict[tuple, tuple] = {}
        for month in {key[0] for key, _ in opens}:
            for row in conn.execute(_ENDED_ON, {"month": month, "day": day, "sid": sid}):
                ended[(month, *row[1:8])] = row
        kept = []
        for key, sums in opens:
            row = ended.get(key)
            if row is not None and (row[8], row[9], row[10]) == tuple(sums):
                reopen.append(row[0])
            else:
                kept.append((key, sums))
        opens = kept
    record_id = int(conn.execute(text(
        "INSERT INTO history_records (as_of, station_id, kind, batch_id, source_file, "
        "source_sha256, months, rows_opened, rows_closed, recorded_at) VALUES (:day, :sid, "
        ":kind, :batch, :file, :sha, :months, :opened, :closed, :now) RETURNING record_id"),
        {"day": day, "sid": sid, "kind": kind, "batch": batch_id, "file": source_file,
         "sha": source_sha256, "months": json.dumps(months), "opened": len(opens) + len(reopen),
         "closed": len(close_ids) + len(delete_ids), "now": utc_now()}).scalar_one())
    if delete_ids:
        conn.execute(text("DELETE FROM booking_history WHERE history_id = :id"),
                     [{"id": i} for i in delete_ids])
    if close_ids:
        conn.execute(text("UPDATE booking_history SET valid_to = :day WHERE history_id = :id"),
                     [{"day": day, "id": i} for i in close_ids])
    if reopen:
        conn.execute(text("UPDATE booking_history SET valid_to = NULL WHERE history_id = :id"),
                     [{"id": i} for i in reopen])
    if opens:
        insert_rows(conn, "booking_history", INTERVAL_COLUMNS,
                    ((*key, sid, *sums, day, None, record_id) for key, sums in opens))
    return len(opens) + len(reopen), len(close_ids) + len(delete_ids)


def state_from_spots(conn: Connection, months: Iterable[str],
                     station_id: int = MAIN_STATION_ID) -> State:
    """The booked state of station ``station_id``'s ``months`` as the ``spots`` table holds it
    now (the SQL definition of what an import accumulates row by row)."""
    state: State = {}
    query = text(
        "SELECT s.broadcast_month, s.customer_id, s.agency_id, s.ae_id, s.market_code, "
        "s.revenue_type, COALESCE(l.language_group, la.report_bucket, :review), "
        "COALESCE(s.contract, ''), COALESCE(SUM(s.gross_rate_micros), 0), "
        "COALESCE(SUM(s.station_net_micros), 0), COUNT(*) "
        "FROM spots s LEFT JOIN language_assignments la ON la.spot_id = s.spot_id "
        "LEFT JOIN languages l ON l.code = la.report_bucket "
        "WHERE s.broadcast_month = :month AND s.station_id = :sid AND NOT s.is_trade "
        "GROUP BY 1, 2, 3, 4, 5, 6, 7, 8")
    for month in sorted(set(months)):
        for row in conn.execute(query, {"review": REVIEW_BUCKET, "month": month,
                                        "sid": int(station_id)}):
            state[tuple(row[:8])] = [int(row[8]), int(row[9]), int(row[10])]
    return state


def sync_months_from_spots(conn: Connection, months: Iterable[str], as_of: date, kind: str,
                           station_id: int = MAIN_STATION_ID) -> tuple[int, int]:
    """Record the spots' current state of ``months`` when it differs from the history (month
    close, reopen, merge); a no-op, and no record, when they already agree."""
    months = sorted(set(months))
    return record_state(conn, as_of, months, state_from_spots(conn, months, station_id),
                        kind=kind, only_if_changed=True, station_id=station_id)


def record_month_event(conn: Connection, months: list[str], kind: str,
                       station_id: int = MAIN_STATION_ID) -> None:
    """The history side of a month close or reopen (``months.StatusHook``): bring the station's
    months' history to the spots as of today at the station (never before the newest recorded
    day)."""
    from bookedbiz.history.as_of import newest_recorded_as_of, station_today

    day = station_today()
    newest = newest_recorded_as_of(conn, station_id)
    if newest is not None and newest > day:
        day = newest
    sync_months_from_spots(conn, months, day, kind, station_id)

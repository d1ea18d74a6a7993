"""Reading a database's state in tests, on SQLite and PostgreSQL alike: plain SQL through Core
connections from ``Database(target).reading()`` (the target is a path or a URL, as the
``database`` fixture gives it)."""

from __future__ import annotations

import hashlib
from pathlib import Path

from sqlalchemy import text

from bookedbiz.db.access import Database

# The tables whose rows are "the data" (import_batches and rejects are the run's bookkeeping).
DATA_TABLES = (
    "spots", "customers", "agencies", "customer_aliases", "agency_aliases", "aes", "ae_aliases",
    "markets", "language_assignments", "spot_summary", "month_closures", "month_closure_events",
    "booking_history", "history_records", "stations",
)


def rows(target: str | Path, sql: str, **params: object) -> list[tuple]:
    """Every row of one query (named ``:params``)."""
    db = Database(target)
    try:
        with db.reading() as conn:
            return [tuple(r) for r in conn.execute(text(sql), params)]
    finally:
        db.dispose()


def scalar(target: str | Path, sql: str, **params: object) -> object:
    found = rows(target, sql, **params)
    return found[0][0] if found else None


def checksum(target: str | Path, tables: tuple[str, ...] = DATA_TABLES) -> str:
    """A digest of every row of ``tables`` (sorted, so row order on disk does not matter):
    equal means 'exactly as before'. Booleans and small numbers compare alike on both."""
    digest = hashlib.sha256()
    db = Database(target)
    try:
        with db.reading() as conn:
            for table in tables:
                got = conn.execute(text(f"SELECT * FROM {table}")).all()  # noqa: S608
                for row in sorted((tuple(_plain(v) for v in r) for r in got), key=repr):
                    digest.update(repr(row).encode())
    finally:
        db.dispose()
    return digest.hexdigest()


def _plain(value: object) -> object:
    return int(value) if isinstance(value, bool) else value


def month_counts(target: str | Path, station: str | None = None) -> dict[str, int]:
    """Non-Trade spots per month (of one station's code, or all)."""
    where = "AND st.code = :code" if station else ""
    return {m: int(n) for m, n in rows(
        target, "SELECT s.broadcast_month, COUNT(*) FROM spots s JOIN stations st "
        f"ON st.station_id = s.station_id WHERE NOT s.is_trade {where} "
        "GROUP BY s.broadcast_month", code=station)}

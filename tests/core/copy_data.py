"""Identical data in both databases for the report tests (issue 14): every table of a SQLite
database copied row for row, with Core, into an initialised target (a SQLite file or a
PostgreSQL URL), and a second station carved out of the copy.

The copy goes through the schema's Core tables on both sides, so booleans, money (BIGINT on
PostgreSQL) and texts arrive as the schema types them; PostgreSQL's id sequences are moved past
the copied ids so a later write (a login, a close) gets a fresh one.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import delete, insert, select, text, update

from bookedbiz.db import schema
from bookedbiz.db.access import Database

CHUNK = 5000


def copy_database(source: Path | str, target: str) -> None:
    """Replace every row of ``target`` (initialised, at the current schema) by ``source``'s."""
    src, dest = Database(source), Database(target)
    tables = schema.metadata.sorted_tables
    try:
        with src.reading() as read, dest.writing() as write:
            for table in reversed(tables):
                write.execute(delete(table))
            for table in tables:
                rows = [dict(r._mapping) for r in read.execute(select(table))]
                for start in range(0, len(rows), CHUNK):
                    write.execute(insert(table), rows[start:start + CHUNK])
            if not dest.is_sqlite:
                _move_sequences(write, tables)
    finally:
        src.dispose()
        dest.dispose()


def _move_sequences(conn, tables) -> None:  # noqa: ANN001
    for table in tables:
        keys = list(table.primary_key.columns)
        if len(keys) != 1:
            continue
        sequence = conn.execute(text("SELECT pg_get_serial_sequence(:t, :c)"),
                                {"t": table.name, "c": keys[0].name}).scalar()
        if sequence:
            top = conn.execute(select(keys[0]).order_by(keys[0].desc()).limit(1)).scalar()
            conn.execute(text("SELECT setval(:s, :v, false)"),
                         {"s": sequence, "v": int(top or 0) + 1})


def split_station(target: str, code: str = "KTWO") -> int:
    """Add station ``code`` and move every customer with an odd id to it (spots, summary rows
    and booking history alike, so each station's figures stay consistent); its id."""
    db = Database(target)
    try:
        with db.writing() as conn:
            station_id = int(conn.execute(text(
                "SELECT COALESCE(MAX(station_id), 0) + 1 FROM stations")).scalar_one())
            conn.execute(insert(schema.stations).values(
                station_id=station_id, code=code, name=f"Station {code}", is_active=True,
                created_at="2026-01-01T00:00:00Z"))
            for table in (schema.spots, schema.spot_summary, schema.booking_history):
                conn.execute(update(table).where(table.c.customer_id % 2 == 1)
                             .values(station_id=station_id))
        return station_id
    finally:
        db.dispose()

"""Many rows into one table inside the caller's write transaction, the fastest way each database
offers: SQLite's ``executemany`` on the driver connection (no per-row SQLAlchemy work), and
PostgreSQL's ``COPY … FROM STDIN`` through psycopg (one stream instead of a round trip a row).

The import's spot insert, the summary rows and the booking-history intervals go through here;
this is the dialect-specific code that earns its place (PG_PLAN.md).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy import Connection

from bookedbiz.db.access import driver_connection


def insert_rows(conn: Connection, table: str, columns: Sequence[str],
                rows: Iterable[Sequence[object]]) -> None:
    """Insert ``rows`` (tuples in ``columns`` order) into ``table``; ``table`` and ``columns``
    are fixed names from the calling code, never user input."""
    raw = driver_connection(conn)
    names = ", ".join(columns)
    if conn.dialect.name == "sqlite":
        marks = ", ".join("?" for _ in columns)
        raw.executemany(f"INSERT INTO {table} ({names}) VALUES ({marks})", rows)  # noqa: S608
        return
    with raw.cursor() as cursor, cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
        write = copy.write_row
        for row in rows:
            write(row)

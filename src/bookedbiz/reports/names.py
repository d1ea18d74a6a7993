"""Names of the customers, AEs and agencies a report shows, looked up by id after the sums.

Reports add up by id and name the groups afterwards (a join per summary row would cost more than
the sums). A page names a few thousand ids; one statement does it: an expanding ``IN`` on
SQLite, an array (``= ANY``) on PostgreSQL, where hundreds of bound parameters cost far more
to send and parse than one array (a customers page: ~15 ms of 500-parameter statements).
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import Connection, Integer, any_, bindparam, select
from sqlalchemy.dialects.postgresql import ARRAY

from bookedbiz.db import schema

_TABLES = {"customers": (schema.customers, "customer_id"), "aes": (schema.aes, "ae_id"),
           "agencies": (schema.agencies, "agency_id")}
CHUNK = 10_000  # under SQLite's 32,766 bound parameters per statement


def names_by_id(conn: Connection, table: str, ids: Iterable[int | None]) -> dict[int, str]:
    """id → name for ``ids`` (None and unknown ids are left out)."""
    source, key_name = _TABLES[table]
    key = source.c[key_name]
    wanted = sorted({int(i) for i in ids if i is not None})
    if not wanted:
        return {}
    if conn.dialect.name == "postgresql":
        array = bindparam("ids", wanted, type_=ARRAY(Integer))
        return dict(conn.execute(select(key, source.c.name).where(key == any_(array))).all())
    found: dict[int, str] = {}
    for start in range(0, len(wanted), CHUNK):
        chunk = wanted[start:start + CHUNK]
        found.update(conn.execute(select(key, source.c.name).where(key.in_(chunk))).all())
    return found

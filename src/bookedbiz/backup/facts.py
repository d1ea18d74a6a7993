"""What a database holds, in a few numbers: its schema revision, the rows of every BookedBiz
table and the sum of every money column.

A PostgreSQL backup records these when the dump is taken, in the same snapshot the dump reads
(:mod:`bookedbiz.backup.pg_backup`), next to the dump's content hash. ``verify`` and ``restore``
restore the dump into a scratch database and compare: a dump that restores but lost or changed
rows is refused, which neither the content hash (it proves the bytes) nor pg_restore's exit code
(it proves the SQL ran) would notice.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from bookedbiz.db import schema
from bookedbiz.errors import VerificationError

if TYPE_CHECKING:
    from sqlalchemy import Connection

Facts = dict[str, Any]


def database_facts(conn: Connection) -> Facts:
    """``{schema_version, row_counts: {table: n}, money_totals: {table.column: micros},
    last_import_at}`` of the database behind ``conn`` (both dialects; read-only)."""
    from sqlalchemy import func, inspect, select, text

    inspector = inspect(conn)
    present = set(inspector.get_table_names())
    version = (conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
               if "alembic_version" in present else None)
    counts: dict[str, int] = {}
    totals: dict[str, int] = {}
    for table in schema.metadata.sorted_tables:
        if table.name not in present:
            continue
        columns = {c["name"] for c in inspector.get_columns(table.name)}
        money = [c for c in table.columns if c.name.endswith("_micros") and c.name in columns]
        row = conn.execute(select(func.count(), *[func.coalesce(func.sum(c), 0) for c in money])
                           .select_from(table)).one()
        counts[table.name] = int(row[0])
        totals.update({f"{table.name}.{c.name}": int(v) for c, v in zip(money, row[1:],
                                                                        strict=True)})
    last = None
    if "import_batches" in present:
        batches = schema.import_batches
        last = conn.execute(select(func.max(batches.c.finished_at))
                            .where(batches.c.status == "completed")).scalar()
    return {"schema_version": version, "row_counts": counts, "money_totals": totals,
            "last_import_at": last}


def missing_tables(facts: Facts) -> list[str]:
    """The tables BookedBiz cannot work without that the database lacks."""
    return [t for t in schema.REQUIRED_TABLES if t not in facts["row_counts"]]


def compare_facts(recorded: Facts, restored: Facts, what: str) -> None:
    """Refuse (VerificationError) when ``restored`` differs from ``recorded`` in any figure;
    the sentence names the first difference."""
    if recorded.get("schema_version") != restored.get("schema_version"):
        raise VerificationError(
            f"{what} is at schema revision {restored.get('schema_version')}, but "
            f"{recorded.get('schema_version')} was recorded when the dump was made; refused.")
    for key, label in (("row_counts", "rows"), ("money_totals", "micro-dollars")):
        want, got = recorded.get(key) or {}, restored.get(key) or {}
        for name in sorted(set(want) | set(got)):
            if want.get(name) != got.get(name):
                raise VerificationError(
                    f"{what} has {got.get(name, 'no')} {label} in {name}, but "
                    f"{want.get(name, 'none')} were recorded when the dump was made; refused.")


def summary(facts: Facts) -> str:
    """'schema 0012, 23 tables, 1,234 rows' for a message."""
    rows = sum(facts["row_counts"].values())
    return (f"schema {facts['schema_version']}, {len(facts['row_counts'])} tables, "
            f"{rows:,} rows")

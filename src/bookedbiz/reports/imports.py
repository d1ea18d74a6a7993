"""Import history for people: batches, what each changed, what it rejected, and import health."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import Connection, text

from bookedbiz.errors import NotFoundError

_BATCH_COLUMNS = (
    "batch_id, mode, source_file, source_sha256, started_at, finished_at, status, "
    "months_affected, rows_read, rows_inserted, rows_deleted, rows_rejected, rows_skipped, "
    "warnings, changes, error, closed_by, started_by"
)


def _json_list(value: str | None) -> list[Any]:
    if not value:
        return []
    try:
        parsed = json.loads(value)
    except ValueError:
        return [value]
    return parsed if isinstance(parsed, list) else [parsed]


def _batch(row) -> dict[str, Any]:  # noqa: ANN001 - a database row
    keys = [k.strip() for k in _BATCH_COLUMNS.split(",")]
    batch = dict(zip(keys, row, strict=True))
    for key in ("months_affected", "warnings", "changes"):
        batch[key] = _json_list(batch[key])
    batch["file_name"] = (batch["source_file"] or "").replace("\\", "/").rsplit("/", 1)[-1]
    return batch


def import_history(conn: Connection, limit: int = 100, status: str | None = None) -> list[dict]:
    """The newest batches first."""
    sql = f"SELECT {_BATCH_COLUMNS} FROM import_batches"  # noqa: S608
    params: dict[str, Any] = {"n": int(limit)}
    if status:
        sql += " WHERE status = :s"
        params["s"] = status
    rows = conn.execute(text(sql + " ORDER BY batch_id DESC LIMIT :n"), params).all()
    return [_batch(r) for r in rows]


def import_batch(conn: Connection, batch_id: int) -> dict[str, Any]:
    row = conn.execute(
        text(f"SELECT {_BATCH_COLUMNS} FROM import_batches WHERE batch_id = :b"),  # noqa: S608
        {"b": batch_id},
    ).first()
    if row is None:
        raise NotFoundError(f"There is no import batch {batch_id}.")
    return _batch(row)


def batch_rejects(conn: Connection, batch_id: int, limit: int = 1000) -> tuple[list[dict], int]:
    """Up to ``limit`` rejected rows of a batch and how many there are in all."""
    total = conn.execute(
        text("SELECT COUNT(*) FROM import_rejects WHERE batch_id = :b"), {"b": batch_id}
    ).scalar_one()
    rows = conn.execute(
        text(
            "SELECT source_file, sheet, row_number, column_name, value, reason "
            "FROM import_rejects WHERE batch_id = :b ORDER BY reject_id LIMIT :n"
        ),
        {"b": batch_id, "n": int(limit)},
    ).all()
    keys = ("source_file", "sheet", "row_number", "column_name", "value", "reason")
    return [dict(zip(keys, r, strict=True)) for r in rows], int(total)


def import_health(conn: Connection) -> dict[str, Any]:
    """Last completed and last failed batch, and any batch still running."""

    def one(sql: str) -> dict | None:
        row = conn.execute(text(sql)).first()
        return _batch(row) if row else None

    base = f"SELECT {_BATCH_COLUMNS} FROM import_batches"  # noqa: S608
    return {
        "last_completed": one(base + " WHERE status = 'completed' ORDER BY batch_id DESC LIMIT 1"),
        "last_failed": one(base + " WHERE status = 'failed' ORDER BY batch_id DESC LIMIT 1"),
        "running": one(base + " WHERE status = 'running' ORDER BY batch_id DESC LIMIT 1"),
        "counts": dict(
            conn.execute(text("SELECT status, COUNT(*) FROM import_batches GROUP BY status")).all()
        ),
    }

"""Budgets: a gross target per AE × broadcast month, every change kept (who, when, old, new).

Writes go through :func:`apply_budgets` alone (file import, CLI and the web grid), inside one
write transaction (``Database.writing()``, SQLite or PostgreSQL): either every line of a file
is stored or none is.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Connection, text

from bookedbiz import broadcast_calendar as bc
from bookedbiz.db.access import Database, opened, reading_from
from bookedbiz.db.connection import utc_now
from bookedbiz.errors import BookedBizError, ConfigError
from bookedbiz.planning.aes import create_ae, find_ae
from bookedbiz.planning.budget_file import (
    BudgetFileError,
    BudgetLine,
    parse_budget_rows,
    read_rows,
    text_rows,
)
from bookedbiz.vocab import name_key


@dataclass(frozen=True)
class BudgetChange:
    """What saving a line would do (a preview) or did: old None = new budget."""

    ae_id: int | None
    ae: str
    month: str
    old_micros: int | None
    new_micros: int


@dataclass(frozen=True)
class BudgetLoad:
    changes: list[BudgetChange]
    unchanged: int
    created_aes: list[str]
    stored: bool


def lines_from_file(path: Path) -> list[BudgetLine]:
    return parse_budget_rows(read_rows(path), path.name)


def lines_from_text(text: str, source: str = "the pasted block") -> list[BudgetLine]:
    return parse_budget_rows(text_rows(text), source)


def _resolve(conn: Connection, lines: list[BudgetLine], source: str,
             create_aes: bool) -> tuple[dict[str, int | None], list[str]]:
    """name key → ae_id (None: unknown, to be created); problems when refused."""
    resolved: dict[str, int | None] = {}
    unknown: dict[str, list[int]] = {}
    for line in lines:
        key = name_key(line.ae)
        if key not in resolved:
            resolved[key] = find_ae(conn, line.ae)
        if resolved[key] is None:
            unknown.setdefault(line.ae, []).append(line.row)
    problems = []
    if unknown and not create_aes:
        for name, rows in unknown.items():
            listed = ", ".join(str(r) for r in sorted(set(rows))[:10])
            problems.append(f"row {listed}: the AE '{name[:60]}' is unknown (add an AE alias, "
                            "or load with --create-aes)")
    seen: dict[tuple[int, str], BudgetLine] = {}
    for line in lines:
        ae_id = resolved[name_key(line.ae)]
        if ae_id is None:
            continue
        first = seen.get((ae_id, line.month))
        if first is not None:
            problems.append(f"row {line.row}: {line.ae} is the same AE as {first.ae} on row "
                            f"{first.row}, for {bc.label(line.month)} again")
        else:
            seen[(ae_id, line.month)] = line
    return resolved, problems


def _plan(conn: Connection, lines: list[BudgetLine], source: str,
          create_aes: bool) -> tuple[dict[str, int | None], list[BudgetChange], int, list[str]]:
    """What storing ``lines`` would change, or BudgetFileError listing every problem."""
    resolved, problems = _resolve(conn, lines, source, create_aes)
    if problems:
        raise BudgetFileError(source, problems)
    created: list[str] = []
    changes, unchanged = [], 0
    for line in lines:
        ae_id = resolved[name_key(line.ae)]
        old = None
        if ae_id is None:
            display = " ".join(line.ae.split())
            if display not in created:
                created.append(display)
        else:
            row = conn.execute(text(
                "SELECT gross_micros FROM budgets WHERE ae_id = :ae AND broadcast_month = :m"),
                {"ae": ae_id, "m": line.month}).first()
            old = int(row[0]) if row else None
        if old == line.micros:
            unchanged += 1
        else:
            changes.append(BudgetChange(ae_id, line.ae, line.month, old, line.micros))
    return resolved, changes, unchanged, created


def apply_budgets(db: Database | str | Path, lines: list[BudgetLine], *, by: str,
                  source: str, create_aes: bool = False, dry_run: bool = False) -> BudgetLoad:
    """Store ``lines`` (or only preview them with ``dry_run``): every line or none."""
    by = " ".join((by or "").split())
    if not by:
        raise ConfigError("Say who is changing the budgets (--by NAME).")
    if dry_run:
        with reading_from(db) as conn:
            _, changes, unchanged, created = _plan(conn, lines, source, create_aes)
        return BudgetLoad(changes, unchanged, created, stored=False)
    with opened(db) as database, database.writing() as conn:
        resolved, changes, unchanged, created = _plan(conn, lines, source, create_aes)
        for display in created:
            resolved[name_key(display)] = create_ae(conn, display)
        now = utc_now()
        rows = [{"ae": resolved[name_key(change.ae)], "m": change.month,
                 "old": change.old_micros, "new": change.new_micros, "by": by, "at": now,
                 "source": source[:200]} for change in changes]
        if rows:
            conn.execute(text(
                "INSERT INTO budgets (ae_id, broadcast_month, gross_micros, updated_at, "
                "updated_by) VALUES (:ae, :m, :new, :at, :by) ON CONFLICT (ae_id, "
                "broadcast_month) DO UPDATE SET gross_micros = excluded.gross_micros, "
                "updated_at = excluded.updated_at, updated_by = excluded.updated_by"), rows)
            conn.execute(text(
                "INSERT INTO budget_changes (ae_id, broadcast_month, old_micros, new_micros, "
                "changed_by, changed_at, source) VALUES (:ae, :m, :old, :new, :by, :at, "
                ":source)"), rows)
    return BudgetLoad(changes, unchanged, created, stored=True)


def import_budget_file(db: Database | str | Path, path: Path, *, by: str, create_aes: bool = False,
                       dry_run: bool = False) -> BudgetLoad:
    if not path.is_file():
        raise BookedBizError(f"The budget file {path} does not exist.")
    return apply_budgets(db, lines_from_file(path), by=by, source=path.name,
                         create_aes=create_aes, dry_run=dry_run)


def budget_history(conn: Connection, ae_id: int | None = None,
                   month: str | None = None, limit: int = 200) -> list[dict[str, object]]:
    """Budget changes, newest first (old and new in micro-dollars)."""
    parts, params = ["1 = 1"], {"limit": int(limit)}
    if ae_id is not None:
        parts.append("c.ae_id = :ae")
        params["ae"] = int(ae_id)
    if month is not None:
        parts.append("c.broadcast_month = :m")
        params["m"] = month
    sql = ("SELECT c.change_id, a.name, c.broadcast_month, c.old_micros, c.new_micros, "
           "c.changed_by, c.changed_at, c.source FROM budget_changes c "
           f"JOIN aes a ON a.ae_id = c.ae_id WHERE {' AND '.join(parts)} "
           "ORDER BY c.change_id DESC LIMIT :limit")
    keys = ("change_id", "ae", "month", "old_micros", "new_micros", "changed_by", "changed_at",
            "source")
    return [dict(zip(keys, row, strict=True)) for row in conn.execute(text(sql), params)]

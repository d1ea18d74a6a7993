"""Sectors and revenue classes of customers (SPEC §1.2): the admin-kept list and assignments.

Every write checks everything first and changes nothing on bad input (an unknown sector or
customer, a class outside the three), then writes and audits in one transaction.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from pathlib import Path

from bookedbiz.db.connection import connect, utc_now, write_transaction
from bookedbiz.entities.audit import audit
from bookedbiz.errors import BookedBizError, ConfigError, NotFoundError
from bookedbiz.vocab import name_key

REVENUE_CLASSES = ("regular", "irregular", "political")
# The filter value that selects customers without a sector.
NO_SECTOR = "(none)"


def _clean_name(name: str) -> str:
    name = " ".join((name or "").split())
    if not name:
        raise ConfigError("Give the sector a name.")
    if len(name) > 80:
        raise ConfigError("A sector name is at most 80 characters.")
    if name == NO_SECTOR:
        raise ConfigError(f"'{NO_SECTOR}' means no sector; choose another name.")
    return name


def _sector_id(conn: sqlite3.Connection, sector: str) -> int:
    row = conn.execute("SELECT sector_id FROM sectors WHERE name_key = ?",
                       (name_key(sector),)).fetchone()
    if row is None:
        raise NotFoundError(f"There is no sector named '{sector[:80]}'; add it first.")
    return int(row[0])


def _customer_ids(conn: sqlite3.Connection, customer_ids: Iterable[int]) -> list[int]:
    wanted = sorted({int(c) for c in customer_ids})
    if not wanted:
        raise ConfigError("Choose at least one customer.")
    found = {c for (c,) in conn.execute(
        f"SELECT customer_id FROM customers WHERE customer_id IN "  # noqa: S608 - marks only
        f"({', '.join('?' for _ in wanted)})", wanted)}
    missing = [c for c in wanted if c not in found]
    if missing:
        raise NotFoundError(f"There is no customer #{missing[0]}; nothing was changed.")
    return wanted


def add_sector(db_path: Path, name: str, actor: str) -> dict[str, object]:
    name = _clean_name(name)
    conn = connect(db_path)
    try:
        with write_transaction(conn):
            if conn.execute("SELECT 1 FROM sectors WHERE name_key = ?",
                            (name_key(name),)).fetchone():
                raise BookedBizError(f"There is already a sector named '{name}'.")
            cur = conn.execute("INSERT INTO sectors (name, name_key, created_at) VALUES (?, ?, ?)",
                               (name, name_key(name), utc_now()))
            detail = {"sector_id": int(cur.lastrowid), "name": name}
            audit(conn, actor, "add_sector", f"sector:{cur.lastrowid}", detail)
    finally:
        conn.close()
    return detail


def rename_sector(db_path: Path, sector: str, new_name: str, actor: str) -> dict[str, object]:
    new_name = _clean_name(new_name)
    conn = connect(db_path)
    try:
        with write_transaction(conn):
            sector_id = _sector_id(conn, sector)
            clash = conn.execute("SELECT sector_id FROM sectors WHERE name_key = ?",
                                 (name_key(new_name),)).fetchone()
            if clash and clash[0] != sector_id:
                raise BookedBizError(f"There is already a sector named '{new_name}'.")
            conn.execute("UPDATE sectors SET name = ?, name_key = ? WHERE sector_id = ?",
                         (new_name, name_key(new_name), sector_id))
            detail = {"sector_id": sector_id, "old": sector, "new": new_name}
            audit(conn, actor, "rename_sector", f"sector:{sector_id}", detail)
    finally:
        conn.close()
    return detail


def assign_sector(db_path: Path, customer_ids: Iterable[int], sector: str | None,
                  actor: str) -> dict[str, object]:
    """Give every listed customer ``sector`` (None or NO_SECTOR clears it): bulk assignment."""
    conn = connect(db_path)
    try:
        with write_transaction(conn):
            ids = _customer_ids(conn, customer_ids)
            clear = sector is None or sector.strip() in ("", NO_SECTOR)
            sector_id = None if clear else _sector_id(conn, sector or "")
            before = dict(conn.execute(
                f"SELECT customer_id, sector_id FROM customers WHERE customer_id IN "  # noqa: S608
                f"({', '.join('?' for _ in ids)})", ids))
            conn.executemany("UPDATE customers SET sector_id = ? WHERE customer_id = ?",
                             [(sector_id, c) for c in ids])
            detail = {"sector_id": sector_id, "sector": None if clear else sector,
                      "customers": ids, "before": {str(k): v for k, v in before.items()}}
            audit(conn, actor, "assign_sector", f"sector:{sector_id}", detail)
    finally:
        conn.close()
    return detail


def set_revenue_class(db_path: Path, customer_ids: Iterable[int], revenue_class: str,
                      actor: str) -> dict[str, object]:
    """Set the revenue class (regular, irregular or political) of every listed customer."""
    revenue_class = (revenue_class or "").strip().lower()
    if revenue_class not in REVENUE_CLASSES:
        raise ConfigError("The revenue class must be regular, irregular or political, not "
                          f"'{revenue_class[:20]}'; nothing was changed.")
    conn = connect(db_path)
    try:
        with write_transaction(conn):
            ids = _customer_ids(conn, customer_ids)
            before = dict(conn.execute(
                f"SELECT customer_id, revenue_class FROM customers WHERE customer_id IN "  # noqa: S608
                f"({', '.join('?' for _ in ids)})", ids))
            conn.executemany("UPDATE customers SET revenue_class = ? WHERE customer_id = ?",
                             [(revenue_class, c) for c in ids])
            detail = {"revenue_class": revenue_class, "customers": ids,
                      "before": {str(k): v for k, v in before.items()}}
            audit(conn, actor, "set_revenue_class", f"class:{revenue_class}", detail)
    finally:
        conn.close()
    return detail

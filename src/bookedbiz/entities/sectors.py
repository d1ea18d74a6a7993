"""Sectors and revenue classes of customers (SPEC §1.2): the admin-kept list and assignments.

Every write checks everything first and changes nothing on bad input (an unknown sector or
customer, a class outside the three), then writes and audits in one transaction.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from sqlalchemy import Connection, bindparam, text

from bookedbiz.db.access import Database, writing_to
from bookedbiz.db.connection import utc_now
from bookedbiz.entities.audit import audit
from bookedbiz.errors import BookedBizError, ConfigError, NotFoundError
from bookedbiz.vocab import name_key

REVENUE_CLASSES = ("regular", "irregular", "political")
# The filter value that selects customers without a sector.
NO_SECTOR = "(none)"
# What a write takes: a SQLite path, a DATABASE_URL, or an open Database.
DatabaseTarget = Database | str | Path


def _clean_name(name: str) -> str:
    name = " ".join((name or "").split())
    if not name:
        raise ConfigError("Give the sector a name.")
    if len(name) > 80:
        raise ConfigError("A sector name is at most 80 characters.")
    if name == NO_SECTOR:
        raise ConfigError(f"'{NO_SECTOR}' means no sector; choose another name.")
    return name


def _sector_id(conn: Connection, sector: str) -> int:
    row = conn.execute(text("SELECT sector_id FROM sectors WHERE name_key = :k"),
                       {"k": name_key(sector)}).first()
    if row is None:
        raise NotFoundError(f"There is no sector named '{sector[:80]}'; add it first.")
    return int(row[0])


def _customer_ids(conn: Connection, customer_ids: Iterable[int]) -> list[int]:
    wanted = sorted({int(c) for c in customer_ids})
    if not wanted:
        raise ConfigError("Choose at least one customer.")
    found = set(conn.execute(_in_ids("SELECT customer_id FROM customers WHERE customer_id "
                                     "IN :ids"), {"ids": wanted}).scalars())
    missing = [c for c in wanted if c not in found]
    if missing:
        raise NotFoundError(f"There is no customer #{missing[0]}; nothing was changed.")
    return wanted


def _in_ids(sql: str):  # noqa: ANN202 - a TextClause with ``:ids`` expanded to a list
    return text(sql).bindparams(bindparam("ids", expanding=True))


def add_sector(db: DatabaseTarget, name: str, actor: str) -> dict[str, object]:
    name = _clean_name(name)
    with writing_to(db) as conn:
        if conn.execute(text("SELECT 1 FROM sectors WHERE name_key = :k"),
                        {"k": name_key(name)}).first():
            raise BookedBizError(f"There is already a sector named '{name}'.")
        sector_id = int(conn.execute(
            text("INSERT INTO sectors (name, name_key, created_at) VALUES (:n, :k, :at) "
                 "RETURNING sector_id"),
            {"n": name, "k": name_key(name), "at": utc_now()}).scalar_one())
        detail = {"sector_id": sector_id, "name": name}
        audit(conn, actor, "add_sector", f"sector:{sector_id}", detail)
    return detail


def rename_sector(db: DatabaseTarget, sector: str, new_name: str,
                  actor: str) -> dict[str, object]:
    new_name = _clean_name(new_name)
    with writing_to(db) as conn:
        sector_id = _sector_id(conn, sector)
        clash = conn.execute(text("SELECT sector_id FROM sectors WHERE name_key = :k"),
                             {"k": name_key(new_name)}).first()
        if clash and clash[0] != sector_id:
            raise BookedBizError(f"There is already a sector named '{new_name}'.")
        conn.execute(text("UPDATE sectors SET name = :n, name_key = :k WHERE sector_id = :id"),
                     {"n": new_name, "k": name_key(new_name), "id": sector_id})
        detail = {"sector_id": sector_id, "old": sector, "new": new_name}
        audit(conn, actor, "rename_sector", f"sector:{sector_id}", detail)
    return detail


def assign_sector(db: DatabaseTarget, customer_ids: Iterable[int], sector: str | None,
                  actor: str) -> dict[str, object]:
    """Give every listed customer ``sector`` (None or NO_SECTOR clears it): bulk assignment."""
    with writing_to(db) as conn:
        ids = _customer_ids(conn, customer_ids)
        clear = sector is None or sector.strip() in ("", NO_SECTOR)
        sector_id = None if clear else _sector_id(conn, sector or "")
        before = {int(k): v for k, v in conn.execute(_in_ids(
            "SELECT customer_id, sector_id FROM customers WHERE customer_id IN :ids"),
            {"ids": ids}).all()}
        conn.execute(text("UPDATE customers SET sector_id = :s WHERE customer_id = :id"),
                     [{"s": sector_id, "id": c} for c in ids])
        detail = {"sector_id": sector_id, "sector": None if clear else sector,
                  "customers": ids, "before": {str(k): before[k] for k in sorted(before)}}
        audit(conn, actor, "assign_sector", f"sector:{sector_id}", detail)
    return detail


def set_revenue_class(db: DatabaseTarget, customer_ids: Iterable[int], revenue_class: str,
                      actor: str) -> dict[str, object]:
    """Set the revenue class (regular, irregular or political) of every listed customer."""
    revenue_class = (revenue_class or "").strip().lower()
    if revenue_class not in REVENUE_CLASSES:
        raise ConfigError("The revenue class must be regular, irregular or political, not "
                          f"'{revenue_class[:20]}'; nothing was changed.")
    with writing_to(db) as conn:
        ids = _customer_ids(conn, customer_ids)
        before = {int(k): v for k, v in conn.execute(_in_ids(
            "SELECT customer_id, revenue_class FROM customers WHERE customer_id IN :ids"),
            {"ids": ids}).all()}
        conn.execute(text("UPDATE customers SET revenue_class = :c WHERE customer_id = :id"),
                     [{"c": revenue_class, "id": c} for c in ids])
        detail = {"revenue_class": revenue_class, "customers": ids,
                  "before": {str(k): before[k] for k in sorted(before)}}
        audit(conn, actor, "set_revenue_class", f"class:{revenue_class}", detail)
    return detail

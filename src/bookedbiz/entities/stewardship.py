"""Data stewardship: merging duplicate customers and mapping AE name variants, audited.

Both re-point existing spots and rebuild the summary of the months they touch in the same
transaction, and leave an alias behind so later imports land on the survivor.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from sqlalchemy import Connection, text

from bookedbiz.db.connection import connect, utc_now, write_transaction
from bookedbiz.db.summary import refresh_summary
from bookedbiz.errors import BookedBizError, NotFoundError
from bookedbiz.vocab import name_key


def _audit(conn: sqlite3.Connection, actor: str, action: str, subject: str,
           detail: dict[str, object]) -> None:
    conn.execute(
        "INSERT INTO audit_log (at, actor, action, subject, detail) VALUES (?, ?, ?, ?, ?)",
        (utc_now(), actor, action, subject, json.dumps(detail)),
    )


def _customer(conn: sqlite3.Connection, customer_id: int) -> tuple[str, int | None, int | None]:
    row = conn.execute(
        "SELECT name, agency_id, merged_into FROM customers WHERE customer_id = ?",
        (customer_id,),
    ).fetchone()
    if row is None:
        raise NotFoundError(f"There is no customer #{customer_id}.")
    return row


def merge_customers(db_path: Path, survivor_id: int, merged_id: int, actor: str) -> dict:
    """Fold customer ``merged_id`` into ``survivor_id``: spots, aliases, future imports."""
    if survivor_id == merged_id:
        raise BookedBizError("A customer cannot be merged into itself.")
    conn = connect(db_path)
    try:
        with write_transaction(conn):
            survivor_name, survivor_agency, survivor_merged = _customer(conn, survivor_id)
            merged_name, _agency, already = _customer(conn, merged_id)
            if survivor_merged:
                raise BookedBizError(
                    f"#{survivor_id} {survivor_name} was itself merged away; merge into "
                    f"#{survivor_merged} instead.")
            if already:
                raise BookedBizError(f"#{merged_id} {merged_name} is already merged.")
            months = [m for (m,) in conn.execute(
                "SELECT DISTINCT broadcast_month FROM spots WHERE customer_id = ?",
                (merged_id,))]
            bill_codes = [b for (b,) in conn.execute(
                "SELECT DISTINCT bill_code FROM spots WHERE customer_id = ?", (merged_id,))]
            moved = conn.execute(
                "UPDATE spots SET customer_id = ?, agency_id = ? WHERE customer_id = ?",
                (survivor_id, survivor_agency, merged_id),
            ).rowcount
            now = utc_now()
            for code in bill_codes:
                conn.execute(
                    "INSERT INTO customer_aliases (alias_key, alias_text, customer_id, "
                    "created_by, created_at, note) VALUES (?, ?, ?, ?, ?, ?) "
                    "ON CONFLICT(alias_key) DO UPDATE SET customer_id = excluded.customer_id, "
                    "is_active = 1",
                    (name_key(code), code, survivor_id, actor, now,
                     f"merged #{merged_id} {merged_name}"),
                )
            conn.execute("UPDATE customer_aliases SET customer_id = ? WHERE customer_id = ?",
                         (survivor_id, merged_id))
            conn.execute("UPDATE customers SET is_active = 0, merged_into = ? "
                         "WHERE customer_id = ?", (survivor_id, merged_id))
            refresh_summary(conn, months)
            detail = {"survivor_id": survivor_id, "survivor": survivor_name,
                      "merged_id": merged_id, "merged": merged_name, "spots_moved": moved,
                      "aliases": bill_codes, "months": months}
            _audit(conn, actor, "merge_customers", f"customer:{survivor_id}", detail)
    finally:
        conn.close()
    return detail


def add_ae_alias(db_path: Path, alias_text: str, ae_name: str, actor: str) -> dict:
    """Make ``alias_text`` (a Sales Person spelling) count as the AE named ``ae_name``."""
    alias_text = " ".join(alias_text.split())
    if not alias_text:
        raise BookedBizError("Give the sales-person text to map.")
    conn = connect(db_path)
    try:
        with write_transaction(conn):
            target = conn.execute("SELECT ae_id, name FROM aes WHERE name_key = ?",
                                  (name_key(ae_name),)).fetchone()
            if target is None:
                raise NotFoundError(f"There is no AE named '{ae_name}'.")
            key = name_key(alias_text)
            if key == name_key(target[1]):
                raise BookedBizError(f"'{alias_text}' already is {target[1]}.")
            conn.execute(
                "INSERT INTO ae_aliases (alias_key, alias_text, ae_id, created_by, created_at) "
                "VALUES (?, ?, ?, ?, ?) ON CONFLICT(alias_key) DO UPDATE SET "
                "ae_id = excluded.ae_id, created_by = excluded.created_by",
                (key, alias_text, target[0], actor, utc_now()),
            )
            variant = conn.execute("SELECT ae_id FROM aes WHERE name_key = ?", (key,)).fetchone()
            months: list[str] = []
            moved = 0
            if variant is not None:
                months = [m for (m,) in conn.execute(
                    "SELECT DISTINCT broadcast_month FROM spots WHERE ae_id = ?", (variant[0],))]
                moved = conn.execute("UPDATE spots SET ae_id = ? WHERE ae_id = ?",
                                     (target[0], variant[0])).rowcount
                conn.execute("UPDATE ae_aliases SET ae_id = ? WHERE ae_id = ?",
                             (target[0], variant[0]))
                conn.execute("UPDATE aes SET is_active = 0 WHERE ae_id = ?", (variant[0],))
                refresh_summary(conn, months)
            detail = {"alias": alias_text, "ae": target[1], "spots_moved": moved,
                      "months": months}
            _audit(conn, actor, "ae_alias", f"ae:{target[0]}", detail)
    finally:
        conn.close()
    return detail


def auto_created_customers(conn: Connection) -> list[dict[str, object]]:
    """Customers the importer created (newest first) with their booked volume, for review."""
    rows = conn.execute(text(
        "SELECT c.customer_id, c.name, a.name, c.created_at, "
        "COALESCE(SUM(ss.spots), 0), COALESCE(SUM(ss.gross_micros), 0) "
        "FROM customers c LEFT JOIN agencies a ON a.agency_id = c.agency_id "
        "LEFT JOIN spot_summary ss ON ss.customer_id = c.customer_id "
        "WHERE c.auto_created = 1 AND c.merged_into IS NULL "
        "GROUP BY c.customer_id ORDER BY c.created_at DESC, c.name")).all()
    from bookedbiz.money import micros_to_dollars

    return [
        {"customer_id": cid, "name": name, "agency": agency, "created_at": created,
         "spots": int(spots), "gross": micros_to_dollars(int(gross))}
        for cid, name, agency, created, spots, gross in rows
    ]

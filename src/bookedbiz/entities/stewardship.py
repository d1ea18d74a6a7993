"""Data stewardship writes: merging duplicate customers or agencies (and undoing a merge from its
audit entry), renaming agencies, mapping AE name variants, retiring stale customers.

A merge re-points every table that carries the id (spots, booking history, and for agencies the
legacy ``customers.agency_id``), moves the duplicate's aliases, leaves a name alias so later
imports land on the survivor, rebuilds the summary of the months it touches, and records in its
audit entry exactly which rows moved, so undoing it restores the previous state row for row.
"""

from __future__ import annotations

import base64
import json
import sqlite3
import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from bookedbiz.db.connection import connect, utc_now, write_transaction
from bookedbiz.db.summary import refresh_summary, refresh_summary_of
from bookedbiz.entities.audit import audit
from bookedbiz.errors import BookedBizError, ConfigError, NotFoundError
from bookedbiz.vocab import name_key


@dataclass(frozen=True)
class EntityKind:
    """What a merge of one kind of record touches (fixed table and column names)."""

    label: str
    table: str
    id_column: str
    alias_table: str
    repointed: tuple[str, ...]  # tables whose ``id_column`` moves to the survivor
    action: str


CUSTOMER = EntityKind("customer", "customers", "customer_id", "customer_aliases",
                      ("spots", "booking_history"), "merge_customers")
AGENCY = EntityKind("agency", "agencies", "agency_id", "agency_aliases",
                    ("spots", "booking_history", "customers"), "merge_agencies")
KINDS = {CUSTOMER.action: CUSTOMER, AGENCY.action: AGENCY}
UNDO_ACTION = "undo_merge"


def _columns(conn: sqlite3.Connection, table: str) -> set[str]:
    return {row[1] for row in conn.execute(f"PRAGMA table_info({table})")}


def pack_ids(ids: Iterable[int]) -> str:
    """Row ids as compact text for the audit entry: sorted, delta-coded, zlib, base64 (a
    merged customer's spots are scattered through the imports; their gaps compress well)."""
    ordered = sorted(ids)
    deltas = [b - a for a, b in zip([0, *ordered], ordered, strict=False)]
    return base64.b64encode(zlib.compress(json.dumps(deltas).encode(), 9)).decode()


def unpack_ids(packed: str) -> list[int]:
    ids, total = [], 0
    for delta in json.loads(zlib.decompress(base64.b64decode(packed))):
        total += delta
        ids.append(total)
    return ids


def _set_id(conn: sqlite3.Connection, table: str, column: str, rowids: list[int], new: int,
            old: int) -> int:
    """Set ``column`` to ``new`` on the rows ``rowids`` that still hold ``old`` (by rowid, the
    primary key: no scan); returns how many changed."""
    changed = 0
    for start in range(0, len(rowids), 500):
        chunk = rowids[start:start + 500]
        changed += conn.execute(
            f"UPDATE {table} SET {column} = ? WHERE {column} = ? AND rowid IN "  # noqa: S608
            f"({', '.join('?' for _ in chunk)})", (new, old, *chunk)).rowcount
    return changed


def _record(conn: sqlite3.Connection, kind: EntityKind, entity_id: int) -> dict[str, object]:
    row = conn.execute(
        f"SELECT name, is_active, merged_into FROM {kind.table} "  # noqa: S608 - fixed names
        f"WHERE {kind.id_column} = ?", (entity_id,)).fetchone()
    if row is None:
        raise NotFoundError(f"There is no {kind.label} #{entity_id}.")
    return {"name": row[0], "is_active": row[1], "merged_into": row[2]}


def merge_problem(kind: EntityKind, survivor_id: int, survivor: dict[str, object],
                  merged_id: int, merged: dict[str, object]) -> str | None:
    """Why this merge may not happen (one sentence), or None: shared by merge and preview."""
    if survivor_id == merged_id:
        return f"A {kind.label} cannot be merged into itself."
    if survivor["merged_into"]:
        return (f"#{survivor_id} {survivor['name']} was itself merged into "
                f"#{survivor['merged_into']}; merge into that {kind.label} instead.")
    if merged["merged_into"]:
        return (f"#{merged_id} {merged['name']} is already merged into "
                f"#{merged['merged_into']}.")
    return None


def merge(db_path: Path, kind: EntityKind, survivor_id: int, merged_id: int,
          actor: str) -> dict[str, object]:
    """Fold ``merged_id`` into ``survivor_id`` (see the module docstring); returns the detail
    recorded in the audit entry, whose ``audit_id`` undoes it."""
    conn = connect(db_path)
    try:
        with write_transaction(conn):
            survivor = _record(conn, kind, survivor_id)
            merged = _record(conn, kind, merged_id)
            problem = merge_problem(kind, survivor_id, survivor, merged_id, merged)
            if problem:
                raise BookedBizError(problem + " Nothing was changed.")
            # One pass over the spots (they have no index on the id: imports stay fast) gives
            # the rows to move, their months and the revenue that moves.
            months: set[str] = set()
            gross = net = 0
            found: dict[str, list[int]] = {"spots": []}
            for spot_id, month, trade, amount, station_net in conn.execute(
                    "SELECT spot_id, broadcast_month, is_trade, gross_rate_micros, "  # noqa: S608
                    f"station_net_micros FROM spots WHERE {kind.id_column} = ?", (merged_id,)):
                found["spots"].append(spot_id)
                months.add(month)
                if not trade:
                    gross += amount or 0
                    net += station_net or 0
            for table in kind.repointed[1:]:
                if kind.id_column in _columns(conn, table):
                    found[table] = [r for (r,) in conn.execute(
                        f"SELECT rowid FROM {table} WHERE {kind.id_column} = ?",  # noqa: S608
                        (merged_id,))]
            moved: dict[str, str] = {}
            for table, rowids in found.items():
                _set_id(conn, table, kind.id_column, rowids, survivor_id, merged_id)
                moved[table] = pack_ids(rowids)
            alias_ids = [a for (a,) in conn.execute(
                f"SELECT alias_id FROM {kind.alias_table} WHERE {kind.id_column} = ?",  # noqa: S608
                (merged_id,))]
            conn.execute(f"UPDATE {kind.alias_table} SET {kind.id_column} = ? "  # noqa: S608
                         f"WHERE {kind.id_column} = ?", (survivor_id, merged_id))
            name_alias = _point_name_alias(conn, kind, str(merged["name"]), survivor_id, actor,
                                           f"merged #{merged_id} {merged['name']}")
            conn.execute(f"UPDATE {kind.table} SET is_active = 0, merged_into = ? "  # noqa: S608
                         f"WHERE {kind.id_column} = ?", (survivor_id, merged_id))
            refresh_summary_of(conn, months, kind.id_column, (survivor_id, merged_id))
            detail: dict[str, object] = {
                "kind": kind.label, "survivor_id": survivor_id, "survivor": survivor["name"],
                "merged_id": merged_id, "merged": merged["name"],
                "spots_moved": len(found["spots"]), "gross_micros": int(gross),
                "net_micros": int(net), "months": sorted(months),
                "aliases_moved": alias_ids, "name_alias": name_alias, "moved": moved,
                "merged_before": [merged["is_active"], merged["merged_into"]],
            }
            detail["audit_id"] = audit(conn, actor, kind.action,
                                       f"{kind.label}:{survivor_id}", detail)
    finally:
        conn.close()
    return detail


def _point_name_alias(conn: sqlite3.Connection, kind: EntityKind, name: str, target: int,
                      actor: str, note: str) -> dict[str, object]:
    """Make the name ``name`` resolve to ``target``; returns how to put it back."""
    key = name_key(name)
    has_kind = "kind" in _columns(conn, kind.alias_table)
    row = conn.execute(
        f"SELECT alias_id, {kind.id_column}, is_active FROM {kind.alias_table} "  # noqa: S608
        "WHERE alias_key = ?", (key,)).fetchone()
    if row is not None:
        conn.execute(f"UPDATE {kind.alias_table} SET {kind.id_column} = ?, is_active = 1 "  # noqa: S608
                     "WHERE alias_id = ?", (target, row[0]))
        return {"alias_id": row[0], "created": False, "before": [row[1], row[2]]}
    columns = f"alias_key, alias_text, {kind.id_column}, created_by, created_at, note"
    values: tuple[object, ...] = (key, name, target, actor, utc_now(), note)
    if has_kind:
        columns += ", kind"
        values += ("name",)
    cur = conn.execute(f"INSERT INTO {kind.alias_table} ({columns}) "  # noqa: S608
                       f"VALUES ({', '.join('?' for _ in values)})", values)
    return {"alias_id": int(cur.lastrowid), "created": True}


def merge_customers(db_path: Path, survivor_id: int, merged_id: int, actor: str) -> dict:
    """Fold customer ``merged_id`` into ``survivor_id``: spots, history, aliases, later imports."""
    return merge(db_path, CUSTOMER, survivor_id, merged_id, actor)


def merge_agencies(db_path: Path, survivor_id: int, merged_id: int, actor: str) -> dict:
    """Fold agency ``merged_id`` into ``survivor_id`` the same way."""
    return merge(db_path, AGENCY, survivor_id, merged_id, actor)


def undo_merge(db_path: Path, audit_id: int, actor: str) -> dict[str, object]:
    """Put back what the merge recorded in audit entry ``audit_id``: the rows it moved, the
    aliases, the duplicate record; refused when it was undone already or a later merge built
    on it."""
    conn = connect(db_path)
    try:
        with write_transaction(conn):
            entry = conn.execute("SELECT action, detail FROM audit_log WHERE audit_id = ?",
                                 (audit_id,)).fetchone()
            if entry is None or entry[0] not in KINDS:
                raise NotFoundError(f"Audit entry #{audit_id} is not a merge.")
            kind = KINDS[entry[0]]
            detail = json.loads(entry[1])
            if "moved" not in detail:
                raise BookedBizError(
                    f"Audit entry #{audit_id} is a merge made by the schema upgrade to the "
                    "advertiser model, which does not record rows to put back; it cannot be "
                    "undone here.")
            if conn.execute("SELECT 1 FROM audit_log WHERE action = ? AND subject = ?",
                            (UNDO_ACTION, f"audit:{audit_id}")).fetchone():
                raise BookedBizError(f"The merge of audit entry #{audit_id} is already undone.")
            survivor_id, merged_id = int(detail["survivor_id"]), int(detail["merged_id"])
            survivor = _record(conn, kind, survivor_id)
            merged = _record(conn, kind, merged_id)
            if merged["merged_into"] != survivor_id or survivor["merged_into"]:
                raise BookedBizError(
                    f"#{merged_id} {merged['name']} is no longer merged into #{survivor_id} "
                    "alone (a later merge built on it); undo that one first. Nothing was "
                    "changed.")
            restored = recorded = 0
            for table, packed in detail["moved"].items():
                if table not in kind.repointed:
                    continue
                ids = unpack_ids(packed)
                recorded += len(ids)
                restored += _set_id(conn, table, kind.id_column, ids, merged_id, survivor_id)
            conn.executemany(
                f"UPDATE {kind.alias_table} SET {kind.id_column} = ? WHERE alias_id = ?",  # noqa: S608
                [(merged_id, a) for a in detail["aliases_moved"]])
            alias = detail["name_alias"]
            if alias["created"]:
                conn.execute(f"DELETE FROM {kind.alias_table} WHERE alias_id = ?",  # noqa: S608
                             (alias["alias_id"],))
            else:
                conn.execute(f"UPDATE {kind.alias_table} SET {kind.id_column} = ?, "  # noqa: S608
                             "is_active = ? WHERE alias_id = ?",
                             (*alias["before"], alias["alias_id"]))
            is_active, merged_into = detail["merged_before"]
            conn.execute(f"UPDATE {kind.table} SET is_active = ?, merged_into = ? "  # noqa: S608
                         f"WHERE {kind.id_column} = ?", (is_active, merged_into, merged_id))
            refresh_summary_of(conn, detail["months"], kind.id_column,
                               (survivor_id, merged_id))
            # Rows replaced since the merge (a re-imported month) are gone; their successors
            # stay with the survivor until their month is imported again, which (the alias
            # removed) resolves them to the duplicate once more.
            result = {"kind": kind.label, "survivor_id": survivor_id, "merged_id": merged_id,
                      "merged": merged["name"], "rows_restored": restored,
                      "rows_gone": recorded - restored, "merge_audit_id": audit_id}
            audit(conn, actor, UNDO_ACTION, f"audit:{audit_id}", result)
    finally:
        conn.close()
    return result


def rename_agency(db_path: Path, agency_id: int, new_name: str, actor: str) -> dict[str, object]:
    """Rename an agency; its old name stays as an alias, so later imports still find it."""
    new_name = " ".join((new_name or "").split())
    if not new_name:
        raise ConfigError("Give the agency's new name.")
    conn = connect(db_path)
    try:
        with write_transaction(conn):
            agency = _record(conn, AGENCY, agency_id)
            clash = conn.execute("SELECT agency_id FROM agencies WHERE name_key = ?",
                                 (name_key(new_name),)).fetchone()
            if clash and clash[0] != agency_id:
                raise BookedBizError(f"Agency #{clash[0]} is already named '{new_name}'; merge "
                                     "the two instead. Nothing was changed.")
            old_name = str(agency["name"])
            conn.execute("UPDATE agencies SET name = ?, name_key = ? WHERE agency_id = ?",
                         (new_name, name_key(new_name), agency_id))
            if name_key(old_name) != name_key(new_name):
                _point_name_alias(conn, AGENCY, old_name, agency_id, actor,
                                  f"renamed to {new_name}")
            detail = {"agency_id": agency_id, "old": old_name, "new": new_name}
            audit(conn, actor, "rename_agency", f"agency:{agency_id}", detail)
    finally:
        conn.close()
    return detail


def parse_months(value: object) -> int:
    """A stale-customer threshold in months (1–240) from user input, or one clear sentence."""
    text = str(value if value is not None else "").strip()
    if not text.isdigit() or not 1 <= int(text) <= 240:
        raise ConfigError(f"The stale threshold must be a whole number of months from 1 to 240, "
                          f"not '{text[:20]}'.")
    return int(text)


def set_customers_active(db_path: Path, customer_ids: Iterable[int], active: bool, reason: str,
                         actor: str, *, dry_run: bool = False) -> dict[str, object]:
    """Deactivate (or reactivate) customers, audited with the reason; ``dry_run`` reports what
    would change and writes nothing. Merged customers are left alone."""
    reason = " ".join((reason or "").split())
    if not reason:
        raise ConfigError("Give a reason; it is kept in the audit trail.")
    wanted = sorted({int(c) for c in customer_ids})
    if not wanted:
        raise ConfigError("Choose at least one customer.")
    conn = connect(db_path)
    try:
        with write_transaction(conn):
            marks = ", ".join("?" for _ in wanted)
            rows = conn.execute(
                f"SELECT customer_id, name, is_active, merged_into FROM customers "  # noqa: S608
                f"WHERE customer_id IN ({marks})", wanted).fetchall()
            found = {r[0] for r in rows}
            missing = [c for c in wanted if c not in found]
            if missing:
                raise NotFoundError(f"There is no customer #{missing[0]}; nothing was changed.")
            changing = [(cid, name) for cid, name, is_active, merged in rows
                        if merged is None and bool(is_active) != active]
            detail: dict[str, object] = {
                "active": active, "reason": reason, "dry_run": dry_run,
                "customers": [{"customer_id": c, "name": n} for c, n in changing],
            }
            if not dry_run and changing:
                conn.executemany("UPDATE customers SET is_active = ? WHERE customer_id = ?",
                                 [(int(active), c) for c, _ in changing])
                audit(conn, actor, "activate_customers" if active else "deactivate_customers",
                      f"customers:{len(changing)}", detail)
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
            audit(conn, actor, "ae_alias", f"ae:{target[0]}", detail)
    finally:
        conn.close()
    return detail

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
import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Connection, bindparam, text, update

from bookedbiz.db import schema
from bookedbiz.db.access import Database, writing_to
from bookedbiz.db.connection import utc_now
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


def _has_column(table: str, column: str) -> bool:
    return column in schema.metadata.tables[table].c


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


def _set_id(conn: Connection, table: str, column: str, row_ids: list[int], new: int,
            old: int) -> int:
    """Set ``column`` to ``new`` on the rows ``row_ids`` (primary keys; on SQLite the rowid an
    older audit entry recorded is the same number) that still hold ``old``: no scan; returns
    how many changed."""
    target = schema.metadata.tables[table]
    key = next(iter(target.primary_key.columns))
    statement = (update(target).where(target.c[column] == bindparam("old"),
                                      key.in_(bindparam("ids", expanding=True)))
                 .values({column: bindparam("new")}))
    changed = 0
    for start in range(0, len(row_ids), 500):
        chunk = row_ids[start:start + 500]
        changed += conn.execute(statement, {"old": old, "new": new, "ids": chunk}).rowcount
    return changed


def _record(conn: Connection, kind: EntityKind, entity_id: int) -> dict[str, object]:
    row = conn.execute(text(
        f"SELECT name, is_active, merged_into FROM {kind.table} "  # noqa: S608 - fixed names
        f"WHERE {kind.id_column} = :id"), {"id": entity_id}).first()
    if row is None:
        raise NotFoundError(f"There is no {kind.label} #{entity_id}.")
    return {"name": row[0], "is_active": int(bool(row[1])), "merged_into": row[2]}


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


DatabaseTarget = Database | str | Path


def merge(db: DatabaseTarget, kind: EntityKind, survivor_id: int, merged_id: int,
          actor: str) -> dict[str, object]:
    """Fold ``merged_id`` into ``survivor_id`` (see the module docstring); returns the detail
    recorded in the audit entry, whose ``audit_id`` undoes it."""
    with writing_to(db) as conn:
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
        for spot_id, month, trade, amount, station_net in conn.execute(text(
                "SELECT spot_id, broadcast_month, is_trade, gross_rate_micros, "  # noqa: S608
                f"station_net_micros FROM spots WHERE {kind.id_column} = :id"),
                {"id": merged_id}):
            found["spots"].append(int(spot_id))
            months.add(month)
            if not trade:
                gross += int(amount or 0)
                net += int(station_net or 0)
        for table in kind.repointed[1:]:
            if _has_column(table, kind.id_column):
                key = next(iter(schema.metadata.tables[table].primary_key.columns)).name
                found[table] = [int(r) for r in conn.execute(text(
                    f"SELECT {key} FROM {table} WHERE {kind.id_column} = :id"),  # noqa: S608
                    {"id": merged_id}).scalars()]
        moved: dict[str, str] = {}
        for table, row_ids in found.items():
            _set_id(conn, table, kind.id_column, row_ids, survivor_id, merged_id)
            moved[table] = pack_ids(row_ids)
        alias_ids = [int(a) for a in conn.execute(text(
            f"SELECT alias_id FROM {kind.alias_table} WHERE {kind.id_column} = :id "  # noqa: S608
            "ORDER BY alias_id"), {"id": merged_id}).scalars()]
        conn.execute(text(f"UPDATE {kind.alias_table} SET {kind.id_column} = :new "  # noqa: S608
                          f"WHERE {kind.id_column} = :old"),
                     {"new": survivor_id, "old": merged_id})
        name_alias = _point_name_alias(conn, kind, str(merged["name"]), survivor_id, actor,
                                       f"merged #{merged_id} {merged['name']}")
        conn.execute(text(f"UPDATE {kind.table} SET is_active = :no, merged_into = :new "  # noqa: S608
                          f"WHERE {kind.id_column} = :old"),
                     {"no": False, "new": survivor_id, "old": merged_id})
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
    return detail


def _point_name_alias(conn: Connection, kind: EntityKind, name: str, target: int,
                      actor: str, note: str) -> dict[str, object]:
    """Make the name ``name`` resolve to ``target``; returns how to put it back."""
    key = name_key(name)
    row = conn.execute(text(
        f"SELECT alias_id, {kind.id_column}, is_active FROM {kind.alias_table} "  # noqa: S608
        "WHERE alias_key = :key"), {"key": key}).first()
    if row is not None:
        conn.execute(text(f"UPDATE {kind.alias_table} SET {kind.id_column} = :target, "  # noqa: S608
                          "is_active = :yes WHERE alias_id = :id"),
                     {"target": target, "yes": True, "id": row[0]})
        return {"alias_id": int(row[0]), "created": False,
                "before": [int(row[1]), int(bool(row[2]))]}
    columns = f"alias_key, alias_text, {kind.id_column}, created_by, created_at, note"
    values: dict[str, object] = {"alias_key": key, "alias_text": name, "target": target,
                                 "created_by": actor, "created_at": utc_now(), "note": note}
    if _has_column(kind.alias_table, "kind"):
        columns += ", kind"
        values["kind"] = "name"
    marks = ", ".join(f":{name}" for name in values)
    alias_id = conn.execute(text(f"INSERT INTO {kind.alias_table} ({columns}) "  # noqa: S608
                                 f"VALUES ({marks}) RETURNING alias_id"), values).scalar_one()
    return {"alias_id": int(alias_id), "created": True}


def merge_customers(db: DatabaseTarget, survivor_id: int, merged_id: int, actor: str) -> dict:
    """Fold customer ``merged_id`` into ``survivor_id``: spots, history, aliases, later imports."""
    return merge(db, CUSTOMER, survivor_id, merged_id, actor)


def merge_agencies(db: DatabaseTarget, survivor_id: int, merged_id: int, actor: str) -> dict:
    """Fold agency ``merged_id`` into ``survivor_id`` the same way."""
    return merge(db, AGENCY, survivor_id, merged_id, actor)


def undo_merge(db: DatabaseTarget, audit_id: int, actor: str) -> dict[str, object]:
    """Put back what the merge recorded in audit entry ``audit_id``: the rows it moved, the
    aliases, the duplicate record; refused when it was undone already or a later merge built
    on it."""
    with writing_to(db) as conn:
        entry = conn.execute(text("SELECT action, detail FROM audit_log WHERE audit_id = :id"),
                             {"id": audit_id}).first()
        if entry is None or entry[0] not in KINDS:
            raise NotFoundError(f"Audit entry #{audit_id} is not a merge.")
        kind = KINDS[entry[0]]
        detail = json.loads(entry[1])
        if "moved" not in detail:
            raise BookedBizError(
                f"Audit entry #{audit_id} is a merge made by the schema upgrade to the "
                "advertiser model, which does not record rows to put back; it cannot be "
                "undone here.")
        if conn.execute(text("SELECT 1 FROM audit_log WHERE action = :a AND subject = :s"),
                        {"a": UNDO_ACTION, "s": f"audit:{audit_id}"}).first():
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
        if detail["aliases_moved"]:
            conn.execute(text(f"UPDATE {kind.alias_table} SET {kind.id_column} = :old "  # noqa: S608
                              "WHERE alias_id = :id"),
                         [{"old": merged_id, "id": int(a)} for a in detail["aliases_moved"]])
        alias = detail["name_alias"]
        if alias["created"]:
            conn.execute(text(f"DELETE FROM {kind.alias_table} WHERE alias_id = :id"),  # noqa: S608
                         {"id": alias["alias_id"]})
        else:
            owner, was_active = alias["before"]
            conn.execute(text(f"UPDATE {kind.alias_table} SET {kind.id_column} = :owner, "  # noqa: S608
                              "is_active = :active WHERE alias_id = :id"),
                         {"owner": owner, "active": bool(was_active), "id": alias["alias_id"]})
        is_active, merged_into = detail["merged_before"]
        conn.execute(text(f"UPDATE {kind.table} SET is_active = :active, "  # noqa: S608
                          f"merged_into = :into WHERE {kind.id_column} = :id"),
                     {"active": bool(is_active), "into": merged_into, "id": merged_id})
        refresh_summary_of(conn, detail["months"], kind.id_column, (survivor_id, merged_id))
        # Rows replaced since the merge (a re-imported month) are gone; their successors
        # stay with the survivor until their month is imported again, which (the alias
        # removed) resolves them to the duplicate once more.
        result = {"kind": kind.label, "survivor_id": survivor_id, "merged_id": merged_id,
                  "merged": merged["name"], "rows_restored": restored,
                  "rows_gone": recorded - restored, "merge_audit_id": audit_id}
        audit(conn, actor, UNDO_ACTION, f"audit:{audit_id}", result)
    return result


def rename_agency(db: DatabaseTarget, agency_id: int, new_name: str,
                  actor: str) -> dict[str, object]:
    """Rename an agency; its old name stays as an alias, so later imports still find it."""
    new_name = " ".join((new_name or "").split())
    if not new_name:
        raise ConfigError("Give the agency's new name.")
    with writing_to(db) as conn:
        agency = _record(conn, AGENCY, agency_id)
        clash = conn.execute(text("SELECT agency_id FROM agencies WHERE name_key = :k"),
                             {"k": name_key(new_name)}).first()
        if clash and clash[0] != agency_id:
            raise BookedBizError(f"Agency #{clash[0]} is already named '{new_name}'; merge "
                                 "the two instead. Nothing was changed.")
        old_name = str(agency["name"])
        conn.execute(text("UPDATE agencies SET name = :n, name_key = :k WHERE agency_id = :id"),
                     {"n": new_name, "k": name_key(new_name), "id": agency_id})
        if name_key(old_name) != name_key(new_name):
            _point_name_alias(conn, AGENCY, old_name, agency_id, actor,
                              f"renamed to {new_name}")
        detail = {"agency_id": agency_id, "old": old_name, "new": new_name}
        audit(conn, actor, "rename_agency", f"agency:{agency_id}", detail)
    return detail


def parse_months(value: object) -> int:
    """A stale-customer threshold in months (1–240) from user input, or one clear sentence."""
    text_value = str(value if value is not None else "").strip()
    if not text_value.isdigit() or not 1 <= int(text_value) <= 240:
        raise ConfigError(f"The stale threshold must be a whole number of months from 1 to 240, "
                          f"not '{text_value[:20]}'.")
    return int(text_value)


def set_customers_active(db: DatabaseTarget, customer_ids: Iterable[int], active: bool,
                         reason: str, actor: str, *, dry_run: bool = False) -> dict[str, object]:
    """Deactivate (or reactivate) customers, audited with the reason; ``dry_run`` reports what
    would change and writes nothing. Merged customers are left alone."""
    reason = " ".join((reason or "").split())
    if not reason:
        raise ConfigError("Give a reason; it is kept in the audit trail.")
    wanted = sorted({int(c) for c in customer_ids})
    if not wanted:
        raise ConfigError("Choose at least one customer.")
    with writing_to(db) as conn:
        rows = conn.execute(text(
            "SELECT customer_id, name, is_active, merged_into FROM customers "
            "WHERE customer_id IN :ids ORDER BY customer_id").bindparams(
                bindparam("ids", expanding=True)), {"ids": wanted}).all()
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
            conn.execute(text("UPDATE customers SET is_active = :a WHERE customer_id = :id"),
                         [{"a": bool(active), "id": c} for c, _ in changing])
            audit(conn, actor, "activate_customers" if active else "deactivate_customers",
                  f"customers:{len(changing)}", detail)
    return detail


def add_ae_alias(db: DatabaseTarget, alias_text: str, ae_name: str, actor: str) -> dict:
    """Make ``alias_text`` (a Sales Person spelling) count as the AE named ``ae_name``."""
    alias_text = " ".join(alias_text.split())
    if not alias_text:
        raise BookedBizError("Give the sales-person text to map.")
    with writing_to(db) as conn:
        target = conn.execute(text("SELECT ae_id, name FROM aes WHERE name_key = :k"),
                              {"k": name_key(ae_name)}).first()
        if target is None:
            raise NotFoundError(f"There is no AE named '{ae_name}'.")
        key = name_key(alias_text)
        if key == name_key(target[1]):
            raise BookedBizError(f"'{alias_text}' already is {target[1]}.")
        conn.execute(
            text("INSERT INTO ae_aliases (alias_key, alias_text, ae_id, created_by, created_at) "
                 "VALUES (:k, :t, :ae, :by, :at) ON CONFLICT (alias_key) DO UPDATE SET "
                 "ae_id = excluded.ae_id, created_by = excluded.created_by"),
            {"k": key, "t": alias_text, "ae": target[0], "by": actor, "at": utc_now()},
        )
        variant = conn.execute(text("SELECT ae_id FROM aes WHERE name_key = :k"),
                               {"k": key}).first()
        months: list[str] = []
        moved = 0
        if variant is not None:
            months = sorted(conn.execute(text(
                "SELECT DISTINCT broadcast_month FROM spots WHERE ae_id = :ae"),
                {"ae": variant[0]}).scalars())
            moved = conn.execute(text("UPDATE spots SET ae_id = :new WHERE ae_id = :old"),
                                 {"new": target[0], "old": variant[0]}).rowcount
            conn.execute(text("UPDATE ae_aliases SET ae_id = :new WHERE ae_id = :old"),
                         {"new": target[0], "old": variant[0]})
            conn.execute(text("UPDATE aes SET is_active = :no WHERE ae_id = :id"),
                         {"no": False, "id": variant[0]})
            refresh_summary(conn, months)
        detail = {"alias": alias_text, "ae": target[1], "spots_moved": moved,
                  "months": months}
        audit(conn, actor, "ae_alias", f"ae:{target[0]}", detail)
    return detail

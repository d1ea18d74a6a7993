"""What the data-stewardship pages show: auto-created customers by revenue with their likely
duplicates, merge previews, agencies, merge history, stale customers, sectors and classes, and
the spots whose language needs review. Plain data; the web page and the CLI lay it out.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date
from typing import Any

from sqlalchemy import Connection, text

from bookedbiz.broadcast_calendar import shift_month
from bookedbiz.entities.duplicates import likely_duplicates
from bookedbiz.entities.stewardship import AGENCY, CUSTOMER, KINDS, UNDO_ACTION, merge_problem
from bookedbiz.errors import NotFoundError
from bookedbiz.money import dollars
from bookedbiz.reports.filters import ReportFilters


def _active_names(conn: Connection, table: str, id_column: str) -> dict[int, str]:
    assert (table, id_column) in (("customers", "customer_id"), ("agencies", "agency_id"))
    return dict(conn.execute(text(
        f"SELECT {id_column}, name FROM {table} WHERE merged_into IS NULL")).all())  # noqa: S608


def auto_created_customers(conn: Connection, limit: int = 200) -> list[dict[str, Any]]:
    """Customers the importer created, largest revenue first, each with up to three likely
    duplicates among the other customers (fuzzy match of normalized names)."""
    rows = conn.execute(text(
        "SELECT c.customer_id, c.name, c.created_at, COALESCE(SUM(ss.spots), 0), "
        "COALESCE(SUM(ss.gross_micros), 0), MAX(ss.broadcast_month) "
        "FROM customers c LEFT JOIN spot_summary ss ON ss.customer_id = c.customer_id "
        "WHERE c.auto_created AND c.merged_into IS NULL "
        "GROUP BY c.customer_id ORDER BY 5 DESC, c.name LIMIT :n"), {"n": limit}).all()
    names = _active_names(conn, "customers", "customer_id")
    matches = likely_duplicates(names, [r[0] for r in rows])
    return [
        {"customer_id": cid, "name": name, "created_at": created, "spots": int(spots),
         "gross": dollars(gross), "last_month": last,
         "duplicates": [{"customer_id": other, "name": names[other], "score": score}
                        for other, score in matches.get(cid, [])]}
        for cid, name, created, spots, gross, last in rows
    ]


def search_entities(conn: Connection, kind: str, query: str, limit: int = 25
                    ) -> list[dict[str, Any]]:
    """Customers or agencies whose name contains ``query``, with their booked volume, for the
    merge pickers (merged records are listed too, marked)."""
    entity = AGENCY if kind == "agency" else CUSTOMER
    needle = " ".join((query or "").split()).casefold()
    if not needle:
        return []
    rows = conn.execute(text(
        f"SELECT e.{entity.id_column}, e.name, e.merged_into, e.is_active, "  # noqa: S608
        "COALESCE(SUM(ss.spots), 0), COALESCE(SUM(ss.gross_micros), 0) "
        f"FROM {entity.table} e LEFT JOIN spot_summary ss ON ss.{entity.id_column} = "
        f"e.{entity.id_column} WHERE e.name_key LIKE :q ESCAPE '\\' "
        f"GROUP BY e.{entity.id_column} ORDER BY 6 DESC, e.name LIMIT :n"),
        {"q": "%" + needle.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%",
         "n": limit}).all()
    return [{"id": r[0], "name": r[1], "merged_into": r[2], "is_active": bool(r[3]),
             "spots": int(r[4]), "gross": dollars(r[5])} for r in rows]


def merge_preview(conn: Connection, kind: str, survivor_id: int, merged_id: int
                  ) -> dict[str, Any]:
    """What merging ``merged_id`` into ``survivor_id`` would move: spots, revenue, months,
    aliases and the agencies or customers involved; ``problem`` says why it may not happen."""
    entity = AGENCY if kind == "agency" else CUSTOMER
    records = {}
    for entity_id in (survivor_id, merged_id):
        row = conn.execute(text(
            f"SELECT name, is_active, merged_into FROM {entity.table} "  # noqa: S608
            f"WHERE {entity.id_column} = :i"), {"i": entity_id}).first()
        if row is None:
            raise NotFoundError(f"There is no {entity.label} #{entity_id}.")
        records[entity_id] = {"name": row[0], "is_active": row[1], "merged_into": row[2]}
    # One pass over the spots (no index on the id there): revenue rows, Trade rows, months.
    spots, trade, gross, net, first, last = conn.execute(text(
        "SELECT COALESCE(SUM(CASE WHEN is_trade THEN 0 ELSE 1 END), 0), "
        "COALESCE(SUM(CASE WHEN is_trade THEN 1 ELSE 0 END), 0), "
        "COALESCE(SUM(CASE WHEN NOT is_trade THEN gross_rate_micros END), 0), "
        "COALESCE(SUM(CASE WHEN NOT is_trade THEN station_net_micros END), 0), "
        "MIN(broadcast_month), MAX(broadcast_month) "
        f"FROM spots WHERE {entity.id_column} = :i"),  # noqa: S608
        {"i": merged_id}).one()
    aliases = conn.execute(text(
        f"SELECT alias_text FROM {entity.alias_table} WHERE {entity.id_column} = :i "  # noqa: S608
        "ORDER BY alias_text"), {"i": merged_id}).scalars().all()
    other = "agencies" if entity is CUSTOMER else "customers"
    other_id = "agency_id" if entity is CUSTOMER else "customer_id"
    through = conn.execute(text(
        f"SELECT COALESCE(o.name, '(direct)') FROM (SELECT DISTINCT {other_id} AS oid "  # noqa: S608
        f"FROM spot_summary WHERE {entity.id_column} = :i) d "
        f"LEFT JOIN {other} o ON o.{other_id} = d.oid ORDER BY 1"),
        {"i": merged_id}).scalars().all()
    return {
        "kind": entity.label,
        "survivor": {"id": survivor_id, **records[survivor_id]},
        "merged": {"id": merged_id, **records[merged_id]},
        "problem": merge_problem(entity, survivor_id, records[survivor_id], merged_id,
                                 records[merged_id]),
        "spots": int(spots), "trade_spots": int(trade or 0), "gross": dollars(gross),
        "net": dollars(net), "first_month": first, "last_month": last,
        "aliases": list(aliases), "name_alias": records[merged_id]["name"],
        "related": list(through),
    }


def merge_history(conn: Connection, limit: int = 50) -> list[dict[str, Any]]:
    """The latest merges, newest first, each saying whether it was undone."""
    undone = {int(s.split(":", 1)[1]) for s in conn.execute(text(
        "SELECT subject FROM audit_log WHERE action = :a"), {"a": UNDO_ACTION}).scalars()}
    actions = list(KINDS)
    marks = ", ".join(f":a{n}" for n in range(len(actions)))
    rows = conn.execute(text(
        f"SELECT audit_id, at, actor, action, detail FROM audit_log "  # noqa: S608
        f"WHERE action IN ({marks}) ORDER BY audit_id DESC LIMIT :n"),
        {**{f"a{n}": a for n, a in enumerate(actions)}, "n": limit}).all()
    out = []
    for audit_id, at, actor, action, detail_text in rows:
        detail = json.loads(detail_text or "{}")
        out.append({"audit_id": audit_id, "at": at, "actor": actor,
                    "kind": KINDS[action].label, "survivor": detail.get("survivor"),
                    "survivor_id": detail.get("survivor_id"), "merged": detail.get("merged"),
                    "merged_id": detail.get("merged_id"),
                    "spots_moved": detail.get("spots_moved", 0),
                    "gross": dollars(detail.get("gross_micros", 0)),
                    "undone": audit_id in undone,
                    "undoable": "moved" in detail and audit_id not in undone})
    return out


def agencies(conn: Connection) -> list[dict[str, Any]]:
    """Every agency not merged away: booked volume, customers, aliases, likely duplicates."""
    rows = conn.execute(text(
        "SELECT a.agency_id, a.name, a.auto_created, a.is_active, "
        "COALESCE(SUM(ss.spots), 0), COALESCE(SUM(ss.gross_micros), 0), "
        "COUNT(DISTINCT ss.customer_id), MAX(ss.broadcast_month) "
        "FROM agencies a LEFT JOIN spot_summary ss ON ss.agency_id = a.agency_id "
        "WHERE a.merged_into IS NULL GROUP BY a.agency_id ORDER BY 6 DESC, a.name")).all()
    alias_texts: dict[int, list[str]] = {}
    for agency_id, alias in conn.execute(text(
            "SELECT agency_id, alias_text FROM agency_aliases WHERE is_active "
            "ORDER BY alias_text")).all():
        alias_texts.setdefault(agency_id, []).append(alias)
    names = {r[0]: r[1] for r in rows}
    matches = likely_duplicates(names, list(names))
    return [
        {"agency_id": aid, "name": name, "auto_created": bool(auto), "is_active": bool(active),
         "spots": int(spots), "gross": dollars(gross), "customers": int(customers),
         "last_month": last, "aliases": alias_texts.get(aid, []),
         "duplicates": [{"agency_id": o, "name": names[o], "score": s}
                        for o, s in matches.get(aid, [])]}
        for aid, name, auto, active, spots, gross, customers, last in rows
    ]


def stale_customers(conn: Connection, months: int, today: date | None = None,
                    include_inactive: bool = False) -> dict[str, Any]:
    """Customers with no spots in the last ``months`` months (by broadcast month), and those
    with none at all; the revenue at risk is their lifetime gross."""
    today = today or date.today()
    current = f"{today.year:04d}-{today.month:02d}"
    cutoff = shift_month(current, -months)
    rows = conn.execute(text(
        "SELECT c.customer_id, c.name, c.is_active, c.auto_created, c.created_at, "
        "MAX(ss.broadcast_month), COALESCE(SUM(ss.spots), 0), "
        "COALESCE(SUM(ss.gross_micros), 0) "
        "FROM customers c LEFT JOIN spot_summary ss ON ss.customer_id = c.customer_id "
        "WHERE c.merged_into IS NULL AND (:all OR c.is_active) "
        "GROUP BY c.customer_id HAVING MAX(ss.broadcast_month) IS NULL "
        "OR MAX(ss.broadcast_month) <= :cutoff ORDER BY 6 DESC NULLS LAST, c.name"),
        {"cutoff": cutoff, "all": bool(include_inactive)}).all()
    out = [{"customer_id": cid, "name": name, "is_active": bool(active),
            "auto_created": bool(auto), "created_at": created, "last_month": last,
            "spots": int(spots), "gross": dollars(gross), "gross_micros": int(gross)}
           for cid, name, active, auto, created, last, spots, gross in rows]
    return {"months": months, "cutoff": cutoff, "customers": out,
            "no_spots": sum(1 for r in out if r["last_month"] is None),
            "revenue_at_risk": dollars(sum(r["gross_micros"] for r in out if r["is_active"]))}


def sectors(conn: Connection, year: int | None = None) -> list[dict[str, Any]]:
    """Every sector with its customers and (for ``year`` when set) booked gross."""
    where, params = ReportFilters(year=year).where("ss")
    rows = conn.execute(text(
        "SELECT s.sector_id, s.name, s.is_active, "
        "(SELECT COUNT(*) FROM customers c WHERE c.sector_id = s.sector_id "
        " AND c.merged_into IS NULL), "
        "(SELECT COALESCE(SUM(ss.gross_micros), 0) FROM spot_summary ss "  # noqa: S608
        f" JOIN customers c ON c.customer_id = ss.customer_id WHERE c.sector_id = s.sector_id "
        f" AND {where}) FROM sectors s ORDER BY s.name"), params).all()
    return [{"sector_id": r[0], "name": r[1], "is_active": bool(r[2]), "customers": int(r[3]),
             "gross": dollars(r[4])} for r in rows]


def sector_names(conn: Connection) -> list[str]:
    """The sectors a report can be filtered by (active ones, by name)."""
    return list(conn.execute(text(
        "SELECT name FROM sectors WHERE is_active ORDER BY name")).scalars().all())


def classification(conn: Connection, search: str | None = None, sector: str | None = None,
                   limit: int = 500) -> list[dict[str, Any]]:
    """Customers with their sector, revenue class and lifetime gross, largest first: the
    bulk sector and class assignment list."""
    needle = " ".join((search or "").split()).casefold()
    params: dict[str, object] = {"n": limit, "q": f"%{needle}%"}
    where = "c.merged_into IS NULL AND c.name_key LIKE :q"
    if sector == "(none)":
        where += " AND c.sector_id IS NULL"
    elif sector:
        where += " AND s.name = :sector"
        params["sector"] = sector
    rows = conn.execute(text(
        "SELECT c.customer_id, c.name, s.name, c.revenue_class, c.is_active, "  # noqa: S608
        "(SELECT COALESCE(SUM(ss.gross_micros), 0) FROM spot_summary ss "
        " WHERE ss.customer_id = c.customer_id) AS g "
        "FROM customers c LEFT JOIN sectors s ON s.sector_id = c.sector_id "
        f"WHERE {where} ORDER BY g DESC, c.name LIMIT :n"), params).all()
    return [{"customer_id": r[0], "name": r[1], "sector": r[2], "revenue_class": r[3],
             "is_active": bool(r[4]), "gross": dollars(r[5])} for r in rows]


def language_review(conn: Connection, filters: ReportFilters, limit: int = 100,
                    offset: int = 0) -> dict[str, Any]:
    """Spots whose language needs review (newest air date first, paged), with their total
    count: the list to fix in the traffic system or in the language rules. Trade is left out,
    as from every language report."""
    where, params = replace(filters, basis="broadcast").where("s")
    joins = ("FROM spots s JOIN language_assignments la ON la.spot_id = s.spot_id "
             "JOIN customers c ON c.customer_id = s.customer_id JOIN aes a ON a.ae_id = s.ae_id ")
    condition = f"WHERE la.requires_review AND NOT s.is_trade AND {where}"
    total = conn.execute(text(f"SELECT COUNT(*) {joins}{condition}"), params).scalar() or 0
    rows = conn.execute(text(
        "SELECT s.spot_id, s.air_date, s.broadcast_month, s.bill_code, c.name, s.language_code,"
        " la.status, s.revenue_type, s.spot_type, s.market_code, a.name, s.gross_rate_micros "
        f"{joins}{condition} ORDER BY s.air_date DESC, s.spot_id LIMIT :n OFFSET :o"),
        {**params, "n": limit, "o": offset}).all()
    keys = ("spot_id", "air_date", "month", "bill_code", "customer", "language_code", "status",
            "revenue_type", "spot_type", "market", "ae")
    out = []
    for row in rows:
        item = dict(zip(keys, row[:-1], strict=True))
        item["gross"] = dollars(row[-1])
        out.append(item)
    return {"total": int(total), "rows": out, "limit": limit, "offset": offset}

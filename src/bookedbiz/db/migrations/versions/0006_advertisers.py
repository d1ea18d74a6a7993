"""Customers are advertisers: customer and agency as separate identities (SPEC §1.2).

Before this revision a customer was agency-qualified (``Agency A:Acme``), so one advertiser
bought through two agencies and direct was three customers. This revision:

- merges the customers whose advertiser (last bill-code segment, compared case-insensitively
  with spaces collapsed) is the same; the survivor is the one with the most gross revenue (the
  lowest id on a tie), takes the advertiser's name, and each merge is an audit entry (action
  ``merge_customers``) like a manual merge; existing aliases and earlier merges are kept
  (aliases re-pointed, ``merged_into`` chains left as they are, and an earlier merge's
  advertiser name becomes an alias so new agencies of that advertiser land on its survivor);
- sets every spot's agency from its bill code (all segments before the advertiser), creating
  the agencies that did not exist (``A1:A2``), and stops using ``customers.agency_id`` (NULL);
- adds ``agencies.merged_into``, the ``agency_aliases`` table and ``customer_aliases.kind``;
- rebuilds ``spot_summary`` and proves revenue unchanged: totals by month, AE, market and
  revenue type (gross, net, spots) before and after, from the spots and from the summary. Any
  difference raises, and the whole upgrade rolls back (``init`` took a snapshot first). The
  report is kept as an audit entry (action ``migration_report``, subject ``revision:0006``).

On an empty (fresh) database every step is a no-op.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import json
import logging
import sqlite3
from datetime import UTC, datetime

from alembic import op

from bookedbiz.db.summary import refresh_summary
from bookedbiz.errors import VerificationError
from bookedbiz.vocab import name_key, parse_bill_code

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

ACTOR = "migration 0006"
_log = logging.getLogger("alembic.runtime.migration")

# (dimension, spots column, summary column) of the totals that must not change
_DIMENSIONS = (
    ("month", "broadcast_month", "broadcast_month"),
    ("ae", "ae_id", "ae_id"),
    ("market", "market_code", "market_code"),
    ("revenue_type", "revenue_type", "revenue_type"),
)


def upgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return  # PostgreSQL: revision 0001 built the current schema and there is no old data
    conn: sqlite3.Connection = op.get_bind().connection.driver_connection
    _add_schema(conn)
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    before = _totals(conn)
    merges = _merge_by_advertiser(conn, now)
    aliases = _alias_earlier_merges(conn, now, {int(m["merged_id"]) for m in merges})
    agencies_created, spots_new_agency = _agencies_from_bill_codes(conn, now)
    conn.execute("UPDATE customers SET agency_id = NULL WHERE agency_id IS NOT NULL")
    months = [m for (m,) in conn.execute(
        "SELECT broadcast_month FROM spots UNION SELECT broadcast_month FROM spot_summary")]
    refresh_summary(conn, months)
    after = _totals(conn)
    problems = _differences(before, after)
    report = {
        "revision": revision,
        "verified": not problems,
        "problems": problems,
        "customers_merged": len(merges),
        "spots_moved_to_survivors": sum(m["spots_moved"] for m in merges),
        "advertiser_aliases_added": aliases,
        "agencies_created": agencies_created,
        "spots_with_new_agency": spots_new_agency,
        "before": before,
        "after": after,
    }
    if problems:
        raise VerificationError(
            "Revision 0006 could not prove revenue unchanged (" + "; ".join(problems[:3])
            + "); nothing was changed: the database and its pre-migration snapshot are as they "
            "were."
        )
    _audit(conn, now, "migration_report", "revision:0006", report)
    _log.info("0006: %d customers merged into their advertiser, %d agencies created, totals "
              "by month, AE, market and revenue type unchanged", len(merges),
              len(agencies_created))


def downgrade() -> None:
    raise NotImplementedError("Revision 0006 is not reversible; restore the pre-migration "
                              "snapshot instead.")


# -- schema -------------------------------------------------------------------------------

def _columns(conn: sqlite3.Connection, table: str) -> set[str]:
    return {row[1] for row in conn.execute(f"PRAGMA table_info({table})")}


def _add_schema(conn: sqlite3.Connection) -> None:
    """The new columns and table; present already on a database built from schema.py."""
    if "merged_into" not in _columns(conn, "agencies"):
        conn.execute("ALTER TABLE agencies ADD COLUMN merged_into INTEGER "
                     "REFERENCES agencies (agency_id)")
    if "kind" not in _columns(conn, "customer_aliases"):
        conn.execute("ALTER TABLE customer_aliases ADD COLUMN kind VARCHAR(16) "
                     "DEFAULT 'bill_code' NOT NULL CHECK (kind IN ('bill_code', 'name'))")
    conn.execute(
        "CREATE TABLE IF NOT EXISTS agency_aliases (alias_id INTEGER NOT NULL PRIMARY KEY, "
        "alias_key TEXT NOT NULL UNIQUE, alias_text TEXT NOT NULL, "
        "kind VARCHAR(16) DEFAULT 'bill_code' NOT NULL, "
        "agency_id INTEGER NOT NULL REFERENCES agencies (agency_id), "
        "is_active BOOLEAN DEFAULT '1' NOT NULL, created_by TEXT NOT NULL, "
        "created_at TEXT NOT NULL, note TEXT, "
        "CONSTRAINT agency_alias_kind CHECK (kind IN ('bill_code', 'name')))"
    )


# -- the proof ------------------------------------------------------------------------------

def _totals(conn: sqlite3.Connection) -> dict[str, object]:
    """Non-Trade gross, net micro-dollars and spots by each dimension, from the spots and from
    the summary the reports read; plus the count of every spot (Trade included)."""
    out: dict[str, object] = {
        "all_spots": conn.execute("SELECT COUNT(*) FROM spots").fetchone()[0]}
    for source, table, trade in (("spots", "spots", " WHERE is_trade = 0"),
                                 ("summary", "spot_summary", "")):
        sums = ("COALESCE(SUM(gross_rate_micros), 0), COALESCE(SUM(station_net_micros), 0), "
                "COUNT(*)") if source == "spots" else (
                "SUM(gross_micros), SUM(net_micros), SUM(spots)")
        for dimension, spots_column, summary_column in _DIMENSIONS:
            column = spots_column if source == "spots" else summary_column
            out[f"{source}_by_{dimension}"] = {
                str(key): [int(g or 0), int(n or 0), int(c or 0)]
                for key, g, n, c in conn.execute(
                    f"SELECT {column}, {sums} FROM {table}{trade} GROUP BY {column}")
            }
    return out


def _differences(before: dict[str, object], after: dict[str, object]) -> list[str]:
    """What differs: spots before/after, summary before/after, and summary vs spots after."""
    problems = []
    if before["all_spots"] != after["all_spots"]:
        problems.append(f"spots {before['all_spots']} before, {after['all_spots']} after")
    for dimension, _, _ in _DIMENSIONS:
        pairs = (
            ("spots", before[f"spots_by_{dimension}"], after[f"spots_by_{dimension}"]),
            ("summary", before[f"summary_by_{dimension}"], after[f"summary_by_{dimension}"]),
            ("summary against spots", after[f"summary_by_{dimension}"],
             after[f"spots_by_{dimension}"]),
        )
        for what, old, new in pairs:
            if old != new:
                keys = sorted(k for k in set(old) | set(new) if old.get(k) != new.get(k))
                problems.append(f"{what} by {dimension} differ for {', '.join(keys[:5])}")
    return problems


# -- customers --------------------------------------------------------------------------------

def _flat_case(name: str) -> bool:
    return name.isupper() or name.islower()


def _merge_by_advertiser(conn: sqlite3.Connection, now: str) -> list[dict[str, object]]:
    """Fold every group of active customers with the same advertiser into its survivor."""
    revenue = dict(conn.execute(
        "SELECT customer_id, COALESCE(SUM(gross_rate_micros), 0) FROM spots "
        "WHERE is_trade = 0 GROUP BY customer_id"))
    groups: dict[str, list[tuple[int, str, str]]] = {}
    for customer_id, name in conn.execute(
        "SELECT customer_id, name FROM customers WHERE merged_into IS NULL ORDER BY customer_id"
    ):
        advertiser = parse_bill_code(name).customer
        groups.setdefault(name_key(advertiser), []).append((customer_id, name, advertiser))
    conn.execute("CREATE TEMP TABLE customer_moves (old_id INTEGER PRIMARY KEY, "
                 "new_id INTEGER NOT NULL)")
    merges: list[dict[str, object]] = []
    for key, members in groups.items():
        members.sort(key=lambda m: (-revenue.get(m[0], 0), m[0]))
        survivor_id, survivor_old_name, spelling = members[0]
        if _flat_case(spelling):
            spelling = next((m[2] for m in members if not _flat_case(m[2])), spelling)
        # the advertiser's key may be held by a member (a direct customer) or an earlier
        # merged customer: they keep their name under a key of their own
        conn.execute("UPDATE customers SET name_key = name_key || ' [#' || customer_id || ']' "
                     "WHERE name_key = ? AND customer_id != ?", (key, survivor_id))
        conn.execute("UPDATE customers SET name = ?, name_key = ? WHERE customer_id = ?",
                     (spelling, key, survivor_id))
        for merged_id, merged_name, _ in members[1:]:
            conn.execute("INSERT INTO customer_moves VALUES (?, ?)", (merged_id, survivor_id))
            conn.execute("UPDATE customers SET is_active = 0, merged_into = ? "
                         "WHERE customer_id = ?", (survivor_id, merged_id))
            merges.append({"survivor_id": survivor_id, "survivor": spelling,
                           "survivor_was": survivor_old_name, "merged_id": merged_id,
                           "merged": merged_name})
    if not merges:
        conn.execute("DROP TABLE temp.customer_moves")
        return merges
    moved: dict[int, list] = {}  # merged id → [spots, months, bill codes], in one scan
    for old_id, month, bill_code, count in conn.execute(
        "SELECT customer_id, broadcast_month, bill_code, COUNT(*) FROM spots "
        "WHERE customer_id IN (SELECT old_id FROM temp.customer_moves) GROUP BY 1, 2, 3"
    ):
        entry = moved.setdefault(old_id, [0, set(), set()])
        entry[0] += count
        entry[1].add(month)
        entry[2].add(bill_code)
    conn.execute("UPDATE spots SET customer_id = (SELECT new_id FROM temp.customer_moves "
                 "WHERE old_id = spots.customer_id) "
                 "WHERE customer_id IN (SELECT old_id FROM temp.customer_moves)")
    conn.execute("UPDATE customer_aliases SET customer_id = (SELECT new_id FROM "
                 "temp.customer_moves WHERE old_id = customer_aliases.customer_id) "
                 "WHERE customer_id IN (SELECT old_id FROM temp.customer_moves)")
    if conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' "
                    "AND name = 'booking_history'").fetchone():
        conn.execute("UPDATE booking_history SET customer_id = (SELECT new_id FROM "
                     "temp.customer_moves WHERE old_id = booking_history.customer_id) "
                     "WHERE customer_id IN (SELECT old_id FROM temp.customer_moves)")
    for merge in merges:
        spots, months, codes = moved.get(merge["merged_id"], (0, set(), set()))
        merge.update(spots_moved=spots, months=sorted(months), bill_codes=sorted(codes),
                     aliases=[], reason="same advertiser (revision 0006)")
        _audit(conn, now, "merge_customers", f"customer:{merge['survivor_id']}", merge)
    conn.execute("DROP TABLE temp.customer_moves")
    return merges


def _alias_earlier_merges(conn: sqlite3.Connection, now: str,
                          just_merged: set[int]) -> list[str]:
    """An earlier manual merge said advertiser X is advertiser Y: keep saying it for every
    agency, with an alias on X's name, unless X is a customer of its own."""
    merged_into = dict(conn.execute(
        "SELECT customer_id, merged_into FROM customers WHERE merged_into IS NOT NULL"))
    names = dict(conn.execute("SELECT customer_id, name FROM customers"))
    taken = {k for (k,) in conn.execute(
        "SELECT name_key FROM customers WHERE merged_into IS NULL "
        "UNION SELECT alias_key FROM customer_aliases")}
    added = []
    for merged_id in sorted(set(merged_into) - just_merged):
        survivor, seen = merged_id, set()
        while survivor in merged_into and survivor not in seen:
            seen.add(survivor)
            survivor = merged_into[survivor]
        advertiser = parse_bill_code(names[merged_id]).customer
        key = name_key(advertiser)
        if key in taken or key == name_key(names[survivor]):
            continue
        conn.execute(
            "INSERT INTO customer_aliases (alias_key, alias_text, kind, customer_id, is_active, "
            "created_by, created_at, note) VALUES (?, ?, 'name', ?, 1, ?, ?, ?)",
            (key, advertiser, survivor, ACTOR, now,
             f"advertiser of #{merged_id} {names[merged_id]}, merged before revision 0006"),
        )
        taken.add(key)
        added.append(advertiser)
    return added


# -- agencies -------------------------------------------------------------------------------

def _agencies_from_bill_codes(conn: sqlite3.Connection, now: str) -> tuple[list[str], int]:
    """Every spot's agency from its own bill code; agencies that did not exist are created."""
    by_key = dict(conn.execute("SELECT name_key, agency_id FROM agencies"))
    created = []
    conn.execute("CREATE TEMP TABLE bill_agencies (bill_code TEXT PRIMARY KEY, agency_id INTEGER)")
    for (bill_code,) in conn.execute("SELECT DISTINCT bill_code FROM spots").fetchall():
        agency = parse_bill_code(bill_code).agency
        agency_id = None
        if agency is not None:
            key = name_key(agency)
            agency_id = by_key.get(key)
            if agency_id is None:
                cur = conn.execute("INSERT INTO agencies (name, name_key, auto_created, "
                                   "is_active, created_at) VALUES (?, ?, 1, 1, ?)",
                                   (agency, key, now))
                agency_id = by_key[key] = int(cur.lastrowid)
                created.append(agency)
        conn.execute("INSERT INTO bill_agencies VALUES (?, ?)", (bill_code, agency_id))
    changed = conn.execute(
        "UPDATE spots SET agency_id = (SELECT agency_id FROM temp.bill_agencies b "
        "WHERE b.bill_code = spots.bill_code) WHERE agency_id IS NOT (SELECT agency_id "
        "FROM temp.bill_agencies b WHERE b.bill_code = spots.bill_code)").rowcount
    conn.execute("DROP TABLE temp.bill_agencies")
    return created, changed


def _audit(conn: sqlite3.Connection, now: str, action: str, subject: str,
           detail: dict[str, object]) -> None:
    conn.execute("INSERT INTO audit_log (at, actor, action, subject, detail) "
                 "VALUES (?, ?, ?, ?, ?)", (now, ACTOR, action, subject, json.dumps(detail)))

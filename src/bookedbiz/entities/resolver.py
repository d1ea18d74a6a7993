"""Resolving a spot's bill code, sales person and market to ids during an import.

Everything is loaded once into dictionaries inside the import transaction, so a 10,000-row log
costs a few hundred lookups, not ten thousand queries. Unknown customers, agencies and AEs are
created (marked auto-created) so every spot has a customer and revenue by customer adds up.
"""

from __future__ import annotations

import re
import sqlite3
from dataclasses import dataclass, field

from bookedbiz.vocab import customer_identity, is_worldlink, name_key

UNASSIGNED_AE = "Unassigned"
WORLDLINK_AE = "WorldLink"
_TRANSFER_SUFFIX = re.compile(r"\s*-+\s*transfer\s*$", re.IGNORECASE)


@dataclass
class Created:
    customers: list[str] = field(default_factory=list)
    agencies: list[str] = field(default_factory=list)
    aes: list[str] = field(default_factory=list)
    ae_aliases: list[str] = field(default_factory=list)
    markets: list[str] = field(default_factory=list)
    unknown_markets: dict[str, int] = field(default_factory=dict)


def _flat_case(name: str) -> bool:
    """True for names without mixed case (``ACME``, ``acme``), which read like data drift."""
    return name.isupper() or name.islower()


class EntityResolver:
    """Per-run resolver bound to a connection that is inside a write transaction."""

    def __init__(self, conn: sqlite3.Connection, now: str, *, auto_setup: bool = False):
        self.conn = conn
        self.now = now
        self.auto_setup = auto_setup
        self.created = Created()
        self._aliases = dict(
            conn.execute("SELECT alias_key, customer_id FROM customer_aliases WHERE is_active = 1")
        )
        self._customers: dict[str, tuple[int, int | None, int | None]] = {}
        self._names: dict[int, str] = {}
        for key, cid, agency, merged, name in conn.execute(
            "SELECT name_key, customer_id, agency_id, merged_into, name FROM customers"
        ):
            self._customers[key] = (cid, agency, merged)
            self._names[cid] = name
        self._customer_agency = {cid: agency for cid, agency, _ in self._customers.values()}
        self._merged = {cid: merged for cid, _, merged in self._customers.values() if merged}
        self._agencies = dict(conn.execute("SELECT name_key, agency_id FROM agencies"))
        self._aes: dict[str, int] = {}
        self._ae_names: dict[int, str] = {}
        for key, ae_id, name in conn.execute("SELECT name_key, ae_id, name FROM aes"):
            self._aes[key] = ae_id
            self._ae_names[ae_id] = name
        self._ae_aliases = dict(conn.execute("SELECT alias_key, ae_id FROM ae_aliases"))
        self._markets = {row[0] for row in conn.execute("SELECT code FROM markets")}
        self._markets.add("")
        self.known_markets = self._markets
        self._bill_cache: dict[str, tuple[int, int | None]] = {}
        self._ae_cache: dict[tuple[str | None, str], int] = {}

    # -- customers -----------------------------------------------------------------------
    def _survivor(self, customer_id: int) -> int:
        seen = set()
        while customer_id in self._merged and customer_id not in seen:
            seen.add(customer_id)
            customer_id = self._merged[customer_id]
        return customer_id

    def customer_for(self, bill_code: str) -> tuple[int, int | None]:
        """(customer_id, agency_id): alias on the raw bill code, then normalized name, else new."""
        cached = self._bill_cache.get(bill_code)
        if cached is not None:
            return cached
        alias = self._aliases.get(name_key(bill_code))
        if alias is not None:
            customer_id = self._survivor(alias)
            result = (customer_id, self._customer_agency.get(customer_id))
        else:
            name, agency_name = customer_identity(bill_code)
            key = name_key(name)
            found = self._customers.get(key)
            if found is not None:
                self._prefer_spelling("customers", "customer_id", found[0], name, self._names)
                customer_id = self._survivor(found[0])
                result = (customer_id, self._customer_agency.get(customer_id))
            else:
                agency_id = self._agency(agency_name) if agency_name else None
                cur = self.conn.execute(
                    "INSERT INTO customers (name, name_key, agency_id, auto_created, created_at)"
                    " VALUES (?, ?, ?, 1, ?)",
                    (name, key, agency_id, self.now),
                )
                customer_id = int(cur.lastrowid)
                self._names[customer_id] = name
                self._customers[key] = (customer_id, agency_id, None)
                self._customer_agency[customer_id] = agency_id
                self.created.customers.append(name)
                result = (customer_id, agency_id)
        self._bill_cache[bill_code] = result
        return result

    def _prefer_spelling(self, table: str, id_column: str, row_id: int, seen: str,
                         names: dict[int, str]) -> None:
        """Replace an all-caps or all-lower-case display name by a mixed-case spelling of the
        same name when one turns up (``FOO MOTORS`` → ``Foo Motors``)."""
        current = names.get(row_id)
        if current is None or current == seen or not _flat_case(current) or _flat_case(seen):
            return
        self.conn.execute(f"UPDATE {table} SET name = ? WHERE {id_column} = ?", (seen, row_id))
        names[row_id] = seen

    def _agency(self, name: str) -> int:
        key = name_key(name)
        agency_id = self._agencies.get(key)
        if agency_id is None:
            cur = self.conn.execute(
                "INSERT INTO agencies (name, name_key, auto_created, created_at) "
                "VALUES (?, ?, 1, ?)",
                (name, key, self.now),
            )
            agency_id = int(cur.lastrowid)
            self._agencies[key] = agency_id
            self.created.agencies.append(name)
        return agency_id

    # -- AEs -------------------------------------------------------------------------------
    def ae_for(self, sales_person: str | None, bill_code: str) -> int:
        cached = self._ae_cache.get((sales_person, bill_code))
        if cached is not None:
            return cached
        worldlink = is_worldlink(bill_code)
        if worldlink:
            ae_id = self._ae(WORLDLINK_AE)
        elif not sales_person or not sales_person.strip():
            ae_id = self._ae(UNASSIGNED_AE)
        else:
            display = " ".join(sales_person.split())
            key = name_key(display)
            ae_id = self._ae_aliases.get(key) or self._aes.get(key)
            if ae_id is not None and key in self._aes:
                self._prefer_spelling("aes", "ae_id", ae_id, display, self._ae_names)
            if ae_id is None:
                base = _TRANSFER_SUFFIX.sub("", display)
                if base and base != display:
                    ae_id = self._ae(base)
                    self.conn.execute(
                        "INSERT INTO ae_aliases (alias_key, alias_text, ae_id, created_by, "
                        "created_at) VALUES (?, ?, ?, 'import', ?)",
                        (key, display, ae_id, self.now),
                    )
                    self._ae_aliases[key] = ae_id
                    self.created.ae_aliases.append(display)
                else:
                    ae_id = self._ae(display)
        self._ae_cache[(sales_person, bill_code)] = ae_id
        return ae_id

    def _ae(self, display: str) -> int:
        key = name_key(display)
        ae_id = self._ae_aliases.get(key) or self._aes.get(key)
        if ae_id is None:
            cur = self.conn.execute(
                "INSERT INTO aes (name, name_key, created_at) VALUES (?, ?, ?)",
                (display, key, self.now),
            )
            ae_id = int(cur.lastrowid)
            self._aes[key] = ae_id
            self._ae_names[ae_id] = display
            self.created.aes.append(display)
        return ae_id

    # -- markets ---------------------------------------------------------------------------
    def note_market(self, code: str) -> None:
        """Unknown codes are kept on the spot; --auto-setup also adds them to the table."""
        if not code or code in self._markets:
            return
        if self.auto_setup:
            self.conn.execute(
                "INSERT INTO markets (code, name, auto_created, created_at) VALUES (?, ?, 1, ?)",
                (code, code, self.now),
            )
            self._markets.add(code)
            self.created.markets.append(code)
        else:
            unknown = self.created.unknown_markets
            unknown[code] = unknown.get(code, 0) + 1

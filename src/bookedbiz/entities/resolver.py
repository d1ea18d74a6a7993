"""Resolving a spot's bill code, sales person and market to ids during an import.

A customer is an advertiser and the agency a separate identity (SPEC §1.2): ``Agency A:Acme``,
``Agency B:ACME`` and ``Acme`` are one customer bought through two agencies and direct.
Everything is loaded once into dictionaries inside the import transaction, so a 10,000-row log
costs a few hundred lookups, not ten thousand queries. Unknown customers, agencies and AEs are
created (marked auto-created) so every spot has a customer and revenue by customer adds up.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from sqlalchemy import Connection, text

from bookedbiz.vocab import is_worldlink, name_key, parse_bill_code

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


class _Identities:
    """One kind of identity (customers or agencies) loaded for a run: names, merges, aliases.

    Resolution follows SPEC §1.2: an active alias on the raw bill code, then an active alias on
    the name, then a record whose normalized name matches; a merged record stands for the
    record it was merged into."""

    def __init__(self, conn: Connection, table: str, id_column: str, alias_table: str) -> None:
        self.table, self.id_column = table, id_column
        self.aliases: dict[str, int] = dict(conn.execute(text(
            f"SELECT alias_key, {id_column} FROM {alias_table} WHERE is_active")).all())
        self.by_key: dict[str, int] = {}
        self.names: dict[int, str] = {}
        self.merged: dict[int, int] = {}
        for key, row_id, merged, name in conn.execute(text(
            f"SELECT name_key, {id_column}, merged_into, name FROM {table}"  # noqa: S608
        )):
            self.by_key[key] = row_id
            self.names[row_id] = name
            if merged:
                self.merged[row_id] = merged

    def survivor(self, row_id: int) -> int:
        seen = set()
        while row_id in self.merged and row_id not in seen:
            seen.add(row_id)
            row_id = self.merged[row_id]
        return row_id

    def by_alias(self, bill_code: str, name: str | None) -> int | None:
        """The record an active alias names: on the raw bill code first, then on the name."""
        found = self.aliases.get(name_key(bill_code))
        if found is None and name:
            found = self.aliases.get(name_key(name))
        return None if found is None else self.survivor(found)


class EntityResolver:
    """Per-run resolver bound to a connection that is inside a write transaction."""

    def __init__(self, conn: Connection, now: str, *, auto_setup: bool = False):
        self.conn = conn
        self.now = now
        self.auto_setup = auto_setup
        self.created = Created()
        self._customers = _Identities(conn, "customers", "customer_id", "customer_aliases")
        self._agencies = _Identities(conn, "agencies", "agency_id", "agency_aliases")
        self._aes: dict[str, int] = {}
        self._ae_names: dict[int, str] = {}
        for key, ae_id, name in conn.execute(text("SELECT name_key, ae_id, name FROM aes")):
            self._aes[key] = ae_id
            self._ae_names[ae_id] = name
        self._ae_aliases = dict(conn.execute(text("SELECT alias_key, ae_id FROM ae_aliases"))
                                .all())
        self._markets = {row[0] for row in conn.execute(text("SELECT code FROM markets"))}
        self._markets.add("")
        self.known_markets = self._markets
        self._bill_cache: dict[str, tuple[int, int | None]] = {}
        self._ae_cache: dict[tuple[str | None, str], int] = {}

    # -- customers and agencies ----------------------------------------------------------
    def customer_for(self, bill_code: str) -> tuple[int, int | None]:
        """(customer_id, agency_id) of a bill code: the advertiser and the agency that bought,
        each resolved on its own (SPEC §1.2), so one advertiser is one customer whichever
        agency (or none) books it."""
        cached = self._bill_cache.get(bill_code)
        if cached is None:
            customer, agency = parse_bill_code(bill_code)
            cached = (
                self._identity(self._customers, self.created.customers, bill_code, customer),
                self._identity(self._agencies, self.created.agencies, bill_code, agency),
            )
            self._bill_cache[bill_code] = cached
        return cached

    def _identity(self, ids: _Identities, created: list[str], bill_code: str,
                  name: str | None) -> int | None:
        """Alias on the raw bill code, alias on the name, matching name, else a new record
        (listed in ``created``). Only the agency's name can be missing: a direct bill code has
        no agency unless an alias on the raw bill code gives it one."""
        found = ids.by_alias(bill_code, name)
        if found is not None or name is None:
            return found
        key = name_key(name)
        row_id = ids.by_key.get(key)
        if row_id is not None:
            self._prefer_spelling(ids.table, ids.id_column, row_id, name, ids.names)
            return ids.survivor(row_id)
        row_id = int(self.conn.execute(text(
            f"INSERT INTO {ids.table} (name, name_key, auto_created, created_at) "  # noqa: S608
            f"VALUES (:name, :key, :auto, :now) RETURNING {ids.id_column}"),
            {"name": name, "key": key, "auto": True, "now": self.now}).scalar_one())
        ids.by_key[key], ids.names[row_id] = row_id, name
        created.append(name)
        return row_id

    def _prefer_spelling(self, table: str, id_column: str, row_id: int, seen: str,
                         names: dict[int, str]) -> None:
        """Replace an all-caps or all-lower-case display name by a mixed-case spelling of the
        same name when one turns up (``FOO MOTORS`` → ``Foo Motors``)."""
        current = names.get(row_id)
        if current is None or current == seen or not _flat_case(current) or _flat_case(seen):
            return
        self.conn.execute(text(f"UPDATE {table} SET name = :name "  # noqa: S608
                               f"WHERE {id_column} = :id"), {"name": seen, "id": row_id})
        names[row_id] = seen

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
                    self.conn.execute(text(
                        "INSERT INTO ae_aliases (alias_key, alias_text, ae_id, created_by, "
                        "created_at) VALUES (:key, :text, :ae, 'import', :now)"),
                        {"key": key, "text": display, "ae": ae_id, "now": self.now})
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
            ae_id = int(self.conn.execute(text(
                "INSERT INTO aes (name, name_key, created_at) VALUES (:name, :key, :now) "
                "RETURNING ae_id"), {"name": display, "key": key, "now": self.now}).scalar_one())
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
            self.conn.execute(text(
                "INSERT INTO markets (code, name, auto_created, created_at) "
                "VALUES (:code, :name, :auto, :now)"),  # one parameter per column: PostgreSQL
                {"code": code, "name": code, "auto": True, "now": self.now})  # types each
            self._markets.add(code)
            self.created.markets.append(code)
        else:
            unknown = self.created.unknown_markets
            unknown[code] = unknown.get(code, 0) + 1

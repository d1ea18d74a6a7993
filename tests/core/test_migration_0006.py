"""Revision 0006 turns a database built with the old, agency-qualified customer model into the
advertiser model: customers with the same advertiser merged, aliases and merge history kept,
every spot's agency from its bill code, and every total unchanged to the cent (or nothing
changes at all)."""

from __future__ import annotations

import json
import random
import sqlite3
from collections import defaultdict
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from tests.core.conftest import alembic_upgrade, data_checksum
from tests.core.handmade import spot_row, write_workbook
from tests.core.independent import advertiser_and_agency

from bookedbiz.db.connection import create_db_engine
from bookedbiz.db.migrate import current_version, init_database
from bookedbiz.db.summary import refresh_summary
from bookedbiz.errors import VerificationError
from bookedbiz.ingest.service import import_workbook
from bookedbiz.reports.filters import ReportFilters
from bookedbiz.reports.revenue import revenue_by
from bookedbiz.vocab import name_key, split_bill_code

CENT = Decimal("0.01")
NOW = "2025-01-01T00:00:00Z"

# The tables later revisions change, as revision 0005 had them: no agency merges, agency
# aliases or alias kinds (0006), no sectors or revenue classes on customers and no calendar
# columns on the summary (0007). Created while the database is still empty.
_OLD_TABLES = """
DROP TABLE customers;
CREATE TABLE customers (customer_id INTEGER NOT NULL PRIMARY KEY, name TEXT NOT NULL,
  name_key TEXT NOT NULL UNIQUE, agency_id INTEGER REFERENCES agencies (agency_id),
  auto_created BOOLEAN DEFAULT '0' NOT NULL, is_active BOOLEAN DEFAULT '1' NOT NULL,
  merged_into INTEGER REFERENCES customers (customer_id), created_at TEXT NOT NULL);
DROP TABLE spot_summary;
CREATE TABLE spot_summary (broadcast_month VARCHAR(7) NOT NULL, ae_id INTEGER NOT NULL,
  customer_id INTEGER NOT NULL, agency_id INTEGER, market_code TEXT NOT NULL,
  revenue_type TEXT NOT NULL, spot_type TEXT NOT NULL, language_bucket TEXT NOT NULL,
  gross_micros INTEGER NOT NULL, net_micros INTEGER NOT NULL, spots INTEGER NOT NULL);
CREATE INDEX ix_spot_summary_month_cover ON spot_summary (broadcast_month, customer_id, ae_id,
  market_code, revenue_type, language_bucket, spot_type, agency_id, gross_micros, net_micros,
  spots);
CREATE INDEX ix_spot_summary_customer ON spot_summary (customer_id, broadcast_month);
DROP TABLE IF EXISTS agency_aliases;
DROP TABLE agencies;
CREATE TABLE agencies (agency_id INTEGER NOT NULL PRIMARY KEY, name TEXT NOT NULL,
  name_key TEXT NOT NULL UNIQUE, auto_created BOOLEAN DEFAULT '0' NOT NULL,
  is_active BOOLEAN DEFAULT '1' NOT NULL, created_at TEXT NOT NULL);
DROP TABLE customer_aliases;
CREATE TABLE customer_aliases (alias_id INTEGER NOT NULL PRIMARY KEY,
  alias_key TEXT NOT NULL UNIQUE, alias_text TEXT NOT NULL,
  customer_id INTEGER NOT NULL REFERENCES customers (customer_id),
  is_active BOOLEAN DEFAULT '1' NOT NULL, created_by TEXT NOT NULL, created_at TEXT NOT NULL,
  note TEXT);
"""


def old_model_identity(bill_code: str) -> tuple[str, str | None]:
    """The customer model before revision 0006: ``Agency:Customer``, agency = first segment."""
    agencies, customer = split_bill_code(bill_code)
    return ":".join([*agencies, customer]), (agencies[0] if agencies else None)


def database_at_0005(path: Path) -> sqlite3.Connection:
    """An empty database at revision 0005 with the tables later revisions change in their old
    shape."""
    path.parent.mkdir(parents=True, exist_ok=True)
    sqlite3.connect(path).close()
    alembic_upgrade(path, "0005")
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA foreign_keys = OFF")
    conn.executescript(_OLD_TABLES)
    conn.execute("PRAGMA foreign_keys = ON")
    for table, newer in (("agencies", "merged_into"), ("customers", "revenue_class"),
                         ("spot_summary", "calendar_month"), ("customer_aliases", "kind")):
        assert newer not in {r[1] for r in conn.execute(f"PRAGMA table_info({table})")}
    return conn


class OldModel:
    """Writes customers, agencies and spots the way the old resolver did."""

    def __init__(self, conn: sqlite3.Connection):
        self.conn = conn
        self.customers: dict[str, int] = {}
        self.agencies: dict[str, int] = {}
        self.aes: dict[str, int] = {}
        conn.execute("INSERT INTO import_batches (batch_id, mode, source_file, started_at, "
                     "status) VALUES (1, 'historical', 'old.xlsx', ?, 'completed')", (NOW,))

    def agency(self, name: str) -> int:
        if name_key(name) not in self.agencies:
            cur = self.conn.execute("INSERT INTO agencies (name, name_key, auto_created, "
                                    "created_at) VALUES (?, ?, 1, ?)", (name, name_key(name), NOW))
            self.agencies[name_key(name)] = cur.lastrowid
        return self.agencies[name_key(name)]

    def customer(self, name: str, agency: str | None) -> int:
        if name_key(name) not in self.customers:
            agency_id = self.agency(agency) if agency else None
            cur = self.conn.execute(
                "INSERT INTO customers (name, name_key, agency_id, auto_created, created_at) "
                "VALUES (?, ?, ?, 1, ?)", (name, name_key(name), agency_id, NOW))
            self.customers[name_key(name)] = cur.lastrowid
        return self.customers[name_key(name)]

    def ae(self, name: str) -> int:
        if name not in self.aes:
            cur = self.conn.execute("INSERT INTO aes (name, name_key, created_at) "
                                    "VALUES (?, ?, ?)", (name, name_key(name), NOW))
            self.aes[name] = cur.lastrowid
        return self.aes[name]

    def spot(self, bill_code: str, month: str, gross: int, net: int, *, ae: str = "Ann Lee",
             market: str = "SEA", revenue_type: str = "Internal Ad Sales",
             customer_id: int | None = None) -> None:
        name, agency = old_model_identity(bill_code)
        if customer_id is None:
            customer_id = self.customer(name, agency)
        agency_id = self.conn.execute("SELECT agency_id FROM customers WHERE customer_id = ?",
                                      (customer_id,)).fetchone()[0]
        self.conn.execute(
            "INSERT INTO spots (import_batch_id, bill_code, air_date, spot_type, broadcast_month,"
            " gross_rate_micros, station_net_micros, ae_id, revenue_type, is_trade, market_code,"
            " customer_id, agency_id, language_category) "
            "VALUES (1, ?, ?, 'COM', ?, ?, ?, ?, ?, ?, ?, ?, ?, 'review')",
            (bill_code, f"{month}-10", month, gross, net, self.ae(ae), revenue_type,
             int(revenue_type == "Trade"), market, customer_id, agency_id))

    def finish(self) -> None:
        months = [m for (m,) in self.conn.execute("SELECT DISTINCT broadcast_month FROM spots")]
        refresh_summary(self.conn, months)


def spot_facts(db: Path) -> dict[int, tuple]:
    """Every spot's amounts and dimensions other than customer and agency."""
    conn = sqlite3.connect(db)
    try:
        return {row[0]: row[1:] for row in conn.execute(
            "SELECT spot_id, bill_code, broadcast_month, ae_id, market_code, revenue_type, "
            "is_trade, gross_rate_micros, station_net_micros FROM spots")}
    finally:
        conn.close()


def totals(facts: dict[int, tuple]) -> dict[str, dict]:
    """Independent non-Trade totals by month, AE, market and revenue type."""
    out: dict[str, dict] = {}
    for name, index in (("month", 1), ("ae", 2), ("market", 3), ("revenue_type", 4)):
        sums: dict[object, list[int]] = defaultdict(lambda: [0, 0, 0])
        for fact in facts.values():
            if not fact[5]:
                bucket = sums[fact[index]]
                bucket[0] += fact[6] or 0
                bucket[1] += fact[7] or 0
                bucket[2] += 1
        out[name] = dict(sums)
    return out


def report(db: Path, by: str) -> dict[str, dict]:
    engine = create_db_engine(db, readonly=True)
    with engine.connect() as conn:
        rows = {name_key(str(r[by])): r for r in revenue_by(conn, by, ReportFilters())}
    engine.dispose()
    return rows


def summary_totals(db: Path) -> dict[str, dict]:
    conn = sqlite3.connect(db)
    try:
        return {column: {k: [g, n, c] for k, g, n, c in conn.execute(
            f"SELECT {column}, SUM(gross_micros), SUM(net_micros), SUM(spots) FROM spot_summary "
            f"GROUP BY {column}")}
            for column in ("broadcast_month", "ae_id", "market_code", "revenue_type")}
    finally:
        conn.close()


@pytest.fixture()
def old_db(tmp_path: Path) -> Path:
    """Acme bought through Agency A, Agency B (the most revenue, flat case), direct, and two
    agencies deep; Beta Foods with an earlier manual merge of 'Beta Food'; Gamma with an alias."""
    path = tmp_path / "data" / "old.db"
    conn = database_at_0005(path)
    rng = random.Random(6)
    old = OldModel(conn)
    conn.execute("BEGIN")
    plan = [("Agency A:Acme", 40), ("Agency B:ACME", 90), ("ACME", 25), ("Acme CREDIT MEMO", 5),
            ("Agency C:Sub:acme PROD", 10), ("Agency A:Beta Foods", 30), ("Gamma", 12),
            ("Delta Direct", 8)]
    months = ("2024-11", "2024-12", "2025-01")
    for bill_code, count in plan:
        for n in range(count):
            old.spot(bill_code, months[n % 3], rng.randrange(1, 900_000_000) + 5_000,
                     rng.randrange(1, 700_000_000) + 3_333, ae=("Ann Lee", "Bo Chan")[n % 2],
                     market=("SEA", "LAX", "NYC")[n % 3],
                     revenue_type=("Internal Ad Sales", "Local", "Trade")[n % 7 % 3])
    # an earlier manual merge: 'Agency A:Beta Food' folded into 'Agency A:Beta Foods', its bill
    # code kept as an alias and its spots re-pointed (with the survivor's agency)
    beta = old.customers[name_key("Agency A:Beta Foods")]
    food = old.customer("Agency A:Beta Food", "Agency A")
    conn.execute("UPDATE customers SET merged_into = ?, is_active = 0 WHERE customer_id = ?",
                 (beta, food))
    conn.execute("INSERT INTO customer_aliases (alias_key, alias_text, customer_id, created_by, "
                 "created_at, note) VALUES ('agency a:beta food', 'Agency A:Beta Food', ?, "
                 "'admin', ?, 'merged')", (beta, NOW))
    conn.execute("INSERT INTO audit_log (at, actor, action, subject, detail) VALUES (?, 'admin',"
                 " 'merge_customers', ?, '{}')", (NOW, f"customer:{beta}"))
    for n in range(6):
        old.spot("Agency A:Beta Food", months[n % 3], 1_000_005 * (n + 1), 850_000 * (n + 1),
                 customer_id=beta)
    gamma = old.customers[name_key("Gamma")]
    conn.execute("INSERT INTO customer_aliases (alias_key, alias_text, customer_id, created_by, "
                 "created_at) VALUES ('gamma inc', 'Gamma Inc', ?, 'admin', ?)", (gamma, NOW))
    old.finish()
    conn.execute("COMMIT")
    conn.close()
    assert current_version(path) == "0005"
    return path


def test_upgrade_merges_advertisers_and_keeps_every_total(old_db: Path) -> None:
    facts_before = spot_facts(old_db)
    summary_before = summary_totals(old_db)
    conn = sqlite3.connect(old_db)
    old_ids = dict(conn.execute("SELECT name, customer_id FROM customers"))
    conn.close()
    result = init_database(old_db)
    assert result.from_version == "0005" and result.snapshot and result.snapshot.exists()
    facts_after = spot_facts(old_db)
    assert facts_after == facts_before  # every spot's amounts and dimensions, to the micro
    assert totals(facts_after) == totals(facts_before)
    assert summary_totals(old_db) == summary_before

    conn = sqlite3.connect(old_db)
    acme_ids = [old_ids[n] for n in ("Agency A:Acme", "Agency B:ACME", "ACME", "Agency C:Sub:acme")]
    survivor = old_ids["Agency B:ACME"]  # the most revenue
    assert conn.execute("SELECT name, name_key, is_active, merged_into FROM customers "
                        "WHERE customer_id = ?", (survivor,)).fetchone() == (
        "Acme", "acme", 1, None)  # the advertiser's mixed-case spelling
    for merged in acme_ids:
        if merged != survivor:
            assert conn.execute("SELECT is_active, merged_into FROM customers WHERE "
                                "customer_id = ?", (merged,)).fetchone() == (0, survivor)
    active = [n for (n,) in conn.execute(
        "SELECT name FROM customers WHERE merged_into IS NULL ORDER BY name")]
    assert active == ["Acme", "Beta Foods", "Delta Direct", "Gamma"]
    # every Acme spot is on the survivor; its total is the exact sum of those spots
    acme_spots = {sid for sid, f in facts_before.items()
                  if advertiser_and_agency(f[0])[0] == "acme"}
    on_survivor = {sid for (sid,) in conn.execute(
        "SELECT spot_id FROM spots WHERE customer_id = ?", (survivor,))}
    assert on_survivor == acme_spots
    exact = sum(facts_before[s][6] for s in acme_spots if not facts_before[s][5])
    assert report(old_db, "customer")["acme"]["gross"] == (Decimal(exact) / 1_000_000).quantize(
        CENT)
    # agencies come from each spot's own bill code; customers no longer carry one
    agencies = dict(conn.execute(
        "SELECT s.bill_code, COALESCE(a.name, '(direct)') FROM spots s "
        "LEFT JOIN agencies a ON a.agency_id = s.agency_id GROUP BY s.bill_code"))
    assert agencies == {
        "Agency A:Acme": "Agency A", "Agency B:ACME": "Agency B", "ACME": "(direct)",
        "Acme CREDIT MEMO": "(direct)", "Agency C:Sub:acme PROD": "Agency C:Sub",
        "Agency A:Beta Foods": "Agency A", "Agency A:Beta Food": "Agency A",
        "Gamma": "(direct)", "Delta Direct": "(direct)"}
    assert conn.execute("SELECT COUNT(*) FROM customers WHERE agency_id IS NOT NULL"
                        ).fetchone() == (0,)
    # aliases and merge history kept; the earlier merge's advertiser name is now an alias too
    aliases = {k: (c, kind) for k, c, kind in conn.execute(
        "SELECT alias_key, customer_id, kind FROM customer_aliases")}
    beta = old_ids["Agency A:Beta Foods"]
    assert aliases == {"agency a:beta food": (beta, "bill_code"),
                       "gamma inc": (old_ids["Gamma"], "bill_code"),
                       "beta food": (beta, "name")}
    assert conn.execute("SELECT merged_into FROM customers WHERE customer_id = ?",
                        (old_ids["Agency A:Beta Food"],)).fetchone() == (beta,)
    audits = [json.loads(d) for (d,) in conn.execute(
        "SELECT detail FROM audit_log WHERE actor = 'migration 0006' "
        "AND action = 'merge_customers' ORDER BY audit_id")]
    assert sorted(a["merged_id"] for a in audits) == sorted(set(acme_ids) - {survivor})
    assert sum(a["spots_moved"] for a in audits) == len(acme_spots - {
        s for s in acme_spots if facts_before[s][0] == "Agency B:ACME"})
    (detail,) = conn.execute("SELECT detail FROM audit_log WHERE action = 'migration_report'"
                             ).fetchone()
    migration_report = json.loads(detail)
    assert migration_report["verified"] is True and migration_report["problems"] == []
    assert migration_report["customers_merged"] == 3
    assert migration_report["before"] == migration_report["after"]
    assert migration_report["agencies_created"] == ["Agency C:Sub"]
    conn.close()
    # the agency breakdown is the independent sum over the spots' bill codes
    expected: dict[str, int] = defaultdict(int)
    for fact in facts_before.values():
        if not fact[5]:
            expected[advertiser_and_agency(fact[0])[1]] += fact[6]
    shown = report(old_db, "agency")
    assert {k: v["gross"] for k, v in shown.items()} == {
        k: (Decimal(v) / 1_000_000).quantize(CENT) for k, v in expected.items()}


def test_later_imports_land_on_the_survivors(old_db: Path, tmp_path: Path) -> None:
    init_database(old_db)
    book = write_workbook(tmp_path / "new.xlsx", {"Commercials": [
        spot_row(bill_code="Agency D:ACME", broadcast_month=date(2025, 3, 1)),
        spot_row(bill_code="Agency Z:Beta Food", broadcast_month=date(2025, 3, 1)),
        spot_row(bill_code="Gamma Inc", broadcast_month=date(2025, 3, 1))]})
    import_workbook(old_db, book, mode="historical", closed_by="Fin", today=date(2025, 5, 1))
    conn = sqlite3.connect(old_db)
    got = dict(conn.execute("SELECT s.bill_code, c.name FROM spots s JOIN customers c "
                            "USING (customer_id) WHERE s.broadcast_month = '2025-03'"))
    conn.close()
    assert got == {"Agency D:ACME": "Acme", "Agency Z:Beta Food": "Beta Foods",
                   "Gamma Inc": "Gamma"}


def test_a_migration_it_cannot_verify_changes_nothing(old_db: Path) -> None:
    conn = sqlite3.connect(old_db)
    # something that changes an amount while spots are re-pointed: the proof must catch it
    conn.execute("CREATE TRIGGER tamper AFTER UPDATE OF customer_id ON spots BEGIN "
                 "UPDATE spots SET gross_rate_micros = gross_rate_micros + 1 "
                 "WHERE spot_id = NEW.spot_id; END")
    conn.commit()
    conn.close()
    before = data_checksum(old_db)
    with pytest.raises(VerificationError, match="could not prove revenue unchanged"):
        init_database(old_db)
    assert data_checksum(old_db) == before
    assert current_version(old_db) == "0005"
    snapshots = list((old_db.parent / "backups").glob("pre-migration-*.db"))
    assert len(snapshots) == 1 and data_checksum(snapshots[0]) == before


def test_a_generated_log_in_the_old_model_upgrades_to_the_cent(tmp_path: Path,
                                                               workbooks) -> None:
    """Thousands of generated spots, re-keyed the old way, with agency and casing drift added
    so that most advertisers are bought through several agencies and direct."""
    source = tmp_path / "new" / "source.db"
    init_database(source)
    import_workbook(source, workbooks["recap"], mode="historical", closed_by="Fin",
                    today=date(2024, 6, 1))
    path = tmp_path / "data" / "old.db"
    conn = database_at_0005(path)
    conn.execute("ATTACH DATABASE ? AS src", (str(source),))
    conn.execute("BEGIN")
    old = OldModel(conn)
    for table in ("aes", "markets", "languages"):
        conn.execute(f"INSERT INTO {table} SELECT * FROM src.{table}")
    rows = conn.execute(
        "SELECT spot_id, bill_code, broadcast_month, ae_id, market_code, revenue_type, is_trade,"
        " gross_rate_micros, station_net_micros FROM src.spots ORDER BY spot_id").fetchall()
    for spot_id, bill, month, ae_id, market, revenue_type, trade, gross, net in rows:
        advertiser = split_bill_code(bill)[1]
        drift = spot_id % 4
        if drift == 1:
            bill = "Other Agency:" + advertiser.upper()
        elif drift == 2:
            bill = advertiser.lower() + " PROD"
        name, agency = old_model_identity(bill)
        customer_id = old.customer(name, agency)
        agency_id = old.agencies.get(name_key(agency)) if agency else None
        conn.execute(
            "INSERT INTO spots (spot_id, import_batch_id, bill_code, air_date, spot_type, "
            "broadcast_month, gross_rate_micros, station_net_micros, ae_id, revenue_type, "
            "is_trade, market_code, customer_id, agency_id, language_category) "
            "VALUES (?, 1, ?, ?, 'COM', ?, ?, ?, ?, ?, ?, ?, ?, ?, 'review')",
            (spot_id, bill, f"{month}-10", month, gross, net, ae_id, revenue_type, trade,
             market, customer_id, agency_id))
    old.finish()
    conn.execute("COMMIT")
    conn.execute("DETACH DATABASE src")
    conn.close()
    facts = spot_facts(path)
    old_customers = sqlite3.connect(path).execute("SELECT COUNT(*) FROM customers").fetchone()[0]
    init_database(path)
    assert spot_facts(path) == facts
    expected = {"customer": defaultdict(int), "agency": defaultdict(int)}
    for fact in facts.values():
        if not fact[5]:
            advertiser, agency = advertiser_and_agency(fact[0])
            expected["customer"][advertiser] += fact[6] or 0
            expected["agency"][agency] += fact[6] or 0
    for by in ("customer", "agency"):
        shown = {k: v["gross"] for k, v in report(path, by).items()}
        assert shown == {k: (Decimal(v) / 1_000_000).quantize(CENT)
                         for k, v in expected[by].items()}, by
    conn = sqlite3.connect(path)
    active = conn.execute("SELECT COUNT(*) FROM customers WHERE merged_into IS NULL").fetchone()
    conn.close()
    assert active[0] == len(expected["customer"]) < old_customers

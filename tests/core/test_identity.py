"""Customers are advertisers (SPEC §1.2): the bill-code rule, the resolver's precedence, and
imports checked against an independent reading of the workbook."""

from __future__ import annotations

import sqlite3
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from tests.core.handmade import spot_row, write_workbook
from tests.core.independent import advertiser_and_agency, sums_by_identity

from bookedbiz.db.connection import create_db_engine
from bookedbiz.ingest.service import import_workbook
from bookedbiz.reports.customer_detail import customer_header, customer_total
from bookedbiz.reports.filters import ReportFilters
from bookedbiz.reports.revenue import revenue_by, revenue_total
from bookedbiz.vocab import name_key, parse_bill_code

CENT = Decimal("0.01")
TODAY = date(2025, 5, 1)

segment = st.text(
    alphabet=st.characters(min_codepoint=65, max_codepoint=122, categories=("Lu", "Ll")),
    min_size=1, max_size=12,
)


@given(st.lists(segment, min_size=0, max_size=2), segment,
       st.sampled_from(["", " PRODUCTION", " PROD", "- PROD", " (Broker Fees - DO NOT INVOICE)",
                        " CREDIT MEMO"]),
       st.sampled_from(["", " ", "  "]))
def test_the_last_segment_is_the_customer(agencies: list[str], customer: str, suffix: str,
                                          pad: str) -> None:
    raw = pad + (pad + ":" + pad).join([*agencies, customer + suffix]) + pad
    parts = parse_bill_code(raw)
    assert parts.customer == customer
    assert parts.agency == (":".join(agencies) or None)
    assert advertiser_and_agency(raw) == (customer.lower(), ":".join(agencies).lower()
                                          or "(direct)")


def test_bill_code_examples() -> None:
    assert parse_bill_code("Admerasia:McDonalds") == ("McDonalds", "Admerasia")
    assert parse_bill_code("Acme  Foods PRODUCTION ") == ("Acme Foods", None)
    assert parse_bill_code("A1:A2:Cust - PROD") == ("Cust", "A1:A2")
    assert parse_bill_code("A1 : Cust (Broker Fees  - DO NOT INVOICE)") == ("Cust", "A1")
    assert parse_bill_code("WorldLink Broker Fees (DO NOT INVOICE)") == (
        "WorldLink Broker Fees", None)
    assert parse_bill_code("Acme Productions") == ("Acme Productions", None)
    assert name_key("  ACME   foods ") == name_key("Acme Foods")


# An advertiser bought through two agencies (one two-segment) and direct, with casing, spacing,
# invoice-tag and production-suffix drift; amounts with fractions of a cent.
ACME_CODES = (
    "Agency A:Acme Foods", "Agency B:ACME FOODS", "acme  foods PRODUCTION",
    "Agency A:Acme Foods (Broker Fees - DO NOT INVOICE)", "Agency B : Acme Foods CREDIT MEMO",
    "Agency A:Sub Agency:Acme Foods - PROD", "AGENCY A:acme foods",
)


def _rows() -> list[list[object]]:
    rows = []
    for n, code in enumerate(ACME_CODES * 3):
        rows.append(spot_row(bill_code=code, gross_rate=100.005 + n * 7.333333,
                             station_net=85.0042 + n, sales_person=("Ann Lee", "Bo Chan")[n % 2],
                             market=("SEA", "LAX")[n % 2]))
    rows += [spot_row(bill_code="Beta Corp", gross_rate=50.125),
             spot_row(bill_code="Agency A:Beta Corp", gross_rate=19.995),
             spot_row(bill_code="Agency B:Acme Foods", gross_rate=999.0, revenue_type="Trade")]
    return rows


@pytest.fixture()
def acme_db(db_path: Path, tmp_path: Path) -> tuple[Path, Path]:
    book = write_workbook(tmp_path / "acme.xlsx", {"Commercials": _rows()})
    result = import_workbook(db_path, book, mode="historical", closed_by="Fin", today=TODAY)
    assert result.success and result.rows_rejected == 0
    return db_path, book


def _by(db: Path | str, by: str, filters: ReportFilters | None = None) -> dict[str, dict]:
    from bookedbiz.db.access import Database

    database = Database(db)  # a SQLite file or a PostgreSQL URL
    try:
        with database.reading() as conn:
            return {str(r[by]): r for r in revenue_by(conn, by, filters or ReportFilters())}
    finally:
        database.dispose()


def test_one_advertiser_through_two_agencies_and_direct_is_one_customer(acme_db) -> None:
    db, book = acme_db
    conn = sqlite3.connect(db)
    customers = conn.execute("SELECT customer_id, name FROM customers ORDER BY name").fetchall()
    assert [name for _, name in customers] == ["Acme Foods", "Beta Corp"]
    acme_id = customers[0][0]
    exact_gross, exact_net, count = conn.execute(
        "SELECT SUM(gross_rate_micros), SUM(station_net_micros), COUNT(*) FROM spots "
        "WHERE customer_id = ? AND is_trade = 0", (acme_id,)).fetchone()
    assert count == len(ACME_CODES) * 3
    agencies = {name for (name,) in conn.execute("SELECT name FROM agencies")}
    assert agencies == {"Agency A", "Agency B", "Agency A:Sub Agency"}
    unused = conn.execute("SELECT COUNT(*) FROM customers WHERE agency_id IS NOT NULL")
    assert unused.fetchone() == (0,)
    conn.close()
    want = (Decimal(exact_gross) / 1_000_000).quantize(CENT)
    assert _by(db, "customer")["Acme Foods"]["gross"] == want
    assert _by(db, "customer")["Acme Foods"]["net"] == (Decimal(exact_net) / 1_000_000).quantize(
        CENT)
    engine = create_db_engine(db, readonly=True)
    with engine.connect() as read:
        assert customer_total(read, acme_id, ReportFilters())["gross"] == want
        # the agencies it bought through come from its spots
        assert customer_header(read, acme_id)["agency"] == (
            "Agency A, Agency A:Sub Agency, Agency B")
    engine.dispose()
    independent = sums_by_identity(book, "customer")
    assert independent["acme foods"]["gross"].quantize(CENT) == want
    assert independent["acme foods"]["spots"] == count


def test_agency_breakdown_matches_an_independent_sum(acme_db) -> None:
    db, book = acme_db
    shown = {name_key(k): v for k, v in _by(db, "agency").items()}
    expected = sums_by_identity(book, "agency")
    assert set(shown) == set(expected)
    for agency, sums in expected.items():
        assert shown[agency]["gross"] == sums["gross"].quantize(CENT), agency
        assert shown[agency]["net"] == sums["net"].quantize(CENT), agency
        assert shown[agency]["spots"] == sums["spots"], agency


def test_generated_log_agencies_and_customers_match_an_independent_sum(
        database: str, workbooks) -> None:
    book = workbooks["recap"]
    result = import_workbook(database, book, mode="historical", closed_by="Fin", today=TODAY)
    assert result.success
    for by in ("agency", "customer"):
        shown = {name_key(k): v for k, v in _by(database, by).items()}
        expected = sums_by_identity(book, by)
        assert set(shown) == set(expected), by
        for key, sums in expected.items():
            assert shown[key]["gross"] == sums["gross"].quantize(CENT), (by, key)
            assert shown[key]["spots"] == sums["spots"], (by, key)
    from bookedbiz.db.access import Database

    db = Database(database)
    with db.reading() as conn:
        total = revenue_total(conn, ReportFilters())["gross"]
    db.dispose()
    assert total == sum((s["gross"] for s in sums_by_identity(book, "agency").values()),
                        Decimal(0)).quantize(CENT)


def test_precedence_raw_alias_then_name_alias_then_name(db_path: Path, tmp_path: Path) -> None:
    first = write_workbook(tmp_path / "one.xlsx", {"Commercials": [
        spot_row(bill_code="Agency A:Acme Foods"), spot_row(bill_code="Zeta Labs"),
        spot_row(bill_code="Agency Q:Omega"), spot_row(bill_code="Agency R:Omega")]})
    import_workbook(db_path, first, mode="historical", closed_by="Fin", today=TODAY)
    conn = sqlite3.connect(db_path)
    ids = dict(conn.execute("SELECT name, customer_id FROM customers"))
    agency_ids = dict(conn.execute("SELECT name, agency_id FROM agencies"))
    with conn:
        # an alias on one raw bill code beats the advertiser's own name...
        conn.execute("INSERT INTO customer_aliases (alias_key, alias_text, kind, customer_id, "
                     "created_by, created_at) VALUES ('agency b:acme foods', "
                     "'Agency B:Acme Foods', 'bill_code', ?, 't', 'now')", (ids["Zeta Labs"],))
        # ...and an alias on an advertiser name sends every agency's spelling to its target
        conn.execute("INSERT INTO customer_aliases (alias_key, alias_text, kind, customer_id, "
                     "created_by, created_at) VALUES ('acme food', 'Acme Food', 'name', ?, 't', "
                     "'now')", (ids["Acme Foods"],))
        # an inactive alias is ignored
        conn.execute("INSERT INTO customer_aliases (alias_key, alias_text, kind, customer_id, "
                     "is_active, created_by, created_at) VALUES ('omega', 'Omega', 'name', ?, 0, "
                     "'t', 'now')", (ids["Zeta Labs"],))
        # agencies: a merged agency resolves to its survivor, and aliases work the same way
        conn.execute("UPDATE agencies SET merged_into = ?, is_active = 0 WHERE agency_id = ?",
                     (agency_ids["Agency Q"], agency_ids["Agency R"]))
        conn.execute("INSERT INTO agency_aliases (alias_key, alias_text, kind, agency_id, "
                     "created_by, created_at) VALUES ('agency aa', 'Agency AA', 'name', ?, 't', "
                     "'now')", (agency_ids["Agency A"],))
        conn.execute("INSERT INTO agency_aliases (alias_key, alias_text, kind, agency_id, "
                     "created_by, created_at) VALUES ('worldlink fees', 'WorldLink Fees', "
                     "'bill_code', ?, 't', 'now')", (agency_ids["Agency Q"],))
    second = write_workbook(tmp_path / "two.xlsx", {"Commercials": [
        spot_row(bill_code="Agency B:Acme Foods", broadcast_month=date(2025, 4, 1),
                 air_date=date(2025, 4, 1), end_date=date(2025, 4, 1)),
        spot_row(bill_code="Agency C:ACME FOOD", broadcast_month=date(2025, 4, 1),
                 air_date=date(2025, 4, 2), end_date=date(2025, 4, 2)),
        spot_row(bill_code="Agency AA:omega", broadcast_month=date(2025, 4, 1),
                 air_date=date(2025, 4, 3), end_date=date(2025, 4, 3)),
        spot_row(bill_code="Agency R:Omega", broadcast_month=date(2025, 4, 1),
                 air_date=date(2025, 4, 4), end_date=date(2025, 4, 4)),
        spot_row(bill_code="WorldLink Fees", broadcast_month=date(2025, 4, 1),
                 air_date=date(2025, 4, 5), end_date=date(2025, 4, 5)),
    ]})
    import_workbook(db_path, second, mode="historical", closed_by="Fin", today=TODAY)
    got = dict(((b, (c, a)) for b, c, a in conn.execute(
        "SELECT s.bill_code, c.name, a.name FROM spots s JOIN customers c USING (customer_id) "
        "LEFT JOIN agencies a ON a.agency_id = s.agency_id WHERE s.broadcast_month = '2025-04'")))
    conn.close()
    assert got == {
        "Agency B:Acme Foods": ("Zeta Labs", "Agency B"),
        "Agency C:ACME FOOD": ("Acme Foods", "Agency C"),
        "Agency AA:omega": ("Omega", "Agency A"),
        "Agency R:Omega": ("Omega", "Agency Q"),
        "WorldLink Fees": ("WorldLink Fees", "Agency Q"),
    }


def test_mixed_case_spelling_replaces_a_flat_one(db_path: Path, tmp_path: Path) -> None:
    book = write_workbook(tmp_path / "c.xlsx", {"Commercials": [
        spot_row(bill_code="AGENCY A:ACME FOODS"), spot_row(bill_code="Agency A:Acme Foods")]})
    import_workbook(db_path, book, mode="historical", closed_by="Fin", today=TODAY)
    conn = sqlite3.connect(db_path)
    assert conn.execute("SELECT name FROM customers").fetchall() == [("Acme Foods",)]
    assert conn.execute("SELECT name FROM agencies").fetchall() == [("Agency A",)]
    conn.close()

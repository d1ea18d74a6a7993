"""Reports that say up or down, checked against independent sums over the spots table: the
customers page (last year, change, status, lost customers), the customer detail (lifetime,
air dates, primary AE, paged spots, a date range), breakdowns with last year and the language ×
market table, and the month basis on pages and the API."""

from __future__ import annotations

import sqlite3
from decimal import ROUND_HALF_EVEN, Decimal
from pathlib import Path

from tests.web.conftest import YEAR, page_csv

from bookedbiz import users


def money(micros: int | None) -> Decimal:
    return (Decimal(micros or 0) / Decimal(1_000_000)).quantize(Decimal("0.01"), ROUND_HALF_EVEN)


def dec(text: str) -> Decimal:
    return Decimal(text or "0")


def spots_by(db: Path, key_sql: str, year: int, month_sql: str = "s.broadcast_month",
             join: str = "") -> dict:
    """key → exact gross micros of the year's non-Trade spots, straight from ``spots``."""
    conn = sqlite3.connect(db)
    try:
        return {k: g for k, g in conn.execute(
            f"SELECT {key_sql}, COALESCE(SUM(s.gross_rate_micros), 0) FROM spots s {join} "
            f"WHERE s.is_trade = 0 AND {month_sql} BETWEEN ? AND ? GROUP BY 1",
            (f"{year}-01", f"{year}-12"))}
    finally:
        conn.close()


_CUSTOMER_AE = ("c.name || ' / ' || a.name",
                "JOIN customers c ON c.customer_id = s.customer_id JOIN aes a ON a.ae_id = s.ae_id")


def test_customers_page_last_year_change_status_and_lost(base_db: Path, clients) -> None:  # noqa: ANN001
    this_year = spots_by(base_db, _CUSTOMER_AE[0], YEAR, join=_CUSTOMER_AE[1])
    last_year = spots_by(base_db, _CUSTOMER_AE[0], YEAR - 1, join=_CUSTOMER_AE[1])
    rows = page_csv(clients["manager"], "/reports/customers/", {"year": YEAR})
    body = rows[:-1]
    assert list(body[0])[:3] == ["Customer", str(YEAR), "Last year"]
    seen = set()
    for row in body:
        key = f"{row['Customer']} / {row['AE']}"
        seen.add(key)
        assert dec(row[str(YEAR)]) == money(this_year[key]) == dec(row["Total"]), key
        assert dec(row["Last year"]) == money(last_year.get(key)), key
        assert dec(row["Change"]) == money(this_year[key] - (last_year.get(key) or 0)), key
        now, before = this_year[key], last_year.get(key) or 0
        if row["Status"] != "new":
            assert row["Status"] == ("up" if now > before else "down" if now < before
                                     else "flat"), key
    assert seen == set(this_year)
    assert {r["Status"] for r in body} >= {"new", "up", "down"}
    lost = page_csv(clients["manager"], "/reports/customers/", {"year": YEAR}, "lost")
    expected_lost = set(last_year) - set(this_year)
    assert expected_lost
    assert {f"{r['Customer']} / {r['AE']}" for r in lost} == expected_lost
    for row in lost:
        assert dec(row["Last year"]) == money(last_year[f"{row['Customer']} / {row['AE']}"])
    totals = rows[-1]
    assert dec(totals["Last year"]) == money(sum(last_year[k] for k in this_year
                                                 if k in last_year))
    html = clients["manager"].get("/reports/customers/", query_string={
        "year": YEAR, "status": "lost"}).get_data(as_text=True)
    assert 'data-card="lost"' in html


def _top_customer(db: Path) -> tuple[int, str]:
    conn = sqlite3.connect(db)
    try:
        return conn.execute(
            "SELECT c.customer_id, c.name FROM spots s JOIN customers c ON c.customer_id = "
            "s.customer_id WHERE s.is_trade = 0 GROUP BY 1 ORDER BY COUNT(*) DESC LIMIT 1"
        ).fetchone()
    finally:
        conn.close()


def test_customer_detail_whole_report(base_db: Path, clients) -> None:  # noqa: ANN001
    customer_id, _name = _top_customer(base_db)
    conn = sqlite3.connect(base_db)
    gross, spots, first, last = conn.execute(
        "SELECT SUM(gross_rate_micros), COUNT(*), MIN(air_date), MAX(air_date) FROM spots "
        "WHERE customer_id = ? AND is_trade = 0", (customer_id,)).fetchone()
    primary = conn.execute(
        "SELECT a.name FROM spots s JOIN aes a ON a.ae_id = s.ae_id WHERE s.customer_id = ? "
        "AND s.is_trade = 0 GROUP BY s.ae_id ORDER BY SUM(s.gross_rate_micros) DESC LIMIT 1",
        (customer_id,)).fetchone()[0]
    agencies = {n for (n,) in conn.execute(
        "SELECT DISTINCT COALESCE(ag.name, '(direct)') FROM spots s LEFT JOIN agencies ag ON "
        "ag.agency_id = s.agency_id WHERE s.customer_id = ? AND s.is_trade = 0 AND "
        "s.broadcast_month LIKE ?", (customer_id, f"{YEAR}-%"))}
    newest = conn.execute(
        "SELECT bill_code, air_date FROM spots WHERE customer_id = ? AND is_trade = 0 "
        "ORDER BY broadcast_month DESC, air_date DESC, spot_id DESC LIMIT 30",
        (customer_id,)).fetchall()
    conn.close()
    path = f"/reports/customers/{customer_id}"
    html = clients["viewer"].get(path, query_string={"year": YEAR}).get_data(as_text=True)
    dollars = money(gross).quantize(Decimal(1), ROUND_HALF_EVEN)  # the screen's whole dollars
    assert f'data-card="gross">${dollars:,}<' in html
    assert f'data-card="spots">{spots:,}<' in html
    assert f'data-card="aired">{first}<' in html and f"to {last}" in html
    assert f'data-card="primary-ae">{primary}<' in html
    assert 'data-card="yoy"' in html
    by_agency = page_csv(clients["viewer"], path, {"year": YEAR}, "by-agency")
    assert {r["Agency"] for r in by_agency[:-1]} == agencies
    page1 = page_csv(clients["viewer"], path, {"year": YEAR}, "recent")
    page2 = page_csv(clients["viewer"], path, {"year": YEAR, "page": 2}, "recent")
    assert len(page1) == 25
    assert [(r["Bill code"], r["Air date"]) for r in page1 + page2[:5]] == [
        tuple(n) for n in newest]
    months = page_csv(clients["viewer"], path, {"year": YEAR, "from": f"{YEAR}-02",
                                                 "to": f"{YEAR}-03"}, "history")
    assert [r["Year"] for r in months] == [str(YEAR)]
    assert all(not months[0][m] for m in ("Jan", "Apr", "May"))
    bad = clients["viewer"].get(path, query_string={"from": "yesterday"})
    assert bad.status_code == 400
    assert "needs months like 2025-01" in bad.get_data(as_text=True)


def test_breakdown_last_year_market_names_and_language_market(base_db: Path, clients  # noqa: ANN001
                                                              ) -> None:
    this_year = spots_by(base_db, "s.market_code", YEAR)
    last_year = spots_by(base_db, "s.market_code", YEAR - 1)
    rows = page_csv(clients["viewer"], "/reports/breakdowns/market", {"year": YEAR})
    body, total = rows[:-1], rows[-1]
    names = dict(sqlite3.connect(base_db).execute("SELECT code, name FROM markets"))
    for row in body:
        code = row["Market"]
        assert row["Name"] == names.get(code, "")
        assert dec(row[f"{YEAR - 1} gross"]) == money(last_year.get(code))
        assert dec(row["Change"]) == money(this_year[code] - (last_year.get(code) or 0))
        assert int(row["Customers"]) > 0 and row["Largest customer"]
    assert dec(total[f"{YEAR - 1} gross"]) == money(sum(last_year.values()))
    html = clients["viewer"].get("/reports/breakdowns/market",
                                 query_string={"year": YEAR}).get_data(as_text=True)
    assert f"/reports/customers/?year={YEAR}&amp;market={body[0]['Market']}" in html
    matrix = page_csv(clients["viewer"], "/reports/breakdowns/language", {"year": YEAR},
                      "language-market")
    assert dec(matrix[-1]["Total"]) == money(sum(this_year.values()))
    for code, gross in this_year.items():
        assert dec(matrix[-1][code or "(none)"]) == money(gross)


def test_month_basis_on_pages_and_api(base_db: Path, db_copy: Path, clients, app) -> None:  # noqa: ANN001
    calendar = spots_by(base_db, "substr(s.air_date, 1, 7)", YEAR,
                        month_sql="substr(s.air_date, 1, 7)")
    billing_month = ("CASE WHEN s.billing_type = 'Calendar' THEN substr(s.air_date, 1, 7) "
                     "ELSE s.broadcast_month END")
    billing = spots_by(base_db, billing_month, YEAR, month_sql=billing_month)
    broadcast = spots_by(base_db, "s.broadcast_month", YEAR)
    # (Calendar-billed spots already carry their calendar month in the Month column here, so
    # the billing basis may equal the broadcast one; the calendar basis must not.)
    assert calendar != broadcast
    for basis, expected in (("calendar", calendar), ("billing", billing),
                            ("broadcast", broadcast)):
        rows = page_csv(clients["viewer"], "/reports/customers/", {"year": YEAR,
                                                                    "basis": basis})
        total = rows[-1]
        assert dec(total["Total"]) == money(sum(expected.values())), basis
        by_month = page_csv(clients["viewer"], "/reports/breakdowns/market",
                            {"year": YEAR, "basis": basis})
        assert dec(by_month[-1]["Gross"]) == money(sum(expected.values())), basis
    _token_id, token = users.create_token(db_copy, "viewer", "sheet")
    from tests.web.conftest import make_app

    client = make_app(db_copy).test_client()
    answer = client.get("/api/v1/revenue", query_string={"by": "month", "year": YEAR,
                                                         "basis": "calendar"},
                        headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 200
    data = answer.get_json()
    rows = data.get("rows", data.get("data"))
    assert {r["month"]: Decimal(str(r["gross"])) for r in rows} == {
        m: money(g) for m, g in calendar.items()}
    bad = client.get("/api/v1/revenue", query_string={"basis": "lunar"},
                     headers={"Authorization": f"Bearer {token}"})
    assert bad.status_code == 400 and "month basis" in bad.get_data(as_text=True)


def test_sector_and_class_filters_reach_every_report(clients) -> None:  # noqa: ANN001
    for path in ("/reports/", "/reports/customers/", "/reports/aes/",
                 "/reports/breakdowns/sector", "/reports/breakdowns/class"):
        response = clients["viewer"].get(path, query_string={
            "year": YEAR, "sector": "(none)", "revenue_class": "regular"})
        assert response.status_code == 200, path
        assert 'name="sector"' in response.get_data(as_text=True), path
    bad = clients["viewer"].get("/reports/customers/", query_string={
        "revenue_class": "sometimes"})
    assert bad.status_code == 400


def test_ae_page_compares_closed_months_on_the_same_basis(base_db: Path, clients) -> None:  # noqa: ANN001
    """A closed year under the calendar basis is compared with last year's calendar months."""
    closed_year = YEAR - 1
    month_sql = "substr(s.air_date, 1, 7)"
    by_ae = ("a.name", "JOIN aes a ON a.ae_id = s.ae_id")
    expected = spots_by(base_db, by_ae[0], closed_year - 1, month_sql=month_sql, join=by_ae[1])
    current = spots_by(base_db, by_ae[0], closed_year, month_sql=month_sql, join=by_ae[1])
    rows = page_csv(clients["manager"], "/reports/aes/", {"year": closed_year,
                                                           "basis": "calendar"})
    for row in rows[:-1]:
        assert dec(row["Total"]) == money(current.get(row["AE"])), row["AE"]
        assert dec(row["STLY / final"]) == money(expected.get(row["AE"])), row["AE"]


def test_an_ae_sees_only_their_own_book_in_the_new_tables(base_db: Path, clients) -> None:  # noqa: ANN001
    from tests.web.conftest import ae_of_user

    own = ae_of_user(base_db)
    client = clients["ae"]
    lost = page_csv(client, "/reports/customers/", {"year": YEAR}, "lost")
    rows = page_csv(client, "/reports/customers/", {"year": YEAR})
    assert {r["AE"] for r in lost + rows[:-1]} <= {own}
    mine = spots_by(base_db, "a.name", YEAR, join="JOIN aes a ON a.ae_id = s.ae_id")[own]
    for dimension in ("market", "sector", "class"):
        total = page_csv(client, f"/reports/breakdowns/{dimension}", {"year": YEAR})[-1]
        assert dec(total["Gross"]) == money(mine), dimension
    matrix = page_csv(client, "/reports/breakdowns/language", {"year": YEAR},
                      "language-market")
    assert dec(matrix[-1]["Total"]) == money(mine)

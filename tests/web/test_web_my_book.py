"""My book and the team scoreboard (issue 13.3): an AE lands on their own book and every figure
on it equals an independent computation (sqlite3 over their spots, or the pacing/changes
functions under their scope); another AE's book is refused; a manager lands on the scoreboard
with every AE and can open any AE's book; the account page keeps digest subscriptions without
ever showing a target URL back in full."""

from __future__ import annotations

import csv
import io
import re
import sqlite3
from datetime import date
from decimal import ROUND_HALF_EVEN, Decimal
from pathlib import Path

import pytest
from flask.testing import FlaskClient
from tests.web.conftest import ae_of_user, csrf_token, login, make_app

from bookedbiz import broadcast_calendar as bc
from bookedbiz.db.connection import create_db_engine
from bookedbiz.reports.changes import changes_report
from bookedbiz.reports.filters import ReportFilters
from bookedbiz.reports.my_book import import_window
from bookedbiz.reports.pacing import pacing_report

CENT = Decimal("0.01")


def cents(micros: int | None) -> Decimal:
    return (Decimal(int(micros or 0)) / Decimal(1_000_000)).quantize(CENT, ROUND_HALF_EVEN)


def money(text: str) -> Decimal:
    text = text.strip()
    return Decimal("0.00") if text in ("", "–", "-") else Decimal(text.replace(",", ""))


@pytest.fixture(scope="module")
def sql(base_db: Path):  # noqa: ANN201
    conn = sqlite3.connect(f"file:{base_db}?mode=ro", uri=True)
    yield conn
    conn.close()


@pytest.fixture(scope="module")
def reader(base_db: Path):  # noqa: ANN201
    engine = create_db_engine(base_db, readonly=True)
    with engine.connect() as conn:
        yield conn
    engine.dispose()


@pytest.fixture(scope="module")
def own_ae(base_db: Path, sql) -> tuple[int, str]:  # noqa: ANN001
    name = ae_of_user(base_db)
    return sql.execute("SELECT ae_id FROM aes WHERE name = ?", (name,)).fetchone()[0], name


@pytest.fixture(scope="module")
def as_of(sql) -> date:  # noqa: ANN001
    return date.fromisoformat(sql.execute("SELECT MAX(as_of) FROM history_records").fetchone()[0])


def export_rows(client: FlaskClient, url: str, table: str) -> list[dict[str, str]]:
    sep = "&" if "?" in url else "?"
    response = client.get(f"{url}{sep}format=csv&table={table}")
    assert response.status_code == 200, (url, table, response.status_code)
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    totals = ("Year", "Total", "Added", "Net change (all kinds)", "Company")
    return [r for r in rows if next(iter(r.values())) not in totals]


def card(html: str, name: str) -> str:
    """A summary card's exact value (its data-value; the card itself may show whole dollars)."""
    match = re.search(rf'data-card="{name}" data-value="([^"]*)"', html)
    assert match, name
    return match.group(1)


def test_each_role_lands_on_its_own_page(app, clients) -> None:  # noqa: ANN001
    for role, where in (("ae", "/my-book"), ("manager", "/scoreboard"),
                        ("admin", "/scoreboard")):
        client = app.test_client()
        response = login(client, role)
        assert response.status_code == 302 and response.headers["Location"] == where, role
    # a page asked for still wins, and / still sends everyone to /reports/ (the seeds' check)
    client = app.test_client()
    page = client.get("/login?next=/reports/")
    assert page.status_code == 200
    anonymous = app.test_client().get("/")
    assert anonymous.status_code == 302 and anonymous.headers["Location"] == "/reports/"
    assert clients["ae"].get("/").headers["Location"] == "/reports/"
    nav = clients["ae"].get("/my-book").get_data(as_text=True)
    assert 'href="/my-book"' in nav and 'href="/scoreboard"' not in nav
    nav = clients["manager"].get("/scoreboard").get_data(as_text=True)
    assert 'href="/scoreboard"' in nav


def test_my_book_months_equal_their_spots_and_the_pacing_function(
        clients, sql, reader, own_ae, as_of) -> None:  # noqa: ANN001
    ae_id, _name = own_ae
    client = clients["ae"]
    year = bc.split_month(bc.broadcast_month_of(as_of))[0]
    rows = export_rows(client, "/my-book", "months")
    assert [r["Month"] for r in rows] == [bc.label(m) for m in bc.months_of_year(year)]
    # booked as of the newest import = their spots as they stand (sqlite3, Trade excluded)
    spots = dict(sql.execute(
        "SELECT broadcast_month, SUM(gross_rate_micros) FROM spots WHERE ae_id = ? "
        "AND is_trade = 0 AND broadcast_month BETWEEN ? AND ? GROUP BY 1",
        (ae_id, f"{year}-01", f"{year}-12")).fetchall())
    for month, row in zip(bc.months_of_year(year), rows, strict=True):
        assert money(row["Booked"]) == cents(spots.get(month)), month
    budgets = dict(sql.execute(
        "SELECT broadcast_month, gross_micros FROM budgets WHERE ae_id = ?", (ae_id,)).fetchall())
    forecasts = dict(sql.execute(
        "SELECT broadcast_month, gross_micros FROM forecasts WHERE ae_id = ?",
        (ae_id,)).fetchall())
    for month, row in zip(bc.months_of_year(year), rows, strict=True):
        expected_budget = cents(budgets[month]) if month in budgets else Decimal("0.00")
        assert money(row["Budget"]) == expected_budget, month
        expected_forecast = cents(forecasts[month]) if month in forecasts else Decimal("0.00")
        assert money(row["Forecast"]) == expected_forecast, month
    assert sum(1 for m in budgets if m.startswith(str(year))) > 0  # the test can fail
    # STLY, pace, pipeline, last year: the pacing function under their scope
    report = pacing_report(reader, as_of=as_of, first=f"{year}-01", last=f"{year}-12",
                           filters=ReportFilters(scope_ae_id=ae_id))
    for expected, row in zip(report["month_totals"], rows, strict=True):
        assert money(row["STLY"]) == expected["stly_gross"]
        assert money(row["Pipeline"]) == expected["pipeline_gross"]
        assert money(row["Last year final"]) == expected["last_year_gross"]
    html = client.get("/my-book").get_data(as_text=True)
    total = report["total"]
    assert money(card(html, "booked")) == total["booked_gross"] == cents(sum(spots.values()))
    assert money(card(html, "stly")) == total["stly_gross"]
    assert money(card(html, "pipeline")) == total["pipeline_gross"]
    assert Decimal(card(html, "pace")) == total["pace"]
    # the whole station is bigger: the page is not showing everyone's book
    station = sql.execute("SELECT SUM(gross_rate_micros) FROM spots WHERE is_trade = 0 AND "
                          "broadcast_month BETWEEN ? AND ?",
                          (f"{year}-01", f"{year}-12")).fetchone()[0]
    assert cents(station) > total["booked_gross"]


def test_accounts_at_risk_new_business_and_accounts(clients, sql, reader, own_ae,
                                                    as_of) -> None:  # noqa: ANN001
    ae_id, _name = own_ae
    client = clients["ae"]
    closed = [m for (m,) in sql.execute(
        "SELECT broadcast_month FROM month_closures WHERE broadcast_month <= ? "
        "ORDER BY broadcast_month DESC LIMIT 3", (bc.broadcast_month_of(as_of),))]
    ahead, month = [], bc.broadcast_month_of(as_of)
    closed_all = {m for (m,) in sql.execute("SELECT broadcast_month FROM month_closures")}
    while len(ahead) < 2:
        if month not in closed_all:
            ahead.append(month)
        month = bc.shift_month(month, 1)
    per_customer: dict[str, list[int]] = {}
    for name, month, gross in sql.execute(
            "SELECT c.name, s.broadcast_month, SUM(s.gross_rate_micros) FROM spots s "
            "JOIN customers c ON c.customer_id = s.customer_id WHERE s.ae_id = ? "
            "AND s.is_trade = 0 GROUP BY 1, 2", (ae_id,)):
        pair = per_customer.setdefault(name, [0, 0])
        if month in closed:
            pair[0] += gross or 0
        elif month in ahead:
            pair[1] += gross or 0
    expected = {name: cents(r) for name, (r, a) in per_customer.items() if r > 0 and a <= 0}
    rows = export_rows(client, "/my-book", "at_risk")
    assert {r["Customer"]: money(r["Last 3 closed months"]) for r in rows} == expected
    assert expected, "the test data has an account at risk"
    # new business since the last import: the changes function under their scope
    window = import_window(reader, as_of)
    changes = changes_report(reader, since=window[0], until=window[1],
                             filters=ReportFilters(scope_ae_id=ae_id))
    wanted = [r for r in changes["rows"] if r["change"] in ("added", "increased")]
    got = export_rows(client, "/my-book", "new_business")
    assert [(r["Customer"], money(r["Gross change"])) for r in got] == [
        (r["customer"], r["gross_change"]) for r in wanted]
    assert all(r["ae"] == own_ae[1] for r in changes["rows"])
    # top accounts: this year's total of each equals the sum of their own spots for it
    year = bc.split_month(bc.broadcast_month_of(as_of))[0]
    top = export_rows(client, "/my-book", "top")
    assert top
    for row in top:
        micros = sql.execute(
            "SELECT SUM(s.gross_rate_micros) FROM spots s JOIN customers c ON "
            "c.customer_id = s.customer_id WHERE c.name = ? AND s.ae_id = ? AND s.is_trade = 0 "
            "AND s.broadcast_month BETWEEN ? AND ?",
            (row["Customer"], ae_id, f"{year}-01", f"{year}-12")).fetchone()[0]
        assert money(row["This year"]) == cents(micros), row["Customer"]
    # every account links to its customer detail, and every one is in their book
    html = client.get("/my-book").get_data(as_text=True)
    linked = {int(c) for c in re.findall(r'href="/reports/customers/(\d+)', html)}
    assert linked
    theirs = {c for (c,) in sql.execute("SELECT DISTINCT customer_id FROM spots WHERE ae_id = ?",
                                        (ae_id,))}
    assert linked <= theirs


def test_another_aes_book_is_refused(clients, sql, own_ae) -> None:  # noqa: ANN001
    ae_id, _name = own_ae
    other_id, other_name = sql.execute(
        "SELECT a.ae_id, a.name FROM aes a JOIN spot_summary s ON s.ae_id = a.ae_id "
        "WHERE a.ae_id <> ? GROUP BY a.ae_id ORDER BY SUM(s.gross_micros) DESC LIMIT 1",
        (ae_id,)).fetchone()
    client = clients["ae"]
    refused = client.get(f"/my-book?ae={other_id}")
    assert refused.status_code == 403
    assert other_name not in refused.get_data(as_text=True)
    for url in (f"/my-book?ae={other_id}&format=csv&table=months", "/scoreboard",
                "/scoreboard?format=csv&table=scoreboard"):
        assert client.get(url).status_code == 403, url
    own = client.get(f"/my-book?ae={ae_id}")
    assert own.status_code == 200 and other_name not in own.get_data(as_text=True)
    assert client.get("/my-book?ae=abc").status_code == 400


def test_manager_scoreboard_has_every_ae_and_opens_any_book(clients, sql, reader,
                                                            as_of) -> None:  # noqa: ANN001
    client = clients["manager"]
    year = bc.split_month(bc.broadcast_month_of(as_of))[0]
    rows = export_rows(client, "/scoreboard", "scoreboard")
    with_business = {name for (name,) in sql.execute(
        "SELECT DISTINCT a.name FROM spots s JOIN aes a ON a.ae_id = s.ae_id "
        "WHERE s.is_trade = 0 AND s.broadcast_month BETWEEN ? AND ?",
        (f"{year}-01", f"{year}-12"))}
    assert with_business and with_business <= {r["AE"] for r in rows}
    html = client.get("/scoreboard").get_data(as_text=True)
    for row in rows:
        ae_id = sql.execute("SELECT ae_id FROM aes WHERE name = ?", (row["AE"],)).fetchone()[0]
        booked = sql.execute(
            "SELECT SUM(gross_rate_micros) FROM spots WHERE ae_id = ? AND is_trade = 0 AND "
            "broadcast_month BETWEEN ? AND ?", (ae_id, f"{year}-01", f"{year}-12")).fetchone()[0]
        assert money(row["Booked"]) == cents(booked), row["AE"]
        total = pacing_report(reader, as_of=as_of, first=f"{year}-01", last=f"{year}-12",
                              filters=ReportFilters(scope_ae_id=ae_id))["total"]
        assert money(row["STLY"]) == total["stly_gross"]
        assert money(row["Budget"]) == (total["budget_gross"] or Decimal("0.00"))
        assert f'href="/my-book?ae={ae_id}"' in html  # the picker and the row link
        book = client.get(f"/my-book?ae={ae_id}")
        assert book.status_code == 200
        assert money(card(book.get_data(as_text=True), "booked")) == cents(booked)
    company = sql.execute("SELECT SUM(gross_rate_micros) FROM spots WHERE is_trade = 0 AND "
                          "broadcast_month BETWEEN ? AND ?",
                          (f"{year}-01", f"{year}-12")).fetchone()[0]
    assert money(card(html, "booked")) == cents(company)


def test_account_page_digest_subscriptions(db_copy: Path) -> None:
    client = make_app(db_copy).test_client()
    assert login(client, "ae").status_code == 302
    secret_url = "ntfys://ntfy.example.org/topic-Very-Secret-1234567"
    token = csrf_token(client)
    response = client.post("/account/digests", data={"kind": "weekly", "target": secret_url,
                                                     "csrf_token": token})
    assert response.status_code == 302
    page = client.get("/account").get_data(as_text=True)
    assert "topic-Very-Secret" not in page and "ntfys://ntfy.example.org/***" in page
    conn = sqlite3.connect(db_copy)
    stored = conn.execute("SELECT d.subscription_id, d.kind, d.target FROM "
                          "digest_subscriptions d JOIN users u USING (user_id) "
                          "WHERE u.username = 'ae'").fetchall()
    assert [(k, t) for _i, k, t in stored] == [("weekly", secret_url)]
    # bad input changes nothing: an unknown kind, a target that is not a URL
    for data in ({"kind": "hourly", "target": "email"}, {"kind": "daily", "target": "not a url"}):
        client.post("/account/digests", data={**data, "csrf_token": token})
    assert conn.execute("SELECT COUNT(*) FROM digest_subscriptions").fetchone()[0] == 1
    # nobody removes someone else's subscription
    other = make_app(db_copy).test_client()
    assert login(other, "viewer").status_code == 302
    other.post(f"/account/digests/{stored[0][0]}/remove",
               data={"csrf_token": csrf_token(other)})
    assert conn.execute("SELECT COUNT(*) FROM digest_subscriptions").fetchone()[0] == 1
    client.post(f"/account/digests/{stored[0][0]}/remove", data={"csrf_token": token})
    assert conn.execute("SELECT COUNT(*) FROM digest_subscriptions").fetchone()[0] == 0
    conn.close()

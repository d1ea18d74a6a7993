"""An AE user sees only their own book: every report page, export, filter list, customer detail
and API route (through their token), checked against an independent sum over their spots read
with sqlite3; another AE's book is refused or empty, never someone else's numbers."""

from __future__ import annotations

import csv
import io
import re
import sqlite3
from decimal import ROUND_HALF_EVEN, Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner
from flask import Flask
from flask.testing import FlaskClient
from tests.web.conftest import YEAR, login, make_app

from bookedbiz import permissions, users
from bookedbiz.cli.main import cli


def query(db: Path, sql: str, params: tuple = ()) -> list[tuple]:
    conn = sqlite3.connect(db)
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


def own_ae(db: Path) -> tuple[int, str]:
    return query(db, "SELECT a.ae_id, a.name FROM users u JOIN aes a ON a.ae_id = u.ae_id "
                     "WHERE u.username = 'ae'")[0]


def other_aes(db: Path) -> list[str]:
    ae_id, _ = own_ae(db)
    return [name for (name,) in query(
        db, "SELECT DISTINCT a.name FROM spots s JOIN aes a ON a.ae_id = s.ae_id "
            "WHERE s.ae_id != ? AND s.is_trade = 0", (ae_id,))]


def book_sum(db: Path, ae_id: int, year: int, column: str = "gross_rate_micros",
             where: str = "", params: tuple = ()) -> Decimal:
    """The exact sum of the AE's non-Trade spots in the year, rounded half-even once."""
    assert column in ("gross_rate_micros", "station_net_micros")
    (micros,) = query(
        db, f"SELECT COALESCE(SUM({column}), 0) FROM spots WHERE ae_id = ? AND is_trade = 0 "
            f"AND broadcast_month BETWEEN ? AND ? {where}",
        (ae_id, f"{year}-01", f"{year}-12", *params))[0]
    return (Decimal(micros) / 1_000_000).quantize(Decimal("0.01"), ROUND_HALF_EVEN)


def csv_rows(client: FlaskClient, path: str, **params: object) -> list[dict[str, str]]:
    response = client.get(path, query_string={**params, "format": "csv"})
    assert response.status_code == 200, (path, response.status_code)
    return list(csv.DictReader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))


def total_of(rows: list[dict[str, str]], label_column: str, label: str, column: str) -> Decimal:
    found = [r for r in rows if r[label_column] == label]
    assert found, (label, [r[label_column] for r in rows])
    return Decimal(found[-1][column] or "0")


@pytest.fixture(scope="module")
def ae_token(base_db: Path) -> str:
    return users.create_token(base_db, "ae", "my sheet")[1]


@pytest.fixture(scope="module")
def ae_api(app: Flask, ae_token: str):  # noqa: ANN201
    client = app.test_client()
    headers = {"Authorization": f"Bearer {ae_token}"}

    def get(path: str, **params: object):  # noqa: ANN202
        return client.get(path, query_string=params, headers=headers)

    return get


@pytest.mark.parametrize("year", [YEAR, YEAR - 1])
def test_report_pages_and_exports_are_the_own_book(base_db: Path, clients, year: int) -> None:
    ae_id, name = own_ae(base_db)
    client = clients["ae"]
    gross = book_sum(base_db, ae_id, year)
    net = book_sum(base_db, ae_id, year, "station_net_micros")
    assert gross > 0
    overview = csv_rows(client, "/reports/", year=year, table="months")
    assert total_of(overview, "Month", "Year total", "Gross") == gross
    assert total_of(overview, "Month", "Year total", "Net") == net
    customers = csv_rows(client, "/reports/customers/", year=year)
    assert {r["AE"] for r in customers if r["Customer"] != "Monthly totals"} == {name}
    assert total_of(customers, "Customer", "Monthly totals", "Total") == gross
    net_customers = csv_rows(client, "/reports/customers/", year=year, measure="net")
    assert total_of(net_customers, "Customer", "Monthly totals", "Total") == net
    aes = csv_rows(client, "/reports/aes/", year=year)
    assert [r["AE"] for r in aes if r["AE"] != "All AEs"] == [name]
    assert total_of(aes, "AE", "All AEs", "Total") == gross
    for dimension in ("market", "language", "revenue-type", "agency", "spot-type"):
        rows = csv_rows(client, f"/reports/breakdowns/{dimension}", year=year)
        first = next(iter(rows[0]))
        assert total_of(rows, first, "Total", "Gross") == gross, dimension
    market = query(base_db, "SELECT market_code FROM spots WHERE ae_id = ? AND is_trade = 0 "
                            "GROUP BY market_code ORDER BY COUNT(*) DESC LIMIT 1", (ae_id,))[0][0]
    filtered = csv_rows(client, "/reports/", year=year, table="months", market=market)
    assert total_of(filtered, "Month", "Year total", "Gross") == book_sum(
        base_db, ae_id, year, where="AND market_code = ?", params=(market,))


def test_xlsx_export_is_the_own_book(base_db: Path, clients) -> None:
    from openpyxl import load_workbook

    ae_id, name = own_ae(base_db)
    response = clients["ae"].get("/reports/customers/",
                                 query_string={"year": YEAR, "format": "xlsx"})
    assert response.status_code == 200
    book = load_workbook(io.BytesIO(response.data), read_only=True)
    cells = {str(c) for ws in book.worksheets for row in ws.iter_rows(values_only=True)
             for c in row if c is not None}
    assert name in cells
    assert not cells & set(other_aes(base_db))


def test_customer_detail_only_inside_the_book(base_db: Path, clients, ae_api) -> None:
    ae_id, _ = own_ae(base_db)
    mine = query(base_db, "SELECT customer_id FROM spots WHERE ae_id = ? AND is_trade = 0 "
                          "AND broadcast_month LIKE ? GROUP BY customer_id "
                          "ORDER BY SUM(gross_rate_micros) DESC LIMIT 1", (ae_id, f"{YEAR}-%"))
    (customer_id,) = mine[0]
    outside = query(base_db, "SELECT customer_id FROM customers WHERE customer_id NOT IN "
                             "(SELECT customer_id FROM spots WHERE ae_id = ?) LIMIT 1", (ae_id,))
    (stranger,) = outside[0]
    client = clients["ae"]
    assert client.get(f"/reports/customers/{customer_id}").status_code == 200
    assert client.get(f"/reports/customers/{stranger}").status_code == 404
    assert clients["viewer"].get(f"/reports/customers/{stranger}").status_code == 200
    assert ae_api(f"/api/v1/customers/{stranger}").status_code == 404
    history = ae_api(f"/api/v1/customers/{customer_id}").get_json()["data"]["history"]
    total = sum((Decimal(str(m["gross"])) for m in history if m["month"].startswith(str(YEAR))),
                Decimal(0))
    assert total == book_sum(base_db, ae_id, YEAR,
                             where="AND customer_id = ?", params=(customer_id,))
    rows = csv_rows(client, f"/reports/customers/{customer_id}", year=YEAR, table="by-ae")
    assert {r["AE"] for r in rows if r["AE"] != "Total"} == {own_ae(base_db)[1]}


def test_asking_for_another_ae_gives_nothing(base_db: Path, clients, ae_api) -> None:
    other = other_aes(base_db)[0]
    client = clients["ae"]
    overview = csv_rows(client, "/reports/", year=YEAR, table="months", ae=other)
    assert total_of(overview, "Month", "Year total", "Gross") == 0
    customers = csv_rows(client, "/reports/customers/", year=YEAR, ae=other)
    assert [r for r in customers if r["Customer"] != "Monthly totals"] == []
    assert [r for r in csv_rows(client, "/reports/aes/", year=YEAR, ae=other)
            if r["AE"] != "All AEs"] == []
    html = client.get("/reports/customers/", query_string={"year": YEAR, "ae": other})
    assert html.status_code == 200
    body = ae_api("/api/v1/revenue", by="customer", year=YEAR, ae=other).get_json()
    assert body["data"] == [] and Decimal(str(body["total"]["gross"])) == 0
    # a viewer asking for the same AE gets that AE's numbers: the emptiness is the scope
    assert total_of(csv_rows(clients["viewer"], "/reports/", year=YEAR, table="months",
                             ae=other), "Month", "Year total", "Gross") > 0


def test_filter_lists_offer_only_themselves(base_db: Path, clients, ae_api) -> None:
    _, name = own_ae(base_db)
    html = clients["ae"].get("/reports/", query_string={"year": YEAR}).get_data(as_text=True)
    for other in other_aes(base_db):
        assert other not in html
    assert name in html
    assert ae_api("/api/v1/filters", year=YEAR).get_json()["data"]["aes"] == [name]
    viewer_html = clients["viewer"].get("/reports/", query_string={"year": YEAR})
    assert all(other in viewer_html.get_data(as_text=True) for other in other_aes(base_db))


def test_every_api_route_is_the_own_book(base_db: Path, ae_api) -> None:
    ae_id, name = own_ae(base_db)
    gross = book_sum(base_db, ae_id, YEAR)
    for by in ("month", "ae", "customer", "market", "agency", "language", "revenue-type",
               "spot-type"):
        body = ae_api("/api/v1/revenue", by=by, year=YEAR).get_json()
        assert Decimal(str(body["total"]["gross"])) == gross, by
        assert body["filters"]["scope_ae_id"] == ae_id
    assert {r["ae"] for r in ae_api("/api/v1/revenue", by="ae", year=YEAR).get_json()["data"]
            } == {name}
    months = ae_api("/api/v1/overview", year=YEAR).get_json()["data"]
    assert sum((Decimal(str(m["gross"])) for m in months), Decimal(0)) == gross
    assert {r["ae"] for r in ae_api("/api/v1/customers", year=YEAR).get_json()["data"]} == {name}
    assert [r["ae"] for r in ae_api("/api/v1/aes", year=YEAR).get_json()["data"]] == [name]
    assert ae_api("/api/v1/months").status_code == 403  # station-wide month totals
    assert ae_api("/api/v1/imports").status_code == 403
    assert ae_api("/api/v1/me").get_json()["data"]["ae"] == name


def test_no_api_route_an_ae_token_may_use_names_another_ae(app: Flask, base_db: Path,
                                                           ae_api) -> None:
    """Every API route the table lets an ae token use (feeds and routes added later too)."""
    others = other_aes(base_db)
    checked = []
    for rule in app.url_map.iter_rules():
        action = getattr(app.view_functions[rule.endpoint], "required_action", None)
        if (not rule.rule.startswith("/api/") or rule.arguments or action is None
                or not permissions.can("ae", action)):
            continue
        for params in ({"year": YEAR}, {}):
            response = ae_api(rule.rule, **params)
            assert response.status_code == 200, (rule.rule, response.get_data(as_text=True))
            text = response.get_data(as_text=True)
            assert not [name for name in others if name in text], rule.rule
        checked.append(rule.rule)
    assert {"/api/v1/revenue", "/api/v1/customers", "/api/v1/aes"} <= set(checked), checked


def test_no_page_an_ae_may_open_names_another_ae(app: Flask, base_db: Path, clients) -> None:
    """Every GET page the table lets an ae user open (this includes pages added later), and
    every CSV export linked from it, mentions no other AE."""
    others = other_aes(base_db)
    client = clients["ae"]
    checked: list[str] = []
    for rule in app.url_map.iter_rules():
        action = getattr(app.view_functions[rule.endpoint], "required_action", None)
        if ("GET" not in rule.methods or rule.arguments or action is None
                or rule.rule.startswith("/api/") or not permissions.can("ae", action)):
            continue
        response = client.get(rule.rule, query_string={"year": YEAR}, follow_redirects=True)
        assert response.status_code == 200, rule.rule
        html = response.get_data(as_text=True)
        pages = [html]
        for link in sorted(set(re.findall(r'href="([^"]*format=csv[^"]*)"', html))):
            export = client.get(link.replace("&amp;", "&"))
            assert export.status_code == 200, link
            pages.append(export.get_data(as_text=True))
        for text in pages:
            leaked = [name for name in others if name in text]
            assert not leaked, (rule.rule, leaked)
        checked.append(rule.rule)
    assert {"/reports/", "/reports/customers/", "/reports/aes/"} <= set(checked), checked


def test_an_ae_user_linked_to_no_ae_sees_nothing(db_copy: Path) -> None:
    """An ae user left unlinked (e.g. by an upgrade) sees an empty book, not the station's."""
    conn = sqlite3.connect(db_copy)
    conn.execute("UPDATE users SET ae_id = NULL WHERE username = 'ae'")
    conn.commit()
    conn.close()
    client = make_app(db_copy).test_client()
    login(client, "ae")
    overview = csv_rows(client, "/reports/", year=YEAR, table="months")
    assert total_of(overview, "Month", "Year total", "Gross") == 0


def test_users_add_links_an_ae_by_name_or_alias(db_copy: Path) -> None:
    ae_id, name = own_ae(db_copy)
    conn = sqlite3.connect(db_copy)
    conn.execute("INSERT INTO ae_aliases (alias_key, alias_text, ae_id, created_by, created_at) "
                 "VALUES ('pn (house)', 'PN (House)', ?, 'test', '2026-01-01T00:00:00Z')",
                 (ae_id,))
    conn.commit()
    conn.close()
    db = ["--db", str(db_copy)]
    runner = CliRunner()
    ok = runner.invoke(cli, ["users", "add", "pat", "--role", "ae", "--ae", f"  {name.upper()} ",
                             "--email", "pat@example.com", "--password", "pats-password-1", *db])
    assert ok.exit_code == 0, ok.output
    alias = runner.invoke(cli, ["users", "add", "sam", "--role", "ae", "--ae", "pn  (house)",
                                "--password", "sams-password-1", *db])
    assert alias.exit_code == 0, alias.output
    assert query(db_copy, "SELECT username, ae_id, email FROM users WHERE username IN "
                          "('pat', 'sam') ORDER BY username") == [
        ("pat", ae_id, "pat@example.com"), ("sam", ae_id, None)]
    before = query(db_copy, "SELECT COUNT(*) FROM users")
    unknown = runner.invoke(cli, ["users", "add", "kim", "--role", "ae", "--ae", "Nobody Atall",
                                  "--password", "kims-password-1", *db])
    assert unknown.exit_code != 0
    assert "There is no AE named 'Nobody Atall'" in unknown.output
    assert len([line for line in unknown.output.strip().splitlines() if line]) == 1
    missing = runner.invoke(cli, ["users", "add", "kim", "--role", "ae",
                                  "--password", "kims-password-1", *db])
    assert missing.exit_code != 0 and "--ae" in missing.output
    bad_mail = runner.invoke(cli, ["users", "add", "kim", "--role", "viewer", "--email", "nope",
                                   "--password", "kims-password-1", *db])
    assert bad_mail.exit_code != 0 and "not an e-mail address" in bad_mail.output
    assert query(db_copy, "SELECT COUNT(*) FROM users") == before
    role = runner.invoke(cli, ["users", "set-role", "viewer", "ae", *db])
    assert role.exit_code != 0 and "linked to an AE" in role.output
    linked = runner.invoke(cli, ["users", "set-role", "viewer", "ae", "--ae", name, *db])
    assert linked.exit_code == 0, linked.output
    listing = runner.invoke(cli, ["users", "list", *db])
    assert name in listing.output


def test_admin_links_a_user_to_an_ae_in_the_browser(db_copy: Path) -> None:
    from tests.web.conftest import csrf_token

    ae_id, name = own_ae(db_copy)
    app = make_app(db_copy)
    admin = app.test_client()
    login(admin, "admin")
    token = csrf_token(admin)
    refused = admin.post("/admin/users/viewer/role", data={"csrf_token": token, "role": "ae"},
                         follow_redirects=True)
    assert "must be linked to an AE" in refused.get_data(as_text=True)
    unknown = admin.post("/admin/users/viewer/link", data={"csrf_token": token,
                                                           "ae": "Nobody Atall", "email": ""},
                         follow_redirects=True)
    assert "There is no AE named" in unknown.get_data(as_text=True)
    admin.post("/admin/users/viewer/link", data={"csrf_token": token, "ae": name.lower(),
                                                 "email": "v@example.com"})
    admin.post("/admin/users/viewer/role", data={"csrf_token": token, "role": "ae"})
    assert query(db_copy, "SELECT role, ae_id, email FROM users WHERE username = 'viewer'") == [
        ("ae", ae_id, "v@example.com")]
    unlink = admin.post("/admin/users/viewer/link", data={"csrf_token": token, "ae": "",
                                                          "email": ""}, follow_redirects=True)
    assert "must be linked to an AE" in unlink.get_data(as_text=True)
    viewer = app.test_client()
    login(viewer, "viewer")
    overview = csv_rows(viewer, "/reports/", year=YEAR, table="months")
    assert total_of(overview, "Month", "Year total", "Gross") == book_sum(db_copy, ae_id, YEAR)

"""The planning page, the budget grid and the management report: their figures and exports equal
the CLI's for the same filters; forecasts are edited in place by the right people only."""

from __future__ import annotations

import csv
import io
import json
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner
from flask.testing import FlaskClient
from tests.core import dbstate
from tests.web import both
from tests.web.conftest import YEAR, csrf_token, login

from bookedbiz.cli.main import cli

# Every test of this module runs on a SQLite copy and on PostgreSQL (tests/web/both.py).
db_copy = both.db_copy
make_app = both.make_app


def query_rows(db: Path | str, sql: str, *params: object) -> list[tuple]:
    """Every row of ``sql`` (``?`` placeholders, in order), on either database."""
    parts = sql.split("?")
    named = "".join(f"{part}:p{i}" for i, part in enumerate(parts[:-1])) + parts[-1]
    return dbstate.rows(db, named, **{f"p{i}": value for i, value in enumerate(params)})


def ae_of_user(db: Path | str) -> str:
    """The AE the ``ae`` user is linked to."""
    return str(dbstate.scalar(db, "SELECT a.name FROM users u JOIN aes a ON a.ae_id = u.ae_id "
                                  "WHERE u.username = 'ae'"))


def run(*args: str) -> str:
    result = CliRunner().invoke(cli, list(args))
    assert result.exit_code == 0, result.output
    return result.output


def aes_of(db: Path | str) -> list[str]:
    return [r[0] for r in query_rows(
        db, "SELECT a.name FROM spot_summary s JOIN aes a ON a.ae_id = s.ae_id WHERE "
        "s.broadcast_month LIKE ? GROUP BY a.name ORDER BY SUM(s.gross_micros) DESC, a.name",
        f"{YEAR}-%")]


def open_month(db: Path | str) -> str:
    return query_rows(db, "SELECT MIN(broadcast_month) FROM spot_summary WHERE broadcast_month "
                      "LIKE ? AND broadcast_month NOT IN (SELECT broadcast_month FROM "
                      "month_closures)", f"{YEAR}-%")[0][0]


def closed_month(db: Path | str) -> str:
    return query_rows(db, "SELECT MAX(broadcast_month) FROM month_closures")[0][0]


@pytest.fixture()
def planned(db_copy: Path | str, tmp_path: Path) -> Path:
    """The demo copy with a known budget file loaded and a few forecasts."""
    names = aes_of(db_copy)
    lines = ["AE," + ",".join(f"{YEAR}-{m:02d}" for m in range(1, 13))]
    for i, name in enumerate(names[:4]):
        lines.append(f'"{name}",' + ",".join(f"{(i + 1) * 1000 + m * 7.25:.2f}"
                                             for m in range(1, 13)))
    budget = tmp_path / "budget.csv"
    budget.write_text("\n".join(lines) + "\n")
    run("budgets", "import", str(budget), "--by", "Test Planner", "--db", str(db_copy))
    month = open_month(db_copy)
    later = f"{YEAR}-{int(month[5:]) + 1:02d}"
    for name, m, gross in ((names[0], month, "999999.99"), (names[1], month, "1"),
                           (names[0], later, "250000")):
        run("forecast", "set", "--ae", name, "--month", m, "--gross", gross, "--by", "Pat",
            "--db", str(db_copy))
    return db_copy


def client_for(db: Path | str, role: str) -> FlaskClient:
    client = make_app(db).test_client()
    assert login(client, role).status_code == 302
    return client


def web_csv(client: FlaskClient, path: str, **query: object) -> list[list[str]]:
    response = client.get(path, query_string={**query, "format": "csv"})
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    return list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))


def cli_csv(*args: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(run(*args))))


def same(web: list[str], cli_row: list[str]) -> bool:
    """Cells equal as numbers when numeric, else as text (blank = none)."""
    if len(web) != len(cli_row):
        return False
    for a, b in zip(web, cli_row, strict=True):
        try:
            if Decimal(a or "0") != Decimal(b or "0") or bool(a) != bool(b):
                return False
        except ArithmeticError:
            if a.lstrip("'") != b:
                return False
    return True


@pytest.mark.parametrize("table", ["rows", "company", "periods"])
@pytest.mark.parametrize("ae_filter", [None, "first"])
def test_planning_page_exports_equal_the_cli(planned: Path | str, table: str,
                                             ae_filter: str | None) -> None:
    client = client_for(planned, "manager")
    ae = aes_of(planned)[0] if ae_filter else None
    query = {"year": YEAR, "table": table, **({"ae": ae} if ae else {})}
    web = web_csv(client, "/planning/", **query)
    args = ["planning", "show", "--year", str(YEAR), "--table", table, "--format", "csv",
            "--db", str(planned)]
    cli_rows = cli_csv(*args, *(["--ae", ae] if ae else []))
    body = web[1:-1] if table == "company" else web[1:]  # the company table has a Year total
    assert len(body) == len(cli_rows) - 1 and len(body) > 0
    for web_row, cli_row in zip(body, cli_rows[1:], strict=True):
        assert same(web_row, cli_row), (web_row, cli_row)
    if ae:
        assert {r[0] for r in cli_rows[1:]} <= {ae, *[str(m) for m in range(13)], "Q1", "Q2",
                                                 "Q3", "Q4", "Year"} or table != "rows"


def test_planning_page_shows_the_cli_figures(planned: Path | str) -> None:
    client = client_for(planned, "manager")
    html = client.get("/planning/", query_string={"year": YEAR}).get_data(as_text=True)
    periods = json.loads(run("planning", "show", "--year", str(YEAR), "--table", "periods",
                             "--format", "json", "--db", str(planned)))
    year = periods[-1]
    for key in ("booked", "budget", "pipeline", "last_year"):  # the year row's cells
        assert f'data-value="{Decimal(str(year[key])):.2f}"' in html, key
    assert "Last forecast change" in html and "by Pat" in html
    assert 'data-chart="chart-data"' in html


def test_management_page_and_exports_equal_the_cli(planned: Path | str) -> None:
    client = client_for(planned, "viewer")
    web = web_csv(client, "/planning/management", year=YEAR)
    cli_rows = cli_csv("planning", "management", "--year", str(YEAR), "--format", "csv",
                       "--db", str(planned))
    assert len(web) == len(cli_rows) > 5
    for web_row, cli_row in zip(web[1:], cli_rows[1:], strict=True):
        assert same(web_row, cli_row), (web_row, cli_row)
    response = client.get("/planning/management", query_string={"year": YEAR,
                                                                 "format": "xlsx"})
    assert response.status_code == 200
    sheet = openpyxl.load_workbook(io.BytesIO(response.data)).active
    values = [[c for c in row] for row in sheet.iter_rows(min_row=5, values_only=True)]
    company_year = next(r for r in values if r[0] == "Year")  # the company block comes first
    cli_year = next(r for r in cli_rows if r[0] == "Company" and r[1] == "Year")
    assert Decimal(str(company_year[1])) == Decimal(cli_year[2])  # booked
    assert Decimal(str(company_year[2])) == Decimal(cli_year[3])  # budget
    html = client.get("/planning/management", query_string={"year": YEAR}).get_data(
        as_text=True)
    assert f'data-value="{cli_year[2]}"' in html


def test_forecasts_are_edited_in_place_by_the_right_people(planned: Path | str) -> None:
    month, done = open_month(planned), closed_month(planned)
    own = ae_of_user(planned)
    other = next(n for n in aes_of(planned) if n != own)
    ids = dict(query_rows(planned, "SELECT name, ae_id FROM aes"))

    def post(client: FlaskClient, ae: str, m: str, gross: str) -> str:
        token = csrf_token(client, "/planning/")
        response = client.post("/planning/forecast", data={
            "csrf_token": token, "ae_id": ids[ae], "month": m, "gross": gross, "year": YEAR,
            "note": "web"}, follow_redirects=True)
        assert response.status_code == 200
        return response.get_data(as_text=True)

    def forecast(ae: str, m: str) -> int | None:
        rows = query_rows(planned, "SELECT gross_micros FROM forecasts WHERE ae_id = ? AND "
                          "broadcast_month = ?", ids[ae], m)
        return rows[0][0] if rows else None

    ae_client = client_for(planned, "ae")
    page = ae_client.get("/planning/", query_string={"year": YEAR}).get_data(as_text=True)
    assert own in page and other not in page  # an AE sees only their own book
    assert f'name="ae_id" value="{ids[own]}"><input type="hidden" name="month" value="{month}"' \
        in page  # their open month's forecast is a form in the table
    assert f'name="month" value="{done}"' not in page  # a closed month's is not
    assert "Forecast changed by" not in post(ae_client, own, month, "$12,345.67")
    assert forecast(own, month) == 12_345_670_000
    before = forecast(other, month)
    assert "only your own book" in post(ae_client, other, month, "5")
    assert forecast(other, month) == before
    closed_before = forecast(own, done)
    assert "is closed" in post(ae_client, own, done, "5") and forecast(own, done) == closed_before
    assert "not an amount of money" in post(ae_client, own, month, "12k")
    assert forecast(own, month) == 12_345_670_000
    manager = client_for(planned, "manager")
    post(manager, other, month, "777")
    assert forecast(other, month) == 777_000_000
    history = query_rows(planned, "SELECT changed_by, note FROM forecast_changes ORDER BY "
                         "change_id DESC LIMIT 1")
    assert history == [("web:manager", "web")]
    changes = manager.get("/planning/", query_string={"year": YEAR, "format": "csv",
                                                       "table": "forecast_changes"})
    assert "web:manager" in changes.get_data(as_text=True)  # the page lists the change
    page = ae_client.get("/planning/", query_string={"year": YEAR}).get_data(as_text=True)
    assert other not in page and "web:manager" not in page  # not another AE's changes
    viewer = client_for(planned, "viewer")
    response = viewer.post("/planning/forecast", data={
        "csrf_token": csrf_token(viewer, "/planning/"), "ae_id": ids[other], "month": month,
        "gross": "1"})
    assert response.status_code == 403 and forecast(other, month) == 777_000_000


def test_budget_grid_paste_preview_then_save(planned: Path | str) -> None:
    for role in ("ae", "viewer", "finance"):
        assert client_for(planned, role).get("/planning/budgets").status_code == 403
    manager = client_for(planned, "manager")
    page = manager.get("/planning/budgets", query_string={"year": YEAR})
    assert page.status_code == 200
    name = aes_of(planned)[0]
    block = f"AE\tJan-{YEAR % 100}\tFeb-{YEAR % 100}\n{name}\t$50,000.00\t51000\n"
    before = query_rows(planned, "SELECT * FROM budgets ORDER BY 1, 2")
    token = csrf_token(manager, "/planning/budgets")
    preview = manager.post("/planning/budgets/paste", query_string={"year": YEAR},
                           data={"csrf_token": token, "paste": block, "save": "0"})
    text = preview.get_data(as_text=True)
    assert preview.status_code == 200 and "Preview: 2 changes" in text and "50,000.00" in text
    assert query_rows(planned, "SELECT * FROM budgets ORDER BY 1, 2") == before
    bad = manager.post("/planning/budgets/paste", data={
        "csrf_token": token, "paste": "AE\tJan-26\nNobody Here\t-5\n", "save": "1"})
    assert "row 2" in bad.get_data(as_text=True)
    assert query_rows(planned, "SELECT * FROM budgets ORDER BY 1, 2") == before
    saved = manager.post("/planning/budgets/paste", query_string={"year": YEAR}, data={
        "csrf_token": token, "paste": block, "save": "1"}, follow_redirects=True)
    assert "Saved 2 budget changes" in saved.get_data(as_text=True)
    listed = json.loads(run("budgets", "list", "--year", str(YEAR), "--ae", name, "--format",
                            "json", "--db", str(planned)))
    assert {r["month"]: r["gross"] for r in listed}[f"{YEAR}-01"] == 50000.0
    who = query_rows(planned, "SELECT changed_by, source FROM budget_changes ORDER BY change_id "
                     "DESC LIMIT 1")
    assert who == [("web:manager", "web paste")]
    ae_id = query_rows(planned, "SELECT ae_id FROM aes WHERE name = ?", name)[0][0]
    grid = manager.post("/planning/budgets/grid", data={
        "csrf_token": token, "year": YEAR, f"b:{ae_id}:{YEAR}-03": "60,000"},
        follow_redirects=True)
    assert "Saved 1 budget changes" in grid.get_data(as_text=True)
    assert query_rows(planned, "SELECT gross_micros FROM budgets WHERE ae_id = ? AND "
                      "broadcast_month = ?", ae_id, f"{YEAR}-03") == [(60_000_000_000,)]


def test_pacing_api_carries_the_plan(planned: Path | str) -> None:
    from bookedbiz import users

    _, token = users.create_token(planned, "manager", "sheet")
    client = make_app(planned).test_client()
    month = open_month(planned)
    body = client.get("/api/v1/pacing", query_string={"by": "ae", "from": month, "to": month},
                      headers={"Authorization": f"Bearer {token}"}).get_json()
    budgets = {(r["ae"], r["month"]): r["gross"] for r in json.loads(run(
        "budgets", "list", "--year", str(YEAR), "--format", "json", "--db", str(planned)))}
    rows = body["data"]
    assert rows and all("pipeline_gross" in r and "pct_to_budget" in r for r in rows)
    for row in rows:
        assert row["budget_gross"] == budgets.get((row["ae"], month))
    forecasted = next(r for r in rows if r["ae"] == aes_of(planned)[0])
    assert forecasted["forecast_gross"] == 999999.99
    assert forecasted["pipeline_gross"] > 0

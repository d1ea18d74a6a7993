"""The Pacing and What-changed pages and API routes lay out reports.pacing / reports.changes."""

from __future__ import annotations

import csv
import io
import sqlite3
from dataclasses import replace
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from flask.testing import FlaskClient
from tests.web.conftest import TODAY, ae_of_user

from bookedbiz import users
from bookedbiz.db.connection import create_db_engine
from bookedbiz.reports.changes import changes_report
from bookedbiz.reports.filters import ReportFilters
from bookedbiz.reports.pacing import pacing_report

AS_OF = TODAY  # the web database's imports are recorded as of this day


def _report(db: Path, filters: ReportFilters | None = None) -> dict:
    engine = create_db_engine(db, readonly=True)
    try:
        with engine.connect() as conn:
            return pacing_report(conn, as_of=AS_OF, filters=filters)
    finally:
        engine.dispose()


def _money(text: str) -> Decimal:
    return Decimal(text.replace(",", "").replace("$", ""))


def test_pacing_page_shows_the_report(clients: dict[str, FlaskClient], base_db: Path) -> None:
    report = _report(base_db)
    assert report["total"]["booked_gross"] > 0
    page = clients["viewer"].get(f"/reports/pacing?as_of={AS_OF}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Pacing" in html and "Booking curve" in html and 'id="chart-data"' in html
    assert 'data-card="booked"' in html
    first = report["rows"][0]
    assert first["label"] in html
    exported = clients["viewer"].get(f"/reports/pacing?as_of={AS_OF}&format=csv&table=pacing")
    assert exported.status_code == 200 and exported.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(exported.get_data(as_text=True).lstrip("\ufeff"))))
    assert rows[0][:4] == ["Month", "Status", "Booked", "STLY"]
    assert [r[0] for r in rows[1:14]] == [r["label"] for r in report["rows"]]
    for line, row in zip(rows[1:14], report["rows"], strict=True):
        assert _money(line[2]) == row["booked_gross"] and _money(line[3]) == row["stly_gross"]
    total_line = next(line for line in rows if line and line[0] == "Total")
    assert _money(total_line[2]) == report["total"]["booked_gross"]
    xlsx = clients["viewer"].get(f"/reports/pacing?as_of={AS_OF}&by=ae&format=xlsx&table=pacing")
    assert xlsx.status_code == 200 and xlsx.data[:2] == b"PK"


def test_ae_user_sees_only_their_book(clients: dict[str, FlaskClient], base_db: Path) -> None:
    conn = sqlite3.connect(base_db)
    ae_name = ae_of_user(base_db)
    ae_id = conn.execute("SELECT ae_id FROM aes WHERE name = ?", (ae_name,)).fetchone()[0]
    conn.close()
    own = _report(base_db, ReportFilters(scope_ae_id=ae_id))
    everyone = _report(base_db)
    assert own["total"]["booked_gross"] < everyone["total"]["booked_gross"]
    shown = clients["ae"].get(f"/reports/pacing?as_of={AS_OF}&by=ae&format=csv&table=pacing")
    lines = list(csv.reader(io.StringIO(shown.get_data(as_text=True).lstrip("\ufeff"))))
    total_line = next(line for line in lines if line and line[0] == "Total")
    assert _money(total_line[1]) == own["total"]["booked_gross"]
    assert [line[0] for line in lines[1:] if line and line[0] != "Total"] == [ae_name]
    exported = clients["ae"].get(f"/reports/pacing?as_of={AS_OF}&by=ae&format=csv"
                                 "&table=pacing_detail").get_data(as_text=True)
    lines = list(csv.reader(io.StringIO(exported.lstrip("\ufeff"))))
    assert lines[0][1] == "Ae" and {line[1] for line in lines[1:] if line[0] != "Total"} == \
        {ae_name}


def test_pacing_and_changes_api(db_copy: Path, base_db: Path) -> None:
    from tests.web.conftest import make_app

    client = make_app(db_copy).test_client()
    _, token = users.create_token(db_copy, "viewer", "sheet")
    headers = {"Authorization": f"Bearer {token}"}
    response = client.get(f"/api/v1/pacing?as_of={AS_OF}&by=market", headers=headers)
    assert response.status_code == 200, response.get_data(as_text=True)
    body = response.get_json()
    assert body["as_of"] == AS_OF.isoformat()
    assert body["stly_as_of"] == (AS_OF - timedelta(days=364)).isoformat()
    expected = _report(base_db)
    assert round(sum(Decimal(str(r["booked_gross"])) for r in body["data"]), 2) == \
        sum(r["booked_gross"] for r in _market_rows(base_db))
    assert body["total"]["booked_gross"] == float(expected["total"]["booked_gross"])
    row = body["data"][0]
    assert {"month", "market", "booked_gross", "booked_net", "stly_gross", "stly_net",
            "last_year_gross", "last_year_net", "pace"} <= set(row)
    for query, words in (("from=2026-09&to=2026-07", "is after --to"),
                         ("as_of=2099-01-01", "in the future"),
                         ("as_of=June", "is not a date"),
                         ("by=planet", "Group pacing by")):
        bad = client.get(f"/api/v1/pacing?{query}", headers=headers)
        assert bad.status_code == 400 and words in bad.get_json()["error"], query
    changes = client.get("/api/v1/changes", headers=headers)
    assert changes.status_code == 200
    assert "totals" in changes.get_json()


def _market_rows(db: Path) -> list[dict]:
    engine = create_db_engine(db, readonly=True)
    try:
        with engine.connect() as conn:
            return pacing_report(conn, as_of=AS_OF, by="market")["rows"]
    finally:
        engine.dispose()


def test_changes_page(clients: dict[str, FlaskClient], base_db: Path) -> None:
    engine = create_db_engine(base_db, readonly=True)
    try:
        with engine.connect() as conn:
            report = changes_report(conn, filters=replace(ReportFilters()))
    finally:
        engine.dispose()
    page = clients["viewer"].get("/reports/changes")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "What changed" in html
    if report["rows"]:
        assert report["rows"][0]["customer"] in html


@pytest.mark.parametrize("path", ["/reports/pacing", "/reports/changes"])
def test_pages_need_a_sign_in(app, path: str) -> None:  # noqa: ANN001
    response = app.test_client().get(path)
    assert response.status_code in (302, 401)


def test_bad_page_input_is_400(clients: dict[str, FlaskClient]) -> None:
    for query in ("from=2026-09&to=2026-07", "as_of=2099-01-01", "as_of=nope"):
        assert clients["viewer"].get(f"/reports/pacing?{query}").status_code == 400

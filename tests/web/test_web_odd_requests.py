"""Odd requests get a 4xx, never a 500 with a traceback: query parameters named like view
arguments or url_for's own keywords, ids too large for SQLite; and the API does not show where
files lay on the server or which host:pid ran an import."""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path

import pytest
from flask import Flask
from tests.web.conftest import YEAR

from bookedbiz import users

ODD_QUERIES = [
    {"customer_id": "1"},
    {"customer_id": "1", "format": "csv"},
    {"_method": "POST"},
    {"_external": "1", "_anchor": "x", "_scheme": "javascript"},
    {"endpoint": "admin.users_page"},
    {"values": "1", "dimension": "market", "batch_id": "2", "month": "2026-01"},
    {"customer_id": "99999999999999999999999"},
    {"year": "99999999999999999999999"},
]
HUGE = "9" * 30


def sample(rule) -> str:  # noqa: ANN001 - a werkzeug Rule
    values = {"customer_id": 1, "batch_id": 1, "dimension": "market", "month": f"{YEAR}-01",
              "username": "viewer", "token_id": 1, "version": "0", "filename": "app.css"}
    return rule.build({k: values.get(k, "1") for k in rule.arguments})[1]


def no_tracebacks(caplog: pytest.LogCaptureFixture) -> None:
    logged = [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR]
    assert not logged, [r.getMessage() for r in logged]


@pytest.mark.parametrize("role", ["admin", "ae"])
def test_query_names_like_view_arguments_are_harmless(app: Flask, clients, base_db: Path,
                                                      role: str, caplog) -> None:
    token = users.create_token(base_db, role, "odd")[1]
    headers = {"Authorization": f"Bearer {token}"}
    client = clients[role]
    caplog.set_level(logging.INFO)
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods or rule.endpoint in ("static", "vendor.plotly"):
            continue
        url = sample(rule)
        for params in ODD_QUERIES:
            response = client.get(url, query_string=params,
                                  headers=headers if url.startswith("/api/") else {})
            assert response.status_code in (200, 302, 400, 403, 404), (
                url, params, response.status_code)
    no_tracebacks(caplog)


def test_huge_ids_are_not_found(app: Flask, clients, base_db: Path, caplog) -> None:
    token = users.create_token(base_db, "admin", "huge")[1]
    caplog.set_level(logging.INFO)
    client = clients["admin"]
    for url in (f"/reports/customers/{HUGE}", f"/imports/{HUGE}", f"/reports/customers/{2**63}",
                f"/reports/customers/{2**63 - 1}"):
        assert client.get(url).status_code == 404, url
    for url in (f"/api/v1/customers/{HUGE}", f"/api/v1/imports/{HUGE}"):
        response = client.get(url, headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 404 and response.is_json, url
    response = client.post(f"/account/tokens/{HUGE}/revoke")
    assert response.status_code in (400, 404)
    revenue = client.get("/api/v1/revenue", query_string={"customer_id": HUGE},
                         headers={"Authorization": f"Bearer {token}"})
    assert revenue.status_code == 400 and "customer number" in revenue.get_json()["error"]
    no_tracebacks(caplog)


def test_the_api_shows_no_server_paths_or_process_ids(db_copy: Path) -> None:
    from tests.web.conftest import make_app

    conn = sqlite3.connect(db_copy)
    source = "/srv/bookedbiz/raw/daily/Commercial Log 260101.xlsx"
    conn.execute("UPDATE import_batches SET started_by = 'pi-box:4242', source_file = ?, "
                 "error = 'Cannot read /srv/bookedbiz/data/uploads/upload-4242-x.xlsx: bad', "
                 "warnings = json_array('Header row repeated in /srv/x/y.xlsx') "
                 "WHERE batch_id = 1", (source,))
    conn.commit()
    conn.close()
    token = users.create_token(db_copy, "viewer", "paths")[1]
    client = make_app(db_copy).test_client()
    headers = {"Authorization": f"Bearer {token}"}
    for url in ("/api/v1/imports", "/api/v1/imports/1"):
        text = client.get(url, headers=headers).get_data(as_text=True)
        assert "pi-box" not in text and "4242:" not in text, url
        assert "/srv/" not in text, (url, text[:2000])
    batch = client.get("/api/v1/imports/1", headers=headers).get_json()["data"]
    assert batch["file_name"] == Path(source).name
    assert batch["error"] == "Cannot read upload-4242-x.xlsx: bad"
    assert batch["warnings"] == ["Header row repeated in y.xlsx"]

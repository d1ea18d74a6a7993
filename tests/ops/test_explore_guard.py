"""The explorer serves no credential table by any route: pages, JSON, CSV, rows, SQL, downloads.

The real Datasette app (the ASGI app ``bookedbiz explore`` serves, Host check included) is driven
through httpx's ASGI transport. Every credential, personal or operational row carries a marker;
no response may contain one, whatever the route, and ad-hoc SQL is refused unless allowed.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import urllib.parse
from pathlib import Path

import httpx
import pytest

from bookedbiz.deploy.explore import allowed_host_names, build_app, host_name
from bookedbiz.deploy.explore_guard import REPORTING_TABLES, authorize

MARK = "ZZSECRET"
CREDENTIAL_TABLES = ("users", "api_tokens", "login_failures", "audit_log", "app_state",
                     "job_runs")
FIXED = {("users", "role"): "admin"}


def _fill(conn: sqlite3.Connection, table: str) -> None:
    """One row whose every text column carries the marker (numbers are 1)."""
    cols = conn.execute(f"PRAGMA table_info({table})").fetchall()
    names, values = [], []
    for _cid, name, ctype, _notnull, _default, pk in cols:
        if pk and "INT" in (ctype or "").upper():
            continue
        names.append(name)
        if (table, name) in FIXED:
            values.append(FIXED[(table, name)])
        elif any(t in (ctype or "").upper() for t in ("INT", "BOOL", "FLOAT", "REAL")):
            values.append(1)
        else:
            values.append(f"{MARK}-{table}-{name}")
    marks = ", ".join("?" for _ in names)
    conn.execute(f"INSERT INTO {table} ({', '.join(names)}) VALUES ({marks})", values)


@pytest.fixture()
def seeded(db_path: Path) -> Path:
    conn = sqlite3.connect(db_path)
    for table in CREDENTIAL_TABLES:
        _fill(conn, table)
    conn.execute("INSERT INTO import_batches (batch_id, mode, source_file, started_at, status, "
                 "started_by, closed_by) VALUES (7, 'weekly', 'log.xlsx', '2026-01-01', "
                 "'completed', ?, ?)", (f"{MARK}-starter", f"{MARK}-closer"))
    conn.execute("INSERT INTO month_closures (broadcast_month, closed_at, closed_by, batch_id) "
                 "VALUES ('2026-01', '2026-02-01', ?, 7)", (f"{MARK}-month-closer",))
    conn.execute("INSERT INTO aes (ae_id, name, name_key, created_at) "
                 "VALUES (1, 'Alice', 'alice', 'x')")
    conn.execute("INSERT INTO customers (customer_id, name, name_key, created_at) "
                 "VALUES (1, 'Acme', 'acme', 'x')")
    conn.execute("INSERT INTO spots (spot_id, import_batch_id, bill_code, air_date, "
                 "broadcast_month, ae_id, customer_id, language_category, gross_rate_micros) "
                 "VALUES (1, 7, 'A:B', '2026-01-05', '2026-01', 1, 1, 'default_english', "
                 "2500000)")
    conn.commit()
    conn.close()
    return db_path


def _get_all(app, urls: list[str], host: str = "127.0.0.1:8001") -> list[httpx.Response]:
    async def run() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
            return [await client.get(url, headers={"host": host}) for url in urls]
    return asyncio.run(run())


def _sql(sql: str, fmt: str = ".json") -> str:
    return f"/bookedbiz{fmt}?sql=" + urllib.parse.quote(sql)


HOSTILE_SQL = [
    "select * from users",
    "select password_hash from users",
    "select token_hash from api_tokens",
    "select * from login_failures",
    "select * from audit_log",
    "select * from app_state",
    "select * from job_runs",
    "with x as (select * from users) select * from x",
    "select (select token_hash from api_tokens) as t from spots",
    "select * from spots where exists (select 1 from users where password_hash like 'Z%')",
    "select * from spots union all select user_id, username, password_hash, role, 1, 1, 1, 1 "
    "from users",
    "select * from sqlite_dbpage",
    "select * from pragma_table_info('users') join users",
    "select started_by, closed_by from import_batches",
    "select * from import_batches where started_by like 'ZZ%'",
    "select closed_by from month_closures",
]


def _routes() -> list[str]:
    urls = ["/", "/.json", "/bookedbiz", "/bookedbiz.json", "/-/databases.json",
            "/-/metadata.json", "/-/settings.json", "/-/plugins.json", "/-/versions.json",
            "/-/actor.json", "/-/threads.json", "/-/config.json", "/-/permissions",
            "/-/allow-debug", "/-/messages", "/_internal", "/_internal.json",
            "/_internal/tables.json", "/_internal/columns.json", "/_memory.json",
            "/bookedbiz.db", "/bookedbiz/import_batches.json", "/bookedbiz/import_batches.csv",
            "/bookedbiz/import_batches/7.json", "/bookedbiz/month_closures.json",
            "/bookedbiz/month_closures.csv?_stream=on", "/bookedbiz/spots.json?_labels=on"]
    for table in CREDENTIAL_TABLES:
        urls += [f"/bookedbiz/{table}", f"/bookedbiz/{table}.json",
                 f"/bookedbiz/{table}.csv", f"/bookedbiz/{table}.json?_shape=array",
                 f"/bookedbiz/{table}/1", f"/bookedbiz/{table}/1.json",
                 f"/bookedbiz/{table}.json?_facet=1"]
    for sql in HOSTILE_SQL:
        urls += [_sql(sql), _sql(sql, ""), _sql(sql, ".csv")]
    urls.append("/bookedbiz/revenue_by_month.json?sql=" + urllib.parse.quote(HOSTILE_SQL[0]))
    return urls


@pytest.mark.parametrize("allow_sql", [False, True])
@pytest.mark.parametrize("immutable", [False, True])
def test_no_route_serves_a_credential_row(seeded: Path, allow_sql: bool,
                                          immutable: bool) -> None:
    app, _ = build_app(seeded, allow_sql=allow_sql, immutable=immutable)
    urls = _routes()
    responses = _get_all(app, urls)
    for url, response in zip(urls, responses, strict=True):
        assert MARK not in response.text, (url, response.status_code)
        assert response.status_code < 500, (url, response.text[:300])
    statuses = dict(zip(urls, (r.status_code for r in responses), strict=True))
    assert statuses["/bookedbiz.db"] == 403  # the file holds the credential tables too
    for table in CREDENTIAL_TABLES:
        assert statuses[f"/bookedbiz/{table}.json"] in (403, 404)
        assert statuses[f"/bookedbiz/{table}/1.json"] in (403, 404)
    # the listing knows only the reporting tables, not even the names of the others
    listing = json.loads(responses[urls.index("/bookedbiz.json")].text)
    names = {t["name"] for t in listing["tables"]}
    assert names and names <= REPORTING_TABLES
    assert not any(t in responses[urls.index("/bookedbiz.json")].text
                   for t in ("api_tokens", "login_failures", "audit_log", "app_state"))
    # the served rows are there, with personal fields blank
    batch = json.loads(responses[urls.index("/bookedbiz/import_batches/7.json")].text)
    assert batch["rows"][0][0] == 7


def test_ad_hoc_sql_needs_the_flag(seeded: Path) -> None:
    spots = _sql("select count(*) as n from spots")
    canned = "/bookedbiz/revenue_by_month.json?_shape=array"
    closed, _ = build_app(seeded)
    refused, canned_ok = _get_all(closed, [spots, canned])
    assert refused.status_code == 403
    assert canned_ok.status_code == 200 and canned_ok.json()[0]["gross_dollars"] == 2.5
    opened, _ = build_app(seeded, allow_sql=True)
    allowed, denied = _get_all(opened, [spots + "&_shape=array",
                                        _sql("select username from users")])
    assert allowed.status_code == 200 and allowed.json() == [{"n": 1}]
    assert denied.status_code == 400 and "prohibited" in denied.text
    masked = _get_all(opened, [_sql("select started_by, closed_by, source_file from "
                                    "import_batches") + "&_shape=array"])[0]
    assert masked.json() == [{"started_by": None, "closed_by": None, "source_file": "log.xlsx"}]


def test_host_header_is_checked(seeded: Path) -> None:
    app, _ = build_app(seeded, hosts=allowed_host_names("127.0.0.1", ["bookedbiz.example.org"]))
    ok = _get_all(app, ["/-/versions.json"], host="bookedbiz.example.org")[0]
    assert ok.status_code == 200
    for bad in ("evil.example", "bookedbiz.example.org.evil.example", "", "10.0.0.5:8001"):
        response = _get_all(app, ["/bookedbiz/spots.json"], host=bad)[0]
        assert response.status_code == 400, bad
        assert "Invalid Host header" in response.text


def test_host_names_parse_ports_and_brackets() -> None:
    assert host_name("Example.ORG:8001") == "example.org"
    assert host_name("[::1]:8001") == "::1"
    assert host_name("::1") == "::1"
    assert host_name("example.org.") == "example.org"
    assert "10.1.2.3" in allowed_host_names("10.1.2.3", [])
    assert "0.0.0.0" not in allowed_host_names("0.0.0.0", [])


def test_authorizer_is_an_allow_list() -> None:
    read = sqlite3.SQLITE_READ
    assert authorize(read, "spots", "gross_rate_micros", "main", None) == sqlite3.SQLITE_OK
    assert authorize(read, "a_table_added_next_year", "x", "main", None) == sqlite3.SQLITE_DENY
    assert authorize(read, "sqlite_dbpage", "data", "main", None) == sqlite3.SQLITE_DENY
    assert authorize(read, "import_batches", "started_by", "main", None) == sqlite3.SQLITE_IGNORE
    assert authorize(sqlite3.SQLITE_ATTACH, "/tmp/x.db", None, None, None) == sqlite3.SQLITE_DENY

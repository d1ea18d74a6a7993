"""Hostile input, headers, throttling, sessions, error pages, health."""

from __future__ import annotations

import os
import re
import sqlite3
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from tests.web.conftest import YEAR, login, make_app

HOSTILE = [
    "' OR 1=1 --",
    "x'); DROP TABLE spots; --",
    '"><script>alert(1)</script>',
    "<img src=x onerror=alert(1)>",
    "2025 UNION SELECT password_hash FROM users",
    "%00\u202e",
]
PAGES = ["/reports/", "/reports/customers/", "/reports/aes/", "/reports/breakdowns/market",
         "/reports/breakdowns/language", "/reports/customers/1", "/months/", "/imports/",
         "/imports/1"]
PARAMS = ["year", "measure", "ae", "market", "revenue_type", "q", "sort", "new", "format",
          "table"]


def spot_count(db) -> int:
    conn = sqlite3.connect(db)
    try:
        return conn.execute("SELECT COUNT(*) FROM spots").fetchone()[0]
    finally:
        conn.close()


def test_sql_injection_and_xss_in_every_filter_are_harmless(base_db, clients) -> None:
    client = clients["viewer"]
    before = spot_count(base_db)
    for page in PAGES:
        for param in PARAMS:
            for value in HOSTILE:
                response = client.get(page, query_string={"year": YEAR, param: value})
                assert response.status_code in (200, 400, 404), (page, param, value)
                body = response.get_data(as_text=True)
                assert "<script>alert(1)</script>" not in body
                assert "<img src=x" not in body
                assert "Traceback" not in body and "scrypt:" not in body
    assert spot_count(base_db) == before


def test_api_filters_are_harmless_too(base_db) -> None:
    from bookedbiz import users

    _, token = users.create_token(base_db, "viewer", "hostile test")
    client = make_app(base_db).test_client()
    headers = {"Authorization": f"Bearer {token}"}
    for param in ("year", "ae", "market", "revenue_type", "by", "customer_id"):
        for value in HOSTILE:
            response = client.get("/api/v1/revenue", query_string={param: value},
                                  headers=headers)
            assert response.status_code in (200, 400), (param, value)
            assert response.is_json


def test_unknown_export_format_and_table_are_refused(clients) -> None:
    assert clients["viewer"].get("/reports/?format=pdf").status_code == 400
    assert clients["viewer"].get("/reports/?format=csv&table=nope").status_code == 404


def test_security_headers_on_pages(clients) -> None:
    response = clients["viewer"].get("/reports/")
    csp = response.headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp and "script-src 'self'" in csp
    assert "unsafe-inline" not in csp and "http" not in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
    assert "no-store" in response.headers["Cache-Control"]
    html = response.get_data(as_text=True)
    assert "<script>" not in html  # no inline script, only src= and application/json blocks
    assert "cdn" not in html.lower()


def installed_plotly_version(vendor_dir: Path) -> str:
    """The bundle the app should choose, found independently of it: the basic one when
    scripts/setup.sh put it in ``vendor_dir`` (its banner names the version), else the plotly
    package's full one."""
    import plotly

    basic = vendor_dir / "plotly-basic.min.js"
    if basic.is_file():
        banner = re.search(rb"plotly\.js \(basic[^)]*\) v(\S+)", basic.read_bytes()[:300])
        assert banner, "setup.sh installed a basic bundle without its version banner"
        return f"basic-{banner.group(1).decode()}"
    return plotly.__version__


def assert_plotly_served(client, version: str, min_size: int) -> None:  # noqa: ANN001
    html = client.get("/reports/").get_data(as_text=True)
    sources = re.findall(r'<script[^>]*\ssrc="([^"]+)"', html)
    assert sources and all(src.startswith("/") and not src.startswith("//") for src in sources)
    assert "cdn" not in html.lower()
    url = f"/vendor/plotly-{version}.min.js"
    assert url in sources, (url, sources)
    response = client.get(url)
    assert response.status_code == 200
    assert "immutable" in response.headers["Cache-Control"]
    assert "max-age=31536000" in response.headers["Cache-Control"]
    assert response.mimetype == "text/javascript"
    assert len(response.get_data()) > min_size
    old = client.get("/vendor/plotly-0.0.1.min.js")  # a stale URL works but is not immutable
    assert old.status_code == 200 and "immutable" not in old.headers["Cache-Control"]


def test_plotly_is_served_by_the_app_with_long_caching(clients) -> None:
    version = installed_plotly_version(Path(sys.prefix) / "share" / "bookedbiz")
    assert_plotly_served(clients["viewer"], version, 1_000_000)


def test_plotly_falls_back_to_the_full_bundle_without_the_basic_one(db_copy, tmp_path) -> None:
    import plotly

    empty = tmp_path / "vendor"
    empty.mkdir()
    client = make_app(db_copy, VENDOR_DIR=str(empty)).test_client()
    assert login(client, "viewer").status_code == 302
    assert_plotly_served(client, plotly.__version__, 3_000_000)


def test_plotly_prefers_the_basic_bundle_when_installed(db_copy, tmp_path) -> None:
    folder = tmp_path / "vendor"
    folder.mkdir()
    body = b"/**\n* plotly.js (basic - minified) v9.8.7\n*/\n" + b"x" * 2000
    (folder / "plotly-basic.min.js").write_bytes(body)
    client = make_app(db_copy, VENDOR_DIR=str(folder)).test_client()
    assert login(client, "viewer").status_code == 302
    assert installed_plotly_version(folder) == "basic-9.8.7"
    assert_plotly_served(client, "basic-9.8.7", 2000)
    assert client.get("/vendor/plotly-basic-9.8.7.min.js").get_data() == body


def test_session_cookie_flags_and_expiry(db_copy) -> None:
    app = make_app(db_copy, SESSION_COOKIE_SECURE=True)
    client = app.test_client()
    response = login(client, "viewer")
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" in cookie
    assert "Expires=" in cookie  # a permanent session that ends after the configured lifetime
    assert app.config["PERMANENT_SESSION_LIFETIME"] == timedelta(hours=8)


def test_login_throttling_after_five_failures(db_copy) -> None:
    client = make_app(db_copy).test_client()
    for _ in range(5):
        assert login(client, "viewer", "wrong-password-x").status_code == 401
    response = login(client, "viewer")  # even the right password is refused for a while
    assert response.status_code == 429
    assert "Too many failed sign-ins" in response.get_data(as_text=True)
    assert int(response.headers["Retry-After"]) > 0
    other = make_app(db_copy).test_client()
    assert login(other, "manager").status_code == 302  # other users are not locked out


def test_throttle_is_shared_by_workers(db_copy) -> None:
    """Two app instances (like two uvicorn workers) count the same failures, and a success
    clears them."""
    first, second = make_app(db_copy).test_client(), make_app(db_copy).test_client()
    for client in (first, second, first, second):
        assert login(client, "viewer", "wrong-password-x").status_code == 401
    assert login(second, "viewer", "wrong-password-x").status_code == 401
    assert login(first, "viewer").status_code == 429  # five failures across both workers
    assert login(second, "manager").status_code == 302


def test_login_does_not_redirect_off_site(db_copy) -> None:
    client = make_app(db_copy).test_client()
    page = client.get("/login?next=//evil.example/x")
    from tests.web.conftest import csrf_from

    response = client.post("/login", data={
        "username": "viewer", "password": "pass-viewer-0123456789", "next": "//evil.example/x",
        "csrf_token": csrf_from(page.get_data(as_text=True))})
    assert response.status_code == 302
    assert response.headers["Location"] == "/reports/"


def test_disabled_user_loses_access_at_once(db_copy) -> None:
    from bookedbiz import users

    client = make_app(db_copy).test_client()
    assert login(client, "ae").status_code == 302
    assert client.get("/reports/").status_code == 200
    users.set_active(db_copy, "ae", False)
    assert client.get("/reports/").status_code == 302
    assert login(client, "ae").status_code == 401


def test_logout_ends_the_session(db_copy) -> None:
    from tests.web.conftest import csrf_token

    client = make_app(db_copy).test_client()
    login(client, "viewer")
    token = csrf_token(client)
    assert client.post("/logout", data={"csrf_token": token}).status_code == 302
    assert client.get("/reports/").status_code == 302


def test_error_pages_are_styled_and_never_show_a_stack_trace(db_copy) -> None:
    app = make_app(db_copy)

    @app.get("/boom-for-test")
    def boom():  # noqa: ANN202
        raise RuntimeError("secret internals")

    client = app.test_client()
    login(client, "viewer")
    missing = client.get("/reports/nope")
    assert missing.status_code == 404
    assert "Page not found" in missing.get_data(as_text=True)
    assert 'class="topbar"' in missing.get_data(as_text=True)
    broken = client.get("/boom-for-test")
    assert broken.status_code == 500
    text = broken.get_data(as_text=True)
    assert "Something went wrong" in text
    assert "secret internals" not in text and "Traceback" not in text
    assert client.get("/reports/customers/999999").status_code == 404
    assert client.get("/api/v1/nothing-here").status_code in (401, 404)


def test_health_is_200_then_503_when_schema_behind_or_database_gone(db_copy) -> None:
    from bookedbiz import users

    _, token = users.create_token(db_copy, "viewer", "monitor")
    bearer = {"Authorization": f"Bearer {token}"}
    app = make_app(db_copy)
    client = app.test_client()
    anonymous = client.get("/health")
    assert anonymous.status_code == 200
    assert anonymous.get_json() == {"status": "healthy"}  # no version, no import time
    response = client.get("/health", headers=bearer)
    assert response.status_code == 200
    body = response.get_json()
    assert body["status"] == "healthy" and body["database"]["reachable"] is True
    assert body["last_import"]["finished_at"]
    signed_in = app.test_client()
    login(signed_in, "viewer")
    assert signed_in.get("/health").get_json()["database"]["schema_version"]
    assert client.get("/health", headers={"Authorization": "Bearer bbz_wrong"}).get_json() == {
        "status": "healthy"}
    conn = sqlite3.connect(db_copy)
    conn.execute("UPDATE alembic_version SET version_num = '0000'")
    conn.commit()
    conn.close()
    behind = client.get("/health", headers=bearer)
    assert behind.status_code == 503
    assert "schema" in behind.get_json()["problems"][0]
    assert client.get("/health").get_json() == {"status": "unhealthy"}
    os.rename(db_copy, f"{db_copy}.moved")
    gone = client.get("/health", headers=bearer)
    assert gone.status_code == 503
    assert gone.get_json()["status"] == "unhealthy"
    assert client.get("/health").get_json() == {"status": "unhealthy"}


def test_secret_key_is_generated_once_and_kept_private(db_copy, monkeypatch) -> None:
    from bookedbiz.config import load_settings

    monkeypatch.delenv("SECRET_KEY", raising=False)
    settings = load_settings(data_path=db_copy.parent)
    first = make_app(db_copy, SECRET_KEY=None, SETTINGS=settings)
    second = make_app(db_copy, SECRET_KEY=None, SETTINGS=settings)
    key_file = db_copy.parent / "secret_key"
    assert key_file.is_file()
    assert oct(key_file.stat().st_mode & 0o777) == "0o600"
    assert first.config["SECRET_KEY"] == second.config["SECRET_KEY"]
    assert len(first.config["SECRET_KEY"]) >= 32


@pytest.mark.parametrize("path", ["/reports/", "/months/"])
def test_freshness_footer_and_stale_mark(db_copy, path) -> None:
    app = make_app(db_copy)
    client = app.test_client()
    login(client, "viewer")
    html = client.get(path).get_data(as_text=True)
    assert "Data last updated:" in html and "(stale)" not in html
    conn = sqlite3.connect(db_copy)
    conn.execute("UPDATE import_batches SET finished_at = '2020-01-01T00:00:00Z'")
    conn.commit()
    conn.close()
    html = client.get(path).get_data(as_text=True)
    assert "(stale)" not in html  # cached for five minutes
    app.extensions["bookedbiz.freshness"].clear()
    html = client.get(path).get_data(as_text=True)
    assert "(stale)" in html and "⚠" in html and "2019-12-31" in html

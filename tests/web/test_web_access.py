"""Who may reach what: anonymous visitors, each role, and CSRF on every form."""

from __future__ import annotations

import pytest
from flask import Flask
from tests.web.conftest import csrf_token, login, make_app

PUBLIC = {"/", "/login", "/health"}
ADMIN_PAGES = {"/admin/stewardship", "/admin/users", "/imports/upload"}


def sample_url(rule) -> str:  # noqa: ANN001 - a werkzeug Rule
    import plotly

    values = {
        "customer_id": 1,
        "batch_id": 1,
        "dimension": "market",
        "month": "2026-01",
        "username": "viewer",
        "token_id": 1,
        "subscription_id": 1,
        "version": plotly.__version__,
        "filename": "app.css",
    }
    missing = set(rule.arguments) - set(values)
    assert not missing, f"no sample value for {sorted(missing)} in {rule.rule}"
    return rule.build({k: values[k] for k in rule.arguments})[1]


def routes(app: Flask, method: str) -> list[str]:
    return sorted(
        {sample_url(rule) for rule in app.url_map.iter_rules() if method in rule.methods}
    )


def test_route_catalogue_is_complete(app: Flask) -> None:
    gets = routes(app, "GET")
    for expected in ("/reports/", "/reports/customers/", "/reports/aes/", "/months/",
                     "/reports/breakdowns/market", "/reports/customers/1", "/imports/",
                     "/imports/1", "/admin/stewardship", "/api/v1/revenue", "/health",
                     "/planning/", "/planning/budgets", "/planning/management",
                     "/reports/pacing", "/reports/changes", "/my-book", "/scoreboard",
                     "/admin/agencies", "/admin/sectors", "/admin/stale",
                     "/admin/language-review", "/admin/stewardship/preview", "/account",
                     "/api/v1/pacing", "/api/v1/feed/planning"):
        assert expected in gets, expected
    posts = routes(app, "POST")
    for expected in ("/account/digests", "/account/digests/1/remove", "/planning/forecast",
                     "/planning/budgets/grid", "/planning/budgets/paste",
                     "/admin/stewardship/undo", "/admin/sectors/assign",
                     "/admin/stale/deactivate", "/admin/agencies/rename"):
        assert expected in posts, expected
    assert len(posts) >= 12


def test_root_redirects_everyone_to_reports(app: Flask) -> None:
    response = app.test_client().get("/")
    assert response.status_code == 302
    assert response.headers["Location"] == "/reports/"


def test_every_page_sends_anonymous_visitors_to_login(app: Flask) -> None:
    client = app.test_client()
    checked = 0
    for url in routes(app, "GET"):
        response = client.get(url)
        if url in PUBLIC or url.startswith(("/static/", "/vendor/")):
            assert response.status_code in (200, 302), url
            continue
        checked += 1
        if url.startswith("/api/"):
            assert response.status_code == 401, url
            assert response.is_json and "error" in response.get_json()
        else:
            assert response.status_code == 302, url
            assert response.headers["Location"].startswith("/login?next="), url
    assert checked >= 20


def test_every_form_refuses_anonymous_posts_even_with_a_valid_token(app: Flask) -> None:
    client = app.test_client()
    token = csrf_token(client, "/login")
    for url in routes(app, "POST"):
        if url == "/login":
            continue
        response = client.post(url, data={"csrf_token": token})
        assert response.status_code == 302, url
        assert response.headers["Location"].startswith("/login"), url


def test_public_endpoints(app: Flask) -> None:
    client = app.test_client()
    assert client.get("/login").status_code == 200
    assert client.get("/health").status_code == 200
    assert client.get("/static/app.css").status_code == 200


def test_admin_nav_is_only_shown_to_admins(clients) -> None:
    assert "Stewardship" in clients["admin"].get("/reports/").get_data(as_text=True)
    for role in ("manager", "finance", "ae", "viewer"):
        assert "/admin/users" not in clients[role].get("/reports/").get_data(as_text=True)


ADMIN_WRITES = [
    ("/months/2026-01/reopen", {"reason": "test"}),
    ("/months/2026-05/close", {"reason": "test"}),
    ("/admin/stewardship/merge", {"survivor_id": "1", "merged_id": "2"}),
    ("/admin/stewardship/ae-alias", {"alias": "x", "ae": "House"}),
    ("/admin/users", {"username": "mallory", "password": "long-enough-pw", "role": "admin"}),
    ("/admin/users/viewer/role", {"role": "admin"}),
    ("/admin/users/viewer/active", {"active": "0"}),
    ("/admin/users/viewer/password", {"password": "new-password-123"}),
    ("/imports/upload", {"mode": "weekly"}),
]


@pytest.mark.parametrize("role", ["manager", "ae", "viewer"])
def test_non_admins_cannot_write(db_copy, role: str) -> None:
    app = make_app(db_copy)
    client = app.test_client()
    assert login(client, role).status_code == 302
    token = csrf_token(client)
    for url, data in ADMIN_WRITES:
        response = client.post(url, data={**data, "csrf_token": token})
        assert response.status_code == 403, (role, url)
    from bookedbiz import users
    from bookedbiz.db.connection import create_db_engine

    engine = create_db_engine(db_copy, readonly=True)
    with engine.connect() as conn:
        viewer = users.get_user_by_username(conn, "viewer")
        assert viewer.role == "viewer" and viewer.is_active
        assert users.get_user_by_username(conn, "mallory") is None
    engine.dispose()


def test_every_form_rejects_a_missing_csrf_token(db_copy) -> None:
    app = make_app(db_copy)
    client = app.test_client()
    assert login(client, "admin").status_code == 302
    posts = routes(app, "POST")
    for url in posts:
        response = client.post(url, data={"reason": "x", "name": "x", "username": "eve",
                                          "password": "long-enough-pw", "role": "admin"})
        assert response.status_code == 400, url
        assert "security token" in response.get_data(as_text=True), url
    # nothing was written: eve does not exist, admin is still signed in with the old password
    from bookedbiz import users
    from bookedbiz.db.connection import create_db_engine

    engine = create_db_engine(db_copy, readonly=True)
    with engine.connect() as conn:
        assert users.get_user_by_username(conn, "eve") is None
    engine.dispose()


def test_login_form_itself_needs_a_csrf_token(app: Flask) -> None:
    client = app.test_client()
    response = client.post("/login", data={"username": "admin",
                                           "password": "pass-admin-0123456789"})
    assert response.status_code == 400
    assert client.get("/reports/").status_code == 302

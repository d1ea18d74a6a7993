"""Sessions end for good: a copied session cookie is refused after sign-out, a password change,
an admin reset, a role change, disabling and "sign out everywhere"; sessions expire idle and
absolutely; API tokens die with a password reset or an admin's "revoke all"."""

from __future__ import annotations

import time
from datetime import timedelta
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from tests.core import dbstate
from tests.web import both
from tests.web.conftest import csrf_token, login, password_for

from bookedbiz import users

COOKIE = "bookedbiz_session"

# Every test of this module runs on a SQLite copy and on PostgreSQL (tests/web/both.py).
db_copy = both.db_copy
make_app = both.make_app


def copy_of(app: Flask, client: FlaskClient) -> FlaskClient:
    """Another browser holding a copy of ``client``'s cookie jar (a stolen cookie)."""
    thief = app.test_client()
    cookie = client.get_cookie(COOKIE)
    assert cookie is not None
    thief.set_cookie(COOKIE, cookie.value)
    return thief


def signed_in(client: FlaskClient) -> bool:
    response = client.get("/reports/")
    if response.status_code == 200:
        return True
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")
    return False


def admin_post(app: Flask, path: str, data: dict[str, str]) -> None:
    admin = app.test_client()
    assert login(admin, "admin").status_code == 302
    response = admin.post(path, data={**data, "csrf_token": csrf_token(admin)})
    assert response.status_code == 302, response.get_data(as_text=True)


def sign_out(app: Flask, client: FlaskClient) -> None:
    assert client.post("/logout", data={"csrf_token": csrf_token(client)}).status_code == 302


def sign_out_everywhere(app: Flask, client: FlaskClient) -> None:
    response = client.post("/account/sign-out-everywhere",
                           data={"csrf_token": csrf_token(client)})
    assert response.status_code == 302


def change_own_password(app: Flask, client: FlaskClient) -> None:
    client.post("/account/password", data={
        "csrf_token": csrf_token(client), "current_password": password_for("viewer"),
        "new_password": "a-brand-new-password", "confirm_password": "a-brand-new-password"})
    assert signed_in(client)  # the browser that changed it stays signed in


def admin_reset(app: Flask, _client: FlaskClient) -> None:
    admin_post(app, "/admin/users/viewer/password", {"password": "reset-by-the-admin"})


def role_change(app: Flask, _client: FlaskClient) -> None:
    admin_post(app, "/admin/users/viewer/role", {"role": "manager"})


def disabling(app: Flask, _client: FlaskClient) -> None:
    admin_post(app, "/admin/users/viewer/active", {"active": "0"})


EVENTS = [sign_out, sign_out_everywhere, change_own_password, admin_reset, role_change,
          disabling]


@pytest.mark.parametrize("event", EVENTS, ids=lambda e: e.__name__)
def test_a_copied_cookie_is_refused_after(db_copy: Path | str, event) -> None:  # noqa: ANN001
    app = make_app(db_copy)
    victim = app.test_client()
    assert login(victim, "viewer").status_code == 302
    other_device = app.test_client()
    assert login(other_device, "viewer").status_code == 302
    thief = copy_of(app, victim)
    assert signed_in(thief)  # the copy works until the event
    event(app, victim)
    assert not signed_in(thief)
    assert not signed_in(other_device)
    assert thief.get("/api/v1/me").status_code == 401  # and the API never took cookies


def test_sign_out_everywhere_is_on_the_account_page(db_copy: Path | str) -> None:
    client = make_app(db_copy).test_client()
    login(client, "viewer")
    html = client.get("/account").get_data(as_text=True)
    assert "/account/sign-out-everywhere" in html and "Sign out everywhere" in html


def test_absolute_lifetime_ends_an_active_session(db_copy: Path | str) -> None:
    app = make_app(db_copy, SESSION_ABSOLUTE_LIFETIME=timedelta(seconds=2))
    client = app.test_client()
    login(client, "viewer")
    for _ in range(3):  # in use all the time: the idle limit alone would never end it
        assert signed_in(client)
        time.sleep(0.5)
    time.sleep(1.0)
    assert not signed_in(client)
    login(client, "viewer")  # a new sign-in starts a new lifetime
    assert signed_in(client)


def test_idle_lifetime_ends_a_copied_cookie(db_copy: Path | str) -> None:
    app = make_app(db_copy, PERMANENT_SESSION_LIFETIME=timedelta(seconds=1))
    client = app.test_client()
    login(client, "viewer")
    thief = copy_of(app, client)
    time.sleep(2.2)
    assert not signed_in(thief)


def test_a_session_without_a_version_is_refused(db_copy: Path | str) -> None:
    """A cookie naming only the user id (before session versions) does not sign anyone in."""
    app = make_app(db_copy)
    client = app.test_client()
    with client.session_transaction() as sess:
        sess["_user_id"] = "1"
        sess["_fresh"] = True
        sess["_bookedbiz_login_at"] = time.time()
    assert not signed_in(client)


def _tokens_alive(db: Path | str, username: str) -> int:
    return int(dbstate.scalar(
        db, "SELECT COUNT(*) FROM api_tokens t JOIN users u ON u.user_id = t.user_id "
        "WHERE u.username = :u AND t.revoked_at IS NULL", u=username))


def test_admin_reset_revokes_tokens_and_own_change_keeps_them(db_copy: Path | str) -> None:
    _, token = users.create_token(db_copy, "viewer", "sheet")
    app = make_app(db_copy)
    api = app.test_client()
    bearer = {"Authorization": f"Bearer {token}"}
    assert api.get("/api/v1/me", headers=bearer).status_code == 200
    viewer = app.test_client()
    login(viewer, "viewer")
    change_own_password(app, viewer)
    assert api.get("/api/v1/me", headers=bearer).status_code == 200
    admin_reset(app, viewer)
    assert api.get("/api/v1/me", headers=bearer).status_code == 401
    assert _tokens_alive(db_copy, "viewer") == 0


def test_admin_revokes_all_tokens_of_a_user(db_copy: Path | str) -> None:
    tokens = [users.create_token(db_copy, "manager", f"sheet {i}")[1] for i in range(3)]
    users.create_token(db_copy, "viewer", "keeps working")
    app = make_app(db_copy)
    admin = app.test_client()
    login(admin, "admin")
    page = admin.get("/admin/users").get_data(as_text=True)
    assert "/admin/users/manager/tokens/revoke" in page
    response = admin.post("/admin/users/manager/tokens/revoke",
                          data={"csrf_token": csrf_token(admin)}, follow_redirects=True)
    assert "3 API tokens of manager revoked" in response.get_data(as_text=True)
    api = app.test_client()
    for token in tokens:
        assert api.get("/api/v1/me",
                       headers={"Authorization": f"Bearer {token}"}).status_code == 401
    assert _tokens_alive(db_copy, "viewer") == 1


def test_cli_reset_ends_sessions_and_revokes_tokens(db_copy: Path | str) -> None:
    from click.testing import CliRunner

    from bookedbiz.cli.main import cli

    users.create_token(db_copy, "viewer", "sheet")
    app = make_app(db_copy)
    client = app.test_client()
    login(client, "viewer")
    result = CliRunner().invoke(cli, ["users", "passwd", "viewer", "--password",
                                      "from-the-command-line", "--db", str(db_copy)])
    assert result.exit_code == 0, result.output
    assert "1 API token(s) revoked" in result.output
    assert not signed_in(client)
    login(client, "viewer")
    assert not signed_in(client)  # the old password is gone
    assert login(client, "viewer", "from-the-command-line").status_code == 302
    result = CliRunner().invoke(cli, ["users", "sign-out", "viewer", "--db", str(db_copy)])
    assert result.exit_code == 0 and not signed_in(client)


# -- sign-in throttling ------------------------------------------------------------------------

def _fail(client: FlaskClient, username: str, address: str) -> int:
    page = client.get("/login")
    from tests.web.conftest import csrf_from

    return client.post("/login", data={
        "username": username, "password": "wrong-password-000",
        "csrf_token": csrf_from(page.get_data(as_text=True))},
        environ_base={"REMOTE_ADDR": address}).status_code


def test_one_user_from_many_addresses_is_throttled(db_copy: Path | str) -> None:
    app = make_app(db_copy, LOGIN_FAIL_LIMIT=3, LOGIN_FAIL_USER_LIMIT=5,
                   LOGIN_FAIL_GLOBAL_LIMIT=100)
    client = app.test_client()
    codes = [_fail(client, "viewer", f"10.0.0.{i}") for i in range(7)]
    assert codes[:5] == [401] * 5 and codes[5:] == [429, 429]
    # even the right password from a new address waits: the account is under attack
    page = client.get("/login")
    from tests.web.conftest import csrf_from

    response = client.post("/login", data={
        "username": "viewer", "password": password_for("viewer"),
        "csrf_token": csrf_from(page.get_data(as_text=True))},
        environ_base={"REMOTE_ADDR": "10.0.9.9"})
    assert response.status_code == 429
    assert "for this user" in response.get_data(as_text=True)
    assert int(response.headers["Retry-After"]) > 0
    assert login(app.test_client(), "manager").status_code == 302  # others are unaffected


def test_spraying_many_users_hits_the_global_limit(db_copy: Path | str) -> None:
    app = make_app(db_copy, LOGIN_FAIL_LIMIT=3, LOGIN_FAIL_USER_LIMIT=5,
                   LOGIN_FAIL_GLOBAL_LIMIT=8)
    client = app.test_client()
    codes = [_fail(client, f"guess{i}", f"10.1.0.{i}") for i in range(10)]
    assert codes[:8] == [401] * 8 and codes[8:] == [429, 429]
    response = client.post("/login", data={"username": "x", "password": "y",
                                            "csrf_token": csrf_token(client, "/login")})
    assert "on this server" in response.get_data(as_text=True)
    # the count lives in the database: a second app (another worker) sees it too
    other = make_app(db_copy, LOGIN_FAIL_LIMIT=3, LOGIN_FAIL_USER_LIMIT=5,
                     LOGIN_FAIL_GLOBAL_LIMIT=8)
    assert _fail(other.test_client(), "someone", "10.2.0.1") == 429

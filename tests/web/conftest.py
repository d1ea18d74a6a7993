"""Fixtures for the web tests: a small generated database imported through the real import
service, one user per role, logged-in test clients, and helpers for CSRF tokens."""

from __future__ import annotations

import csv
import io
import os
import re
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from bookedbiz import permissions, users
from bookedbiz.synth.demo import build_demo_database
from bookedbiz.web import create_app

ROLES = permissions.ROLES
TODAY = date(2026, 6, 15)
YEAR = 2026


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def uvicorn_server(folder: Path, db: Path | str, secret_key: str,
                   wait_seconds: float) -> Iterator[tuple[str, subprocess.Popen]]:
    """The real app under a real uvicorn on a free loopback port: (base URL, process), once
    /health answers 200; stopped on exit. Its log is ``folder``/uvicorn.log, shown if it never
    comes up. ``db`` is a SQLite file, or a PostgreSQL URL (given as DATABASE_URL)."""
    where = ({"DATABASE_URL": db} if isinstance(db, str) and "://" in db
             else {"DATABASE_PATH": str(db)})
    env = dict(os.environ, **where, DATA_PATH=str(folder), SECRET_KEY=secret_key)
    log = open(folder / "uvicorn.log", "wb")  # noqa: SIM115 - closed below
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "bookedbiz.web.asgi:app", "--host", "127.0.0.1",
         "--port", str(port), "--log-level", "warning"],
        env=env, stdout=log, stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + wait_seconds
    try:
        while True:
            try:
                with urllib.request.urlopen(base + "/health", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                log.flush()
                raise RuntimeError((folder / "uvicorn.log").read_text())
            time.sleep(0.2)
        yield base, proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def password_for(role: str) -> str:
    return f"pass-{role}-0123456789"


@pytest.fixture(scope="session")
def base_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two years of closed history and a few open months, plus one user per role."""
    folder = tmp_path_factory.mktemp("webdb")
    path = folder / "bookedbiz.db"
    build_demo_database(path, years=2, seed=11, rows_per_month=120, today=TODAY)
    for role in ROLES:
        users.create_user(path, role, password_for(role), role, full_name=f"{role.title()} User",
                          ae=ae_of_user(path) if role == "ae" else None)
    _backup(path, pristine(path))
    return path


def pristine(base: Path) -> Path:
    """The untouched copy of ``base_db``: tests on the shared session app sign in and create
    tokens in ``base_db`` itself, so private copies are made from this one."""
    return base.parent / "pristine.db"


def _backup(source: Path, dest: Path) -> None:
    """A consistent copy, the write-ahead log included (a plain file copy can miss it)."""
    src, out = sqlite3.connect(source), sqlite3.connect(dest)
    try:
        src.backup(out)
    finally:
        out.close()
        src.close()


def ae_of_user(path: Path) -> str:
    """The AE the ``ae`` user is linked to: the one with the most spots in the test year."""
    conn = sqlite3.connect(path)
    try:
        return conn.execute(
            "SELECT a.name FROM spot_summary s JOIN aes a ON a.ae_id = s.ae_id "
            "WHERE s.broadcast_month LIKE ? GROUP BY a.ae_id ORDER BY SUM(s.spots) DESC, a.name "
            "LIMIT 1", (f"{YEAR}-%",)
        ).fetchone()[0]
    finally:
        conn.close()


@pytest.fixture()
def db_copy(base_db: Path, tmp_path: Path) -> Path:
    """A private copy for tests that write (closing months, merging, adding users)."""
    dest = tmp_path / "data" / "bookedbiz.db"
    dest.parent.mkdir(parents=True)
    _backup(pristine(base_db), dest)
    return dest


def make_app(db: Path, **config: object) -> Flask:
    settings = {"DATABASE_PATH": str(db), "SECRET_KEY": "test-secret-" + "x" * 32,
                "DATA_PATH": str(db.parent)}
    settings.update(config)
    return create_app(settings)


@pytest.fixture(scope="session")
def app(base_db: Path) -> Flask:
    return make_app(base_db)


def page_csv(client: FlaskClient, path: str, query: dict, table: str | None = None
             ) -> list[dict]:
    """A report page's CSV export (one ``table`` of it), as dicts; the request must succeed."""
    args = dict(query, format="csv")
    if table:
        args["table"] = table
    response = client.get(path, query_string=args)
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    return list(csv.DictReader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))


def csrf_from(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "the page has no CSRF token"
    return match.group(1)


def login(client: FlaskClient, username: str, password: str | None = None):  # noqa: ANN201
    page = client.get("/login")
    token = csrf_from(page.get_data(as_text=True))
    return client.post(
        "/login",
        data={"username": username, "password": password or password_for(username),
              "csrf_token": token},
    )


def csrf_token(client: FlaskClient, path: str = "/account") -> str:
    """A valid CSRF token for the client's session (any page with a form has one)."""
    return csrf_from(client.get(path).get_data(as_text=True))


@pytest.fixture(scope="session")
def clients(app: Flask) -> dict[str, FlaskClient]:
    """One signed-in client per role (read-only tests share them)."""
    out = {}
    for role in ROLES:
        client = app.test_client()
        response = login(client, role)
        assert response.status_code == 302, response.get_data(as_text=True)
        out[role] = client
    return out


@pytest.fixture()
def admin_client(db_copy: Path) -> Iterator[FlaskClient]:
    client = make_app(db_copy).test_client()
    assert login(client, "admin").status_code == 302
    yield client

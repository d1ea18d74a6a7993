"""The web tests that write, on both databases (issue 14): ``db_copy`` is the web test data
(one user per role) as a private SQLite copy, then copied into a fresh PostgreSQL database (a
URL); ``make_app`` starts the real app on either. Import both into a test module to run its
tests on SQLite and PostgreSQL."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from tests.web.conftest import make_app as make_sqlite_app
from tests.web.conftest import pristine

from bookedbiz.web import create_app


@pytest.fixture()
def db_copy(base_db: Path, tmp_path: Path, database: str) -> Path | str:
    """The web test data: a private SQLite copy, or the same rows in PostgreSQL (a URL)."""
    if "://" in database:
        from tests.core.copy_data import copy_database

        copy_database(pristine(base_db), database)
        return database
    dest = tmp_path / "web" / "bookedbiz.db"
    dest.parent.mkdir(parents=True)
    shutil.copyfile(pristine(base_db), dest)
    return dest


def make_app(db: Path | str, **config: object) -> Flask:
    """The real app on ``db``: a SQLite file, or a PostgreSQL server named by DATABASE_URL."""
    if isinstance(db, Path):
        return make_sqlite_app(db, **config)
    folder = Path(tempfile.mkdtemp(prefix="bookedbiz-web-"))
    return create_app({"DATABASE_URL": db, "SECRET_KEY": "test-secret-" + "x" * 32,
                       "DATA_PATH": str(folder), **config})


@pytest.fixture()
def admin_client(db_copy: Path | str) -> Iterator[FlaskClient]:
    """The admin, signed in, on ``db_copy`` (either database)."""
    from tests.web.conftest import login

    client = make_app(db_copy).test_client()
    assert login(client, "admin").status_code == 302
    yield client

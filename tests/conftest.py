"""Shared fixtures: a real, initialised SQLite file per test and a CLI runner."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from click.testing import CliRunner
from tests.databases import database, pg_server, pg_url  # noqa: F401 - fixtures for every suite

from bookedbiz.db.migrate import init_database

# Tests never read the developer's own environment or .env file.
for _name in list(os.environ):
    if _name.startswith(("DATABASE_PATH", "DATABASE_URL", "DATA_PATH", "DROPBOX_", "NOTIFY_",
                         "BOOKEDBIZ_")):
        os.environ.pop(_name)


@pytest.fixture()
def db_path(tmp_path: Path) -> Path:
    """A freshly initialised database file in the test's temp folder."""
    path = tmp_path / "data" / "bookedbiz.db"
    init_database(path)
    return path


@pytest.fixture()
def runner(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> CliRunner:
    monkeypatch.chdir(tmp_path)
    return CliRunner()

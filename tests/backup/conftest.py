"""Fixtures for the backup tests: the fake Dropbox, environments, a database with spots.

``backup_helpers`` is imported first: it starts the fake server and sets DROPBOX_API_HOST and
friends before anything imports the ``dropbox`` SDK (see its docstring).
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from backup_helpers import DROPBOX_ENV, FAKE, add_spots  # noqa: E402
from fake_dropbox import FakeDropbox  # noqa: E402

from bookedbiz.config import Settings  # noqa: E402
from bookedbiz.db.migrate import init_database  # noqa: E402


@pytest.fixture()
def fake() -> Iterator[FakeDropbox]:
    FAKE.reset()
    yield FAKE
    FAKE.reset()


@pytest.fixture()
def live_db(tmp_path: Path) -> Path:
    """An initialised database with 500 spots in tmp/data."""
    path = tmp_path / "data" / "bookedbiz.db"
    init_database(path)
    add_spots(path, 500)
    return path


@pytest.fixture()
def dropbox_env(monkeypatch: pytest.MonkeyPatch, fake: FakeDropbox,
                live_db: Path) -> dict[str, str]:
    """Environment for CLI runs against the fake Dropbox (and DATABASE_PATH = live_db)."""
    env = dict(DROPBOX_ENV, DATABASE_PATH=str(live_db))
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("BACKUP_LOCAL_DIR", raising=False)
    return env


@pytest.fixture()
def local_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, live_db: Path) -> Path:
    """Environment for the local-folder target (no Dropbox credentials)."""
    root = tmp_path / "nas"
    root.mkdir()
    for key in ("DROPBOX_APP_KEY", "DROPBOX_APP_SECRET", "DROPBOX_REFRESH_TOKEN",
                "DROPBOX_ACCESS_TOKEN"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("BACKUP_LOCAL_DIR", str(root))
    monkeypatch.setenv("DATABASE_PATH", str(live_db))
    return root


@pytest.fixture()
def dropbox_settings(dropbox_env: dict[str, str]) -> Settings:
    return Settings(_env_file=None)  # type: ignore[call-arg]

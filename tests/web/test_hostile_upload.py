"""Hostile workbooks uploaded to the real app under a real uvicorn (SPEC §3 "Untrusted files"):
each is refused with one sentence (400) within seconds, the server stays small and keeps
answering /health, the data is unchanged, and upload temp files a crash left behind are removed
when the app starts."""

from __future__ import annotations

import html
import os
import re
import shutil
import time
from pathlib import Path

import pytest
import requests
from tests.core.conftest import data_checksum
from tests.core.hostile_files import sparse_dimension, zip_bomb
from tests.web.conftest import password_for, pristine, uvicorn_server

SECONDS = 20
SERVER_PEAK_MB = 400


def _peak_rss_mb(pid: int) -> int:
    """VmHWM: the most memory the server process ever had resident."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) // 1024
    raise AssertionError("no VmHWM")


@pytest.fixture(scope="module")
def server(base_db: Path, tmp_path_factory: pytest.TempPathFactory):  # noqa: ANN201
    folder = tmp_path_factory.mktemp("hostile-web")
    db = folder / "bookedbiz.db"
    shutil.copyfile(pristine(base_db), db)
    uploads = folder / "uploads"
    uploads.mkdir()
    # What a worker killed mid-upload leaves: its pid (not running any more) in the name.
    stale = uploads / "upload-999999999-abc123-Commercial Log 250101.xlsx"
    stale.write_bytes(b"PK\x03\x04 half an upload")
    with uvicorn_server(folder, db, "hostile-secret-" + "z" * 32, wait_seconds=60) as (base, proc):
        yield {"base": base, "db": db, "proc": proc, "uploads": uploads, "stale": stale}


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("hostile-files")
    sparse = sparse_dimension(folder / "Commercial Log 251105.xlsx")
    bomb = zip_bomb(folder / "bomb.xlsx")
    return {"sparse": sparse, "bomb": bomb,
            "sparse.xls": Path(shutil.copyfile(sparse, folder / "report.xls")),
            "bomb.ods": Path(shutil.copyfile(bomb, folder / "report.ods"))}


def _token(page: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert match, page[:500]
    return match.group(1)


@pytest.fixture(scope="module")
def admin(server: dict) -> requests.Session:
    session = requests.Session()
    page = session.get(server["base"] + "/login", timeout=10).text
    response = session.post(server["base"] + "/login", timeout=10, allow_redirects=False,
                            data={"username": "admin", "password": password_for("admin"),
                                  "csrf_token": _token(page)})
    assert response.status_code == 302, response.text[:500]
    return session


def test_start_up_removed_the_crashed_upload(server: dict) -> None:
    assert not server["stale"].exists()


@pytest.mark.parametrize("name", ["sparse", "bomb", "sparse.xls", "bomb.ods"])
def test_hostile_upload_is_refused_and_the_server_lives(server: dict, admin: requests.Session,
                                                        files: dict[str, Path],
                                                        name: str) -> None:
    base = server["base"]
    before = data_checksum(server["db"])
    token = _token(admin.get(base + "/imports/upload", timeout=10).text)
    started = time.monotonic()
    with files[name].open("rb") as handle:
        response = admin.post(base + "/imports/upload", timeout=120,
                              data={"csrf_token": token, "mode": "weekly"},
                              files={"workbook": (files[name].name, handle)})
    seconds = time.monotonic() - started
    assert response.status_code == 400, response.text[:1000]
    text = html.unescape(response.text)
    assert "refused as damaged or hostile" in text or "is a zip bomb" in text, text[-2000:]
    assert seconds < SECONDS
    assert requests.get(base + "/health", timeout=5).status_code == 200
    assert server["proc"].poll() is None
    assert _peak_rss_mb(server["proc"].pid) < SERVER_PEAK_MB
    assert data_checksum(server["db"]) == before
    assert not any(server["uploads"].iterdir())  # the temp file of this upload is gone too


def test_start_up_keeps_a_live_workers_upload(tmp_path: Path) -> None:
    """Another worker's upload in progress survives a restart of this one; a dead worker's, a
    day-old one and nothing else goes."""
    from bookedbiz.web.blueprints.imports import remove_stale_uploads

    live = tmp_path / f"upload-{os.getpid()}-x1-log.xlsx"
    dead = tmp_path / "upload-999999999-x2-log.xlsx"
    old = tmp_path / f"upload-{os.getpid()}-x3-log.xlsx"
    other = tmp_path / "notes.txt"
    for path in (live, dead, old, other):
        path.write_bytes(b"x")
    two_days_ago = time.time() - 2 * 86400
    os.utime(old, (two_days_ago, two_days_ago))
    assert remove_stale_uploads(tmp_path) == 2
    assert live.exists() and other.exists() and not dead.exists() and not old.exists()

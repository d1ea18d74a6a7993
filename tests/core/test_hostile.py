"""Hostile workbooks cost nothing (SPEC §3 "Untrusted files"): a sheet that claims 17 billion
cells, one far cell, a 1 MB zip that unpacks to 1 GB, and the same files under another suffix
are refused within seconds, in little memory, with one sentence and the database unchanged;
and what the checks miss is stopped by the parse child's memory limit and time budget."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
import time
import zipfile
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from tests.core.conftest import data_checksum
from tests.core.hostile_files import far_cell, sparse_dimension, zip_bomb

from bookedbiz.errors import WorkbookError
from bookedbiz.ingest.child import ChildParse, ParseLimits
from bookedbiz.ingest.guard import GuardLimits, inspect_workbook
from bookedbiz.ingest.reader import open_workbook
from bookedbiz.ingest.service import import_workbook

SECONDS = 20  # "within seconds", on a shared 2-core machine
PEAK_MB = 300  # "under a few hundred MB", CLI process and its parse child together


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("hostile")
    files = {
        "sparse": sparse_dimension(folder / "sparse.xlsx"),
        "far-cell": far_cell(folder / "far-cell.xlsx"),
        "bomb": zip_bomb(folder / "bomb.xlsx"),
    }
    for name, suffix in (("sparse", ".xls"), ("sparse", ".ods"), ("bomb", ".xls"),
                         ("bomb", ".ods"), ("sparse", ".xlsb")):
        files[f"{name}{suffix}"] = Path(shutil.copyfile(files[name],
                                                        folder / f"{name}-renamed{suffix}"))
    return files


@pytest.fixture()
def loaded_db(db_path: Path, workbooks: dict[str, Path]) -> Path:
    import_workbook(db_path, workbooks["daily"], today=date(2025, 11, 5))
    return db_path


def test_files_are_small(hostile: dict[str, Path]) -> None:
    assert hostile["sparse"].stat().st_size < 8_000
    assert hostile["bomb"].stat().st_size < 1_200_000


@pytest.mark.parametrize("name, phrase", [
    ("sparse", "claims 16,384 columns"),
    ("far-cell", "has cells out to 16,384 columns"),
    ("bomb", "is a zip bomb"),
    ("sparse.ods", "claims 16,384 columns"),  # the format comes from the bytes
])
def test_guard_refuses_before_any_parser(hostile: dict[str, Path], name: str,
                                         phrase: str) -> None:
    started = time.monotonic()
    with pytest.raises(WorkbookError, match=phrase):
        inspect_workbook(hostile[name])
    assert time.monotonic() - started < 2


def test_guard_passes_real_logs(workbooks: dict[str, Path]) -> None:
    for path in workbooks.values():
        assert inspect_workbook(path).kind == "xlsx"


def _run_cli(*args: str, cwd: Path) -> tuple[int, str, str, float, int]:
    """Exit code, stdout, stderr, seconds and peak RSS in MB of ``bookedbiz ARGS`` as a real
    process; wait4 counts the reaped parse child too."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_PATH", "DATA_PATH"))}
    started = time.monotonic()
    proc = subprocess.Popen([sys.executable, "-m", "bookedbiz", *args], cwd=cwd, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            stdin=subprocess.DEVNULL)
    stdout, stderr = proc.stdout.read(), proc.stderr.read()  # small outputs: no deadlock
    _pid, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    proc.stdout.close()
    proc.stderr.close()
    return (proc.returncode, stdout.decode(), stderr.decode(), time.monotonic() - started,
            usage.ru_maxrss // 1024)


@pytest.mark.parametrize("name", ["sparse", "far-cell", "bomb", "sparse.xls", "sparse.ods",
                                  "bomb.xls", "bomb.ods", "sparse.xlsb"])
def test_cli_import_refuses(hostile: dict[str, Path], loaded_db: Path, tmp_path: Path,
                            name: str) -> None:
    before = data_checksum(loaded_db)
    code, out, err, seconds, peak = _run_cli("import", str(hostile[name]), "--db", str(loaded_db),
                                             cwd=tmp_path)
    assert code != 0, out
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), err
    assert "refused as damaged or hostile" in err or "zip bomb" in err, err
    assert "Traceback" not in out + err
    assert seconds < SECONDS and peak < PEAK_MB, (seconds, peak)
    assert data_checksum(loaded_db) == before


@pytest.mark.parametrize("name", ["sparse", "bomb", "sparse.ods"])
def test_cli_daily_update_refuses(hostile: dict[str, Path], loaded_db: Path, tmp_path: Path,
                                  name: str) -> None:
    before = data_checksum(loaded_db)
    code, out, err, seconds, peak = _run_cli(
        "daily-update", str(hostile[name]), "--unattended", "--today", "2025-11-05",
        "--db", str(loaded_db), cwd=tmp_path)
    assert code != 0
    assert err.strip().count("\n") == 0 and "refused as damaged or hostile" in err or (
        "zip bomb" in err), err
    assert seconds < SECONDS and peak < PEAK_MB, (seconds, peak)
    assert data_checksum(loaded_db) == before


@pytest.fixture(params=["fork", "spawn"])
def start(request: pytest.FixtureRequest) -> Iterator[str]:
    """How the parse child starts: forked (a single-threaded importer such as the CLI) or as a
    fresh interpreter (a threaded parent such as the web server, forced here by a live thread);
    both must obey the limits they are given."""
    if request.param == "fork":  # forked while this process has one thread
        yield "fork"
        return
    stop = threading.Event()
    thread = threading.Thread(target=stop.wait, daemon=True)
    thread.start()
    try:
        yield "spawn"
    finally:
        stop.set()
        thread.join()


def _unguarded(**limits: object) -> ParseLimits:
    """Limits whose file checks let everything through, to test the child's own limits."""
    guard = GuardLimits(max_ratio=1e12, max_columns=20_000, max_cells=10**12,
                        max_sparse_rows=10**9, scan_bytes=0)
    return ParseLimits(guard=guard, **limits)


def test_the_memory_limit_stops_what_the_checks_let_through(hostile: dict[str, Path],
                                                            start: str) -> None:
    """With the checks off, the bomb's 1 GB of sheet XML meets the reader in a child allowed
    128 MB: the child dies, the parent gives one sentence and stays small."""
    started = time.monotonic()
    with pytest.raises(WorkbookError, match="refused as damaged or hostile") as caught:
        with open_workbook(hostile["bomb"], _unguarded(memory_mib=128, seconds=60)) as book:
            for sheet in book.sheets:
                for _row in sheet.rows:
                    pass
    assert time.monotonic() - started < SECONDS
    assert "memory" in str(caught.value) or "SIG" in str(caught.value), caught.value


def test_the_time_budget_stops_a_slow_reader(hostile: dict[str, Path], start: str) -> None:
    """A reader still busy after the budget is killed; only the time spent waiting for it
    counts, so a slow database on the parent's side is not held against the file."""
    limits = _unguarded(memory_mib=2048, seconds=0.3)
    started = time.monotonic()
    with pytest.raises(WorkbookError, match="time budget"):
        with open_workbook(hostile["bomb"], limits) as book:
            for sheet in book.sheets:
                for _row in sheet.rows:
                    pass
    assert time.monotonic() - started < SECONDS


def test_the_child_is_reaped_and_measured(workbooks: dict[str, Path]) -> None:
    parse = ChildParse(workbooks["daily"], ParseLimits())
    rows = sum(1 for index in range(len(parse.sheet_names)) for _ in parse.rows(index))
    assert rows > 2000
    assert parse.exit_status == 0 and 0 < parse.peak_rss_kb < PEAK_MB * 1024
    with pytest.raises(ChildProcessError):
        os.waitpid(parse.pid, os.WNOHANG)


def test_an_abandoned_import_stops_its_child(workbooks: dict[str, Path]) -> None:
    book = open_workbook(workbooks["daily"])
    next(iter(book.sheets[0].rows))
    pid = book.parse.pid
    book.close()
    with pytest.raises(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)


def test_a_threaded_parent_spawns_a_fresh_interpreter(hostile: dict[str, Path],
                                                      workbooks: dict[str, Path],
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """The web server has threads, so it never forks: the child is a new interpreter (same
    limits, same protocol)."""
    import threading

    def no_fork() -> int:
        raise AssertionError("forked a threaded process")

    monkeypatch.setattr(os, "fork", no_fork)

    stop = threading.Event()
    thread = threading.Thread(target=stop.wait)
    thread.start()
    try:
        with pytest.raises(WorkbookError, match="claims 16,384 columns"):
            ChildParse(hostile["sparse.ods"], ParseLimits())
        parse = ChildParse(workbooks["daily"], ParseLimits())
        rows = sum(1 for index in range(len(parse.sheet_names)) for _ in parse.rows(index))
        assert rows > 2000 and parse.exit_status == 0
    finally:
        stop.set()
        thread.join()


def test_a_lower_limit_from_the_service_manager_is_kept(workbooks: dict[str, Path]) -> None:
    """Under systemd's LimitAS= (a hard limit below ours) the child still runs, inside it."""
    code = (
        "import resource, sys\n"
        "from pathlib import Path\n"
        "resource.setrlimit(resource.RLIMIT_AS, (8 << 30, 8 << 30))\n"
        "from bookedbiz.ingest.child import ChildParse, ParseLimits\n"
        "parse = ChildParse(Path(sys.argv[1]), ParseLimits(memory_mib=65536))\n"
        "print(sum(1 for i in range(len(parse.sheet_names)) for _ in parse.rows(i)))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code, str(workbooks["daily"])],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert int(proc.stdout) > 2000


@pytest.mark.parametrize("column, row, phrase", [
    ("XFD", 4000, "cells wide"),  # a row 16,384 cells wide
    ("A", 1_048_576, "empty rows in a row"),  # a million rows of padding
])
def test_the_child_refuses_what_the_bounded_scan_did_not_reach(
        tmp_path: Path, loaded_db: Path, column: str, row: int, phrase: str) -> None:
    from tests.core.hostile_files import hidden_far_cell

    from bookedbiz.ingest.guard import DEFAULT_LIMITS

    path = hidden_far_cell(tmp_path / "late.xlsx", column, row)
    with zipfile.ZipFile(path) as archive:
        assert archive.getinfo("xl/worksheets/sheet1.xml").file_size > DEFAULT_LIMITS.scan_bytes
    inspect_workbook(path)  # the checks before parsing pass ...
    before = data_checksum(loaded_db)
    started = time.monotonic()
    with pytest.raises(WorkbookError, match=phrase):  # ... the child stops it as it reads
        import_workbook(loaded_db, path, mode="historical", closed_by="x",
                        today=date(2025, 11, 5))
    assert time.monotonic() - started < SECONDS
    assert data_checksum(loaded_db) == before


def test_an_xlsb_claiming_the_whole_grid_is_refused(tmp_path: Path) -> None:
    """.xlsb has no streaming reader, so its declared dimension (the BrtWsDim record) is read
    before python-calamine would allocate it."""
    import struct

    begin_sheet = bytes([0x81, 0x03, 0x00])  # BrtBeginSheet, empty
    dimension = bytes([0x94, 0x01, 16]) + struct.pack("<4I", 0, 1_048_575, 0, 16_383)
    path = tmp_path / "grid.xlsb"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("xl/workbook.bin", b"")
        archive.writestr("xl/worksheets/sheet1.bin", begin_sheet + dimension)
    with pytest.raises(WorkbookError, match="claims 16,384 columns"):
        inspect_workbook(path)
    honest = tmp_path / "small.xlsb"
    with zipfile.ZipFile(honest, "w") as archive:
        archive.writestr("xl/workbook.bin", b"")
        archive.writestr("xl/worksheets/sheet1.bin", begin_sheet + bytes([0x94, 0x01, 16])
                         + struct.pack("<4I", 0, 9_999, 0, 28))
    assert inspect_workbook(honest).kind == "xlsb"


def test_a_giant_batch_is_refused_not_held(workbooks: dict[str, Path], start: str) -> None:
    """Rows far larger than a log's (here: any batch above 20 KB) are refused by the child
    before the parent has to hold them."""
    with pytest.raises(WorkbookError, match="far larger than a commercial log"):
        with open_workbook(workbooks["daily"], ParseLimits(max_frame_bytes=20_000)) as book:
            for sheet in book.sheets:
                for _row in sheet.rows:
                    pass

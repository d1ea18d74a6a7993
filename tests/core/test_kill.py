"""Kill the importer at random moments: every month is either fully old or fully new."""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import pytest
from tests.core.independent import sums_by

from bookedbiz.ingest.service import import_workbook

pytestmark = pytest.mark.slow


def _month_counts(db: Path) -> dict[str, int]:
    conn = sqlite3.connect(db)
    try:
        return dict(conn.execute(
            "SELECT broadcast_month, COUNT(*) FROM spots WHERE is_trade = 0 GROUP BY 1"))
    finally:
        conn.close()


def test_killed_imports_leave_whole_months(db_path: Path, workbooks) -> None:
    old, new = workbooks["daily"], workbooks["daily_b"]
    import_workbook(db_path, old, today=date(2025, 11, 5))
    old_counts = _month_counts(db_path)
    expected_new = {m: s["spots"] for m, s in sums_by(new).items() if m in old_counts}
    assert old_counts != expected_new
    rng = random.Random(20261123)
    env = dict(os.environ, BOOKEDBIZ_BUSY_TIMEOUT_MS="2000")
    outcomes = {"old": 0, "new": 0}
    for run in range(22):
        source = new if run % 2 == 0 else old
        process = subprocess.Popen(
            [sys.executable, "-m", "bookedbiz", "import", str(source), "--db", str(db_path),
             "--today", "2025-11-05"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env,
        )
        time.sleep(rng.uniform(0.3, 1.6))
        process.send_signal(signal.SIGKILL)
        process.wait()
        counts = _month_counts(db_path)
        if counts == old_counts:
            outcomes["old"] += 1
        elif counts == expected_new:
            outcomes["new"] += 1
        else:
            pytest.fail(f"run {run}: months are mixed: {counts}")
        integrity = sqlite3.connect(db_path).execute("PRAGMA integrity_check").fetchone()[0]
        assert integrity == "ok"
    # the next normal run marks any batch left 'running' by the kills as failed
    import_workbook(db_path, old, today=date(2025, 11, 5))
    conn = sqlite3.connect(db_path)
    assert conn.execute("SELECT COUNT(*) FROM import_batches WHERE status = 'running'"
                        ).fetchone()[0] == 0
    assert outcomes["old"] + outcomes["new"] == 22

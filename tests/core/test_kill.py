"""Kill the importer at random moments: every month is either fully old or fully new, on a
SQLite file and on PostgreSQL (where the server rolls the dead client's transaction back)."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from datetime import date

import pytest
from tests.core.dbstate import month_counts, rows, scalar
from tests.core.independent import sums_by

from bookedbiz.ingest.service import import_workbook

pytestmark = pytest.mark.slow

HISTORY = ("SELECT broadcast_month, customer_id, agency_id, ae_id, market_code, revenue_type, "
           "language_group, contract, gross_micros, net_micros, spots, valid_from, valid_to "
           "FROM booking_history")


def _state(database: str) -> tuple[dict[str, int], list[tuple]]:
    """The spots per month and the booking history: both must move together."""
    return month_counts(database), sorted(rows(database, HISTORY), key=repr)


def _command(database: str, source) -> tuple[list[str], dict[str, str]]:  # noqa: ANN001
    env = dict(os.environ, BOOKEDBIZ_BUSY_TIMEOUT_MS="2000")
    args = [sys.executable, "-m", "bookedbiz", "import", str(source), "--today", "2025-11-05"]
    if database.startswith("postgresql"):
        env["DATABASE_URL"] = database
    else:
        args += ["--db", database]
    return args, env


def test_killed_imports_leave_whole_months(database: str, workbooks) -> None:
    old, new = workbooks["daily"], workbooks["daily_b"]
    import_workbook(database, old, today=date(2025, 11, 5))
    old_state = _state(database)
    expected_new = {m: s["spots"] for m, s in sums_by(new).items() if m in old_state[0]}
    assert old_state[0] != expected_new
    rng = random.Random(20261123)
    outcomes = {"old": 0, "new": 0}
    new_history = None
    for run in range(22):
        source = new if run % 2 == 0 else old
        args, env = _command(database, source)
        process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                   env=env)
        time.sleep(rng.uniform(0.3, 1.6))
        process.send_signal(signal.SIGKILL)
        process.wait()
        counts, history = _state(database)
        if (counts, history) == old_state:
            outcomes["old"] += 1
        elif counts == expected_new:
            # the history moved with the spots: the same new state every time
            assert history != old_state[1], f"run {run}: new spots, old history"
            if new_history is None:
                new_history = history
            assert history == new_history, f"run {run}: the history is mixed"
            outcomes["new"] += 1
        else:
            pytest.fail(f"run {run}: months are mixed: {counts}")
        if not database.startswith("postgresql"):
            assert scalar(database, "PRAGMA integrity_check") == "ok"
    # the next normal run marks any batch left 'running' by the kills as failed
    time.sleep(0.5)  # PostgreSQL: let the server notice the last dead client
    import_workbook(database, old, today=date(2025, 11, 5))
    assert scalar(database, "SELECT COUNT(*) FROM import_batches WHERE status = 'running'") == 0
    assert outcomes["old"] + outcomes["new"] == 22

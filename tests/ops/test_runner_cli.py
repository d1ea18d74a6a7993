"""``bookedbiz jobs run`` as real processes: concurrency, broken alert endpoints, exit codes."""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import time

import pytest
from opscli import cli_command


def job_rows(db_path) -> list[tuple]:  # noqa: ANN001
    conn = sqlite3.connect(db_path)
    try:
        sql = "SELECT job, status, exit_code FROM job_runs ORDER BY run_id"
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


def test_two_jobs_started_together_exactly_one_runs(sub_env, db_path, data_dir) -> None:
    env = {**sub_env, "FAKE_SLEEP": "3"}
    procs = [
        subprocess.Popen(cli_command("jobs", "run", "fake-sleep"), env=env, text=True,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        for _ in range(2)
    ]
    outs = [p.communicate(timeout=60) for p in procs]
    codes = sorted(p.returncode for p in procs)
    assert codes == [0, 75], outs
    skipped = [o for p, o in zip(procs, outs, strict=True) if p.returncode == 75][0]
    assert "skipped: another job holds the lock" in skipped[0]
    ran = [o for p, o in zip(procs, outs, strict=True) if p.returncode == 0][0]
    assert "slept" in ran[0]
    assert sorted(job_rows(db_path)) == [("fake-sleep", "skipped", 75),
                                         ("fake-sleep", "success", 0)]
    assert (data_dir / "locks" / "bookedbiz-jobs.lock").exists()


@pytest.mark.parametrize("mode", ["status500", "hang"])
def test_failing_job_with_broken_alert_endpoint_keeps_its_code(
    sub_env, db_path, data_dir, recorder, mode
) -> None:
    if mode == "status500":
        recorder.status = 500
    else:
        recorder.hang = 30
    env = {**sub_env, "NOTIFY_URLS": recorder.url("ntfy", "alerts-topic-k2"),
           "JOB_TIME_BUDGET_SECONDS": "20"}
    start = time.monotonic()
    proc = subprocess.run(cli_command("jobs", "run", "fake-fail"), env=env, text=True,
                          capture_output=True, timeout=60)
    elapsed = time.monotonic() - start
    assert proc.returncode == 3, proc.stdout + proc.stderr
    assert elapsed < 20, "the runner must return within its budget"
    assert recorder.wait_for(1), "the alert was attempted"
    log = (data_dir / "logs" / "fake-fail.log").read_text()
    assert "notification to ntfy://127.0.0.1" in log and "FAILED" in log
    assert "alerts-topic-k2" not in log + proc.stdout + proc.stderr
    assert job_rows(db_path) == [("fake-fail", "failed", 3)]


def test_partial_failure_exits_1_and_sends_an_urgent_ntfy_alert(sub_env, recorder) -> None:
    env = {**sub_env, "NOTIFY_URLS": recorder.url("ntfy", "alerts-topic-k3")}
    proc = subprocess.run(cli_command("jobs", "run", "fake-partial"), env=env, text=True,
                          capture_output=True, timeout=60)
    assert proc.returncode == 1
    [req] = recorder.wait_for(1)
    assert req.headers["X-Priority"] == "max" and req.headers["X-Tags"] == "rotating_light"
    assert "language assignment failed" in req.json()["message"]


def test_options_after_double_dash_reach_the_job(sub_env) -> None:
    proc = subprocess.run(cli_command("jobs", "run", "fake-ok", "--", "--file", "x.xlsx"),
                          env=sub_env, text=True, capture_output=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert "extra args: --file x.xlsx" in proc.stdout


def test_sigterm_is_recorded_and_the_step_is_stopped(sub_env, db_path, data_dir) -> None:
    env = {**sub_env, "FAKE_SLEEP": "30"}
    proc = subprocess.Popen(cli_command("jobs", "run", "fake-sleep"), env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert "step sleep" in proc.stdout.readline() + proc.stdout.readline()
    time.sleep(0.3)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 143, out + err
    assert job_rows(db_path) == [("fake-sleep", "failed", 143)]
    beat = json.loads((data_dir / "heartbeats" / "fake-sleep.json").read_text())
    assert beat["exit_code"] == 143 and "SIGTERM" in beat["summary"]

"""``bookedbiz doctor`` on healthy and broken installations, and the Datasette explorer."""

from __future__ import annotations

import json
import socket
import sqlite3
import subprocess
import threading
import time
import urllib.request
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest
from opscli import cli_command, root_cli

from bookedbiz.deploy.doctor import check_web, doctor_exit_code, run_doctor
from bookedbiz.deploy.explore import CANNED_QUERIES, build_metadata

NOW = datetime.now(UTC)


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def make_healthy(db: Path, hours_ago: float = 1.0) -> None:
    conn = sqlite3.connect(db)
    when = iso(NOW - timedelta(hours=hours_ago))
    conn.execute("INSERT INTO import_batches (batch_id, mode, source_file, started_at, "
                 "finished_at, status) VALUES (1, 'weekly', 'f.xlsx', ?, ?, 'completed')",
                 (when, when))
    conn.execute("INSERT INTO app_state (key, value, updated_at) VALUES ('last_backup', ?, ?)",
                 (json.dumps({"at": when}), when))
    conn.commit()
    conn.close()


def by_name(checks) -> dict:  # noqa: ANN001
    return {c.name: c for c in checks}


def test_doctor_healthy_database(ops_settings, db_path) -> None:
    make_healthy(db_path)
    checks = by_name(run_doctor(ops_settings, None, check_http=False))
    assert checks["schema"].level == "ok" and "current" in checks["schema"].detail
    assert checks["integrity"].detail == "PRAGMA quick_check = ok"
    assert checks["last import"].level == "ok" and checks["last backup"].level == "ok"
    assert checks["job lock"].detail.endswith("free")
    assert "apprise" in checks["versions"].detail and "sqlite" in checks["versions"].detail
    assert checks["notifications"].level == "warn"  # none configured: warned, with the fix
    assert "NOTIFY_URLS" in checks["notifications"].fix
    assert doctor_exit_code(list(checks.values())) == 0


def test_doctor_flags_stale_data_and_says_how_to_fix(ops_settings, db_path) -> None:
    make_healthy(db_path, hours_ago=40)
    checks = run_doctor(ops_settings, None, check_http=False)
    stale = by_name(checks)["last import"]
    assert stale.level == "error" and "jobs status" in stale.fix
    assert doctor_exit_code(checks) == 1


def test_doctor_cli_missing_database_exits_1_with_fix(runner, tmp_path) -> None:
    result = runner.invoke(root_cli(), ["doctor", "--no-http", "--db", str(tmp_path / "no.db")])
    assert result.exit_code == 1
    assert "ERROR database" in result.output and "fix: Set DATABASE_PATH" in result.output


def test_doctor_cli_json_and_redacted_targets(runner, db_path, data_dir, monkeypatch) -> None:
    make_healthy(db_path)
    monkeypatch.setenv("DATA_PATH", str(data_dir))
    monkeypatch.setenv("NOTIFY_URLS", "ntfys://ntfy.sh/doctor-topic-secret-1")
    result = runner.invoke(root_cli(), ["doctor", "--json", "--no-http", "--db", str(db_path)])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["ok"] is True
    targets = [c for c in data["checks"] if c["name"] == "notifications"][0]
    assert targets["detail"] == "ntfys://ntfy.sh/***"
    assert "doctor-topic-secret-1" not in result.output


def test_doctor_detects_corruption(ops_settings, db_path) -> None:
    raw = bytearray(db_path.read_bytes())
    raw[4096 * 2: 4096 * 2 + 200] = b"\xff" * 200  # scribble over a b-tree page
    db_path.write_bytes(bytes(raw))
    checks = run_doctor(ops_settings, None, check_http=False)
    assert doctor_exit_code(checks) == 1
    assert any(c.level == "error" for c in checks)


def test_web_probe_expects_redirect_to_reports() -> None:
    class Redirect(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            self.send_response(302)
            self.send_header("Location", "/reports/")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Redirect)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        assert check_web(port=server.server_address[1]).level == "ok"
    finally:
        server.shutdown()
        server.server_close()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        free = s.getsockname()[1]
    down = check_web(port=free, timeout=0.5)
    assert down.level == "warn" and "nothing answers" in down.detail


# ------------------------------------------------------------ explore

def seed_spots(db: Path) -> None:
    conn = sqlite3.connect(db)
    now = iso(NOW)
    conn.execute("INSERT INTO import_batches (batch_id, mode, source_file, started_at, status) "
                 "VALUES (1, 'weekly', 'f.xlsx', ?, 'completed')", (now,))
    conn.executemany("INSERT INTO aes (ae_id, name, name_key, created_at) VALUES (?, ?, ?, ?)",
                     [(1, "Alice", "alice", now), (2, "Bob", "bob", now)])
    conn.execute("INSERT INTO customers (customer_id, name, name_key, created_at) "
                 "VALUES (1, 'Acme', 'acme', ?)", (now,))
    spots = [  # spot_id, month, ae, gross micros, trade
        (1, "2026-01", 1, 1_500_000_000, 0),
        (2, "2026-01", 2, 250_500_000, 0),
        (3, "2026-02", 1, 100_000_000, 0),
        (4, "2026-02", 2, 999_000_000, 1),  # Trade: excluded everywhere
    ]
    for spot_id, month, ae, gross, trade in spots:
        conn.execute(
            "INSERT INTO spots (spot_id, import_batch_id, bill_code, air_date, broadcast_month, "
            "ae_id, customer_id, language_category, gross_rate_micros, station_net_micros, "
            "is_trade) VALUES (?, 1, 'A:B', '2026-01-05', ?, ?, 1, 'language_required', ?, ?, ?)",
            (spot_id, month, ae, gross, gross * 85 // 100, trade))
    conn.executemany(
        "INSERT INTO language_assignments (spot_id, language_code, status, confidence, "
        "requires_review, method, report_bucket, assigned_at) "
        "VALUES (?, ?, 'determined', 1, 0, 'code', ?, ?)",
        [(i, code, code, now) for i, code in ((1, "V"), (2, "M"), (3, "V"), (4, "V"))])
    conn.commit()
    conn.close()


def run_canned(db: Path, name: str, **params: str) -> list[tuple]:
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        args = {"from_month": "", "to_month": "", **params}
        return conn.execute(CANNED_QUERIES[name]["sql"], args).fetchall()
    finally:
        conn.close()


def test_canned_queries_exclude_trade_and_convert_micros(db_path) -> None:
    seed_spots(db_path)
    assert run_canned(db_path, "revenue_by_month") == [
        ("2026-01", 2, 1750.5, 1487.93), ("2026-02", 1, 100.0, 85.0)]
    assert run_canned(db_path, "revenue_by_ae") == [("Alice", 2, 1600.0, 1360.0),
                                                     ("Bob", 1, 250.5, 212.93)]
    assert run_canned(db_path, "revenue_by_language", from_month="2026-01",
                      to_month="2026-01") == [("Vietnamese", 1, 1500.0), ("Mandarin", 1, 250.5)]
    meta = build_metadata("bookedbiz")
    spots_meta = meta["databases"]["bookedbiz"]["tables"]["spots"]
    assert "1e6" in spots_meta["columns"]["gross_rate_micros"]


def test_explore_serves_read_only_on_loopback(sub_env, db_path) -> None:
    seed_spots(db_path)
    before = db_path.read_bytes()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(cli_command("explore", "--port", str(port)), env=sub_env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"{base}/-/settings.json", timeout=2) as r:
                    settings = json.load(r)
                break
            except OSError:
                assert proc.poll() is None, proc.stderr.read()
                assert time.monotonic() < deadline, "datasette did not start"
                time.sleep(0.2)
        assert settings["sql_time_limit_ms"] == 300000
        assert settings["max_returned_rows"] == 10000
        with urllib.request.urlopen(f"{base}/bookedbiz/revenue_by_month.json?_shape=array",
                                    timeout=10) as r:
            rows = json.load(r)
        assert [row["month"] for row in rows] == ["2026-01", "2026-02"]
        with urllib.request.urlopen(f"{base}/-/databases.json", timeout=5) as r:
            [db] = json.load(r)
        assert db["is_mutable"] is True and db["name"] == "bookedbiz"
        write = urllib.request.Request(
            f"{base}/bookedbiz.json?sql=" + urllib.parse.quote("DELETE FROM spots"))
        with pytest.raises(urllib.error.HTTPError):
            urllib.request.urlopen(write, timeout=5)
    finally:
        proc.terminate()
        proc.wait(10)
    conn = sqlite3.connect(db_path)
    assert conn.execute("SELECT COUNT(*) FROM spots").fetchone()[0] == 4
    conn.close()
    assert len(before) > 0


def test_explore_refuses_a_missing_database(runner, tmp_path) -> None:
    result = runner.invoke(root_cli(), ["explore", "--db", str(tmp_path / "none.db")])
    assert result.exit_code == 4 and "does not exist" in result.output

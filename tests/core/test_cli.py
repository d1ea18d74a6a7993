"""Every data-core command through the real CLI, on real files."""

from __future__ import annotations

import csv
import io
import json
import shutil
import sqlite3
from decimal import Decimal
from pathlib import Path

import openpyxl
from click.testing import CliRunner
from tests.core.independent import sums_by

from bookedbiz.cli.main import cli
from bookedbiz.db.migrate import SCHEMA_HEAD


def _ok(result) -> str:
    assert result.exit_code == 0, result.output
    return result.output


def test_init_creates_then_reports_up_to_date(tmp_path: Path, runner: CliRunner) -> None:
    db = tmp_path / "new" / "b.db"
    db.parent.mkdir()
    assert "Created" in _ok(runner.invoke(cli, ["init", "--db", str(db)]))
    assert "up to date" in _ok(runner.invoke(cli, ["init", "--db", str(db)]))
    result = runner.invoke(cli, ["init", "--db", str(tmp_path / "nowhere" / "b.db")])
    assert result.exit_code == 4


def test_init_upgrades_with_a_verified_snapshot_first(tmp_path: Path,
                                                     runner: CliRunner) -> None:
    db = tmp_path / "old.db"
    _ok(runner.invoke(cli, ["init", "--db", str(db)]))
    conn = sqlite3.connect(db)  # put the file back to how revision 0001 left it
    for name in ("ix_spot_summary_month_cover", "ix_spot_summary_ae", "ix_spot_summary_market",
                 "ix_spot_summary_revenue_type"):
        conn.execute(f"DROP INDEX {name}")
    conn.execute("CREATE INDEX ix_spot_summary_month ON spot_summary (broadcast_month)")
    conn.execute("UPDATE alembic_version SET version_num = '0001'")
    conn.commit()
    conn.close()
    refused = runner.invoke(cli, ["months", "list", "--db", str(db)])
    assert refused.exit_code == 1 and "bookedbiz init" in refused.output
    out = _ok(runner.invoke(cli, ["init", "--db", str(db)]))
    assert "Upgraded" in out and f"from 0001 to {SCHEMA_HEAD}" in out
    snapshots = list((tmp_path / "backups").glob("pre-migration-*.db"))
    assert len(snapshots) == 1
    assert sqlite3.connect(snapshots[0]).execute(
        "SELECT version_num FROM alembic_version").fetchone() == ("0001",)
    indexes = {r[0] for r in sqlite3.connect(db).execute(
        "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'spot_summary'")}
    assert "ix_spot_summary_month_cover" in indexes and "ix_spot_summary_month" not in indexes
    _ok(runner.invoke(cli, ["months", "list", "--db", str(db)]))


def test_schema_behind_is_refused(tmp_path: Path, runner: CliRunner) -> None:
    db = tmp_path / "old.db"
    _ok(runner.invoke(cli, ["init", "--db", str(db)]))
    conn = sqlite3.connect(db)
    conn.execute("UPDATE alembic_version SET version_num = '0000'")
    conn.commit()
    conn.close()
    result = runner.invoke(cli, ["report", "revenue", "--db", str(db)])
    assert result.exit_code == 1 and "bookedbiz init" in result.output


def test_database_path_from_environment(tmp_path: Path, runner: CliRunner,
                                        monkeypatch) -> None:
    db = tmp_path / "env.db"
    monkeypatch.setenv("DATABASE_PATH", str(db))
    _ok(runner.invoke(cli, ["init"]))
    assert db.exists()
    monkeypatch.delenv("DATABASE_PATH")
    result = runner.invoke(cli, ["months", "list"])
    assert result.exit_code == 2 and "DATABASE_PATH" in result.output


def test_import_json_and_reports(db_path: Path, workbooks, runner: CliRunner,
                                 tmp_path: Path) -> None:
    out = _ok(runner.invoke(cli, ["import", str(workbooks["recap"]), "--mode", "historical",
                                  "--closed-by", "Finance", "--json", "--db", str(db_path)]))
    summary = json.loads(out)
    assert summary["status"] == "completed" and summary["success"] is True
    assert summary["months_closed"] == ["2024-01", "2024-02", "2024-03"]
    expected = sums_by(workbooks["recap"])
    total = sum(s["gross"] for s in expected.values()).quantize(Decimal("0.01"))
    for by in ("month", "ae", "customer", "agency", "market", "language", "revenue-type",
               "spot-type"):
        rows = json.loads(_ok(runner.invoke(
            cli, ["report", "revenue", "--year", "2024", "--by", by, "--format", "json",
                  "--db", str(db_path)])))
        key = by.replace("-", "_")
        assert all(key in row and {"gross", "net", "spots"} <= set(row) for row in rows)
        # each row is its exact sum rounded once (SPEC §1.2), within half a cent of exact
        assert abs(sum(Decimal(str(r["gross"])) for r in rows) - total) <= Decimal(
            "0.005") * len(rows), by
        if by == "month":
            assert {r["month"]: Decimal(str(r["gross"])) for r in rows} == {
                m: s["gross"].quantize(Decimal("0.01")) for m, s in expected.items()}
    csv_text = _ok(runner.invoke(cli, ["report", "revenue", "--year", "2024", "--format", "csv",
                                       "--measure", "net", "--db", str(db_path)]))
    rows = list(csv.DictReader(io.StringIO(csv_text)))
    assert [r["month"] for r in rows] == ["2024-01", "2024-02", "2024-03"]
    table = _ok(runner.invoke(cli, ["report", "revenue", "--year", "2024", "--by", "market",
                                    "--db", str(db_path)]))
    assert "TOTAL" in table and f"{total:,.2f}" in table
    xlsx = tmp_path / "r.xlsx"
    _ok(runner.invoke(cli, ["report", "revenue", "--year", "2024", "--by", "ae", "--format",
                            "xlsx", "--output", str(xlsx), "--db", str(db_path)]))
    sheet = openpyxl.load_workbook(xlsx).active
    values = [row for row in sheet.iter_rows(values_only=True) if row[0] == "Total"]
    assert values and round(Decimal(str(values[0][1])), 2) == total
    result = runner.invoke(cli, ["report", "revenue", "--format", "xlsx", "--db", str(db_path)])
    assert result.exit_code == 2


def test_months_commands(db_path: Path, workbooks, runner: CliRunner) -> None:
    _ok(runner.invoke(cli, ["import", str(workbooks["daily"]), "--db", str(db_path),
                            "--today", "2025-11-05"]))
    _ok(runner.invoke(cli, ["months", "close", "Nov-25", "--by", "Pat", "--db", str(db_path)]))
    months = json.loads(_ok(runner.invoke(cli, ["months", "list", "--json", "--db",
                                               str(db_path)])))
    status = {m["month"]: (m["status"], m["closed_by"]) for m in months}
    assert status["2025-11"] == ("closed", "Pat") and status["2025-12"] == ("open", None)
    again = runner.invoke(cli, ["months", "close", "2025-11", "--by", "Pat", "--db", str(db_path)])
    assert again.exit_code == 1 and "already closed" in again.output
    no_reason = runner.invoke(cli, ["months", "reopen", "Nov-25", "--by", "Pat", "--db",
                                    str(db_path)])
    assert no_reason.exit_code == 2
    _ok(runner.invoke(cli, ["months", "reopen", "Nov-25", "--by", "Pat", "--reason",
                            "late invoice", "--db", str(db_path)]))
    events = sqlite3.connect(db_path).execute(
        "SELECT action, actor, reason FROM month_closure_events ORDER BY event_id").fetchall()
    assert events[-1] == ("reopen", "Pat", "late invoice")
    empty = runner.invoke(cli, ["months", "close", "Jan-19", "--by", "Pat", "--db", str(db_path)])
    assert empty.exit_code == 1 and "no spots" in empty.output
    assert "Nov-25" in _ok(runner.invoke(cli, ["months", "list", "--db", str(db_path)]))


def test_daily_update_default_file_and_log(db_path: Path, workbooks, runner: CliRunner,
                                           tmp_path: Path, monkeypatch) -> None:
    data = tmp_path / "datadir"
    monkeypatch.setenv("DATA_PATH", str(data))
    daily = data / "raw" / "daily" / "Commercial Log 251105.xlsx"
    log = tmp_path / "logs" / "update.log"
    args = ["daily-update", "--unattended", "--auto-setup", "--log-file", str(log),
            "--today", "2025-11-05", "--db", str(db_path)]
    missing = runner.invoke(cli, args)
    assert missing.exit_code == 4 and "Commercial Log 251105.xlsx" in missing.output
    daily.parent.mkdir(parents=True)
    shutil.copy(workbooks["daily"], daily)
    out = _ok(runner.invoke(cli, [*args, "--json"]))
    assert json.loads(out)["success"] is True
    text = log.read_text()
    assert "daily update OK" in text and "FAILED" in text  # the first, missing-file run
    markets = sqlite3.connect(db_path).execute(
        "SELECT code FROM markets WHERE auto_created = 1").fetchall()
    assert ("XYZ",) in markets


def test_daily_update_copies_from_source(db_path: Path, workbooks, runner: CliRunner,
                                         tmp_path: Path, monkeypatch) -> None:
    share = tmp_path / "share" / "Commercial Log.xlsx"
    share.parent.mkdir()
    shutil.copy(workbooks["daily"], share)
    target = tmp_path / "raw" / "today.xlsx"
    monkeypatch.setenv("DAILY_UPDATE_SOURCE", str(share))
    out = _ok(runner.invoke(cli, ["daily-update", str(target), "--unattended", "--today",
                                  "2025-11-05", "--db", str(db_path)]))
    assert target.read_bytes() == share.read_bytes()
    assert "COMPLETED" in out
    share.write_text("half-written")
    result = runner.invoke(cli, ["daily-update", str(target), "--unattended", "--today",
                                 "2025-11-05", "--db", str(db_path)])
    assert result.exit_code == 1 and "does not open" in result.output
    assert target.read_bytes() != b"half-written"  # the good copy was not replaced


def test_daily_update_dry_run_and_failure_exit(db_path: Path, workbooks, runner: CliRunner,
                                               tmp_path: Path) -> None:
    out = _ok(runner.invoke(cli, ["daily-update", str(workbooks["daily"]), "--dry-run",
                                  "--today", "2025-11-05", "--db", str(db_path)]))
    assert "DRY RUN" in out
    assert sqlite3.connect(db_path).execute("SELECT COUNT(*) FROM spots").fetchone()[0] == 0
    bad = tmp_path / "bad.xlsx"
    bad.write_text("nope")
    result = runner.invoke(cli, ["daily-update", str(bad), "--unattended", "--db", str(db_path)])
    assert result.exit_code == 1


def test_generate_log_is_deterministic(tmp_path: Path, runner: CliRunner) -> None:
    a, b = tmp_path / "a.xlsx", tmp_path / "b.xlsx"
    for path in (a, b):
        _ok(runner.invoke(cli, ["generate-log", str(path), "--start", "2025-01", "--months", "2",
                                "--rows-per-month", "300", "--seed", "9", "--kind", "recap"]))
    assert sums_by(a) == sums_by(b)
    assert openpyxl.load_workbook(a, read_only=True).sheetnames == ["Data"]
    daily = tmp_path / "d.xlsx"
    _ok(runner.invoke(cli, ["generate-log", str(daily), "--start", "2025-01",
                            "--rows-per-month", "3000"]))
    names = openpyxl.load_workbook(daily, read_only=True).sheetnames
    assert names[:2] == ["Commercials", "Worldlink Lines"]
    bad = runner.invoke(cli, ["generate-log", str(daily), "--start", "soon"])
    assert bad.exit_code == 2


def test_schema_head_constant_matches_alembic() -> None:
    from bookedbiz.db.migrate import SCHEMA_HEAD, alembic_head

    assert alembic_head() == SCHEMA_HEAD

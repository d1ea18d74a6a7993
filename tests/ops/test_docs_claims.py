"""Claims of docs/operations.md and docs/data.md that are not command lines, checked.

- every setting the operator's guide names exists, with the default it states;
- the digest timers fire when the guide says;
- the budget file examples in docs/data.md load as the rules beside them say;
- the disaster drill (restore the database, the logs after its last recorded day, backfill, the
  daily update) rebuilds the booking history of the live database, and backfilling a folder
  that holds a recorded day is refused with nothing changed.
"""

from __future__ import annotations

import dataclasses
import re
import shutil
import sqlite3
import textwrap
from datetime import date
from pathlib import Path

import pytest
from click.testing import CliRunner

from bookedbiz.config import Settings

DOCS = Path(__file__).resolve().parents[2] / "docs"
OPERATIONS = (DOCS / "operations.md").read_text()
DATA = (DOCS / "data.md").read_text()
# Upper-case words in backticks that are not settings of config.Settings.
NOT_SETTINGS = {"ALERT_FALLBACK_NTFY_URL",  # read by the alert shell script, not by Python
                "RLIMIT_AS"}


def _defaults() -> dict[str, object]:
    return {f.name.upper(): f.default for f in dataclasses.fields(Settings)}


def test_every_setting_the_guide_names_exists() -> None:
    names = set(re.findall(r"`([A-Z][A-Z0-9_]+)`", OPERATIONS)) - NOT_SETTINGS
    assert {"MAIL_URL", "STATION_TIMEZONE", "IMPORT_MEMORY_MIB", "DAILY_LOG_KEEP_DAYS"} <= names
    missing = sorted(names - set(_defaults()))
    assert not missing, f"docs/operations.md names settings config.Settings lacks: {missing}"
    for prefix in re.findall(r"`([A-Z]+)_\*`", OPERATIONS):
        assert any(name.startswith(prefix + "_") for name in _defaults()), prefix


def _stated_defaults() -> list[tuple[str, str]]:
    prose = re.findall(r"`([A-Z][A-Z0-9_]+)`\s+\(default\s+`?([^`),:\s]+)", OPERATIONS)
    table = re.findall(r"^\| `([A-Z][A-Z0-9_]+)` \| ([^ |]+)", OPERATIONS, re.MULTILINE)
    return prose + table


def test_the_defaults_the_guide_states_are_the_real_ones() -> None:
    stated = _stated_defaults()
    assert len(stated) >= 10
    defaults = _defaults()
    for name, text in stated:
        real = defaults[name]
        if real is None:  # derived at run time (JOB_LOCK_DIR: DATA_PATH/locks)
            continue
        if isinstance(real, bool):
            assert text == str(real).lower(), name
        elif isinstance(real, int | float):
            assert float(text) == float(real), (name, text, real)
        else:
            assert text == str(real), (name, text, real)


def _calendars(out: Path, *extra: str) -> dict[str, list[str]]:
    from bookedbiz.cli.main import cli

    result = CliRunner().invoke(cli, ["deploy", "render", "--out", str(out), *extra])
    assert result.exit_code == 0, result.output
    found = {}
    for kind in ("daily", "weekly"):
        text = (out / "systemd" / f"bookedbiz-digest-{kind}.timer").read_text()
        found[kind] = re.findall(r"^OnCalendar=(.+)$", text, re.MULTILINE)
    return found


def test_digest_timers_fire_when_the_guide_says(tmp_path: Path) -> None:
    assert "(05:15 by default)" in OPERATIONS and "(05:30 by default)" in OPERATIONS
    assert _calendars(tmp_path / "a") == {"daily": ["*-*-* 05:15:00"],
                                          "weekly": ["Mon *-*-* 05:30:00"]}
    # 45 minutes after each daily-update time, weekly 60 minutes after the first one
    assert "45 minutes after each" in OPERATIONS and "60 minutes after the first" in OPERATIONS
    four = _calendars(tmp_path / "b", "--daily-update-at", "03:30,09:30,15:30,21:30")
    assert four == {"daily": ["*-*-* 04:15:00", "*-*-* 10:15:00", "*-*-* 16:15:00",
                              "*-*-* 22:15:00"],
                    "weekly": ["Mon *-*-* 04:30:00"]}
    enable = re.search(r"systemctl enable --now (.+)", OPERATIONS)
    assert enable and "bookedbiz-digest-daily.timer bookedbiz-digest-weekly.timer" in \
        enable.group(1)


def _budget_examples() -> dict[str, str]:
    section = DATA[DATA.index("## Budgets, forecasts and planning"):]
    blocks = re.findall(r"^  (Long|Wide)\b.*?\n\n  ```csv\n(.*?)\n  ```", section,
                        re.MULTILINE | re.DOTALL)
    return {kind: textwrap.dedent(body) for kind, body in blocks}


def test_the_budget_file_examples_load_as_documented() -> None:
    from bookedbiz.planning.budget_file import parse_budget_rows, text_rows

    examples = _budget_examples()
    assert set(examples) == {"Long", "Wide"}
    long = parse_budget_rows(text_rows(examples["Long"]), "long")
    assert [(x.ae, x.month, x.micros) for x in long] == [
        ("Pat Rivera", "2027-01", 125_000_000_000), ("Pat Rivera", "2027-02", 118_000_000_000),
        ("Lee Chan", "2027-01", 90_000_000_000)]
    wide = parse_budget_rows(text_rows(examples["Wide"]), "wide")
    # the blank Mar-27 cell stores nothing; the Total column is ignored
    assert [(x.ae, x.month, x.micros // 10**6) for x in wide] == [
        ("Pat Rivera", "2027-01", 125000), ("Pat Rivera", "2027-02", 118000),
        ("Lee Chan", "2027-01", 90000), ("Lee Chan", "2027-02", 92500),
        ("Lee Chan", "2027-03", 95000)]


# --- the disaster drill ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def logs(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    from tests.core.history_logs import log_days, make_orders, write_daily_log

    folder = tmp_path_factory.mktemp("drill-logs")
    orders = make_orders("2024-09", "2025-02", seed=23, per_month=4)
    return [write_daily_log(orders, day, folder)
            for day in log_days(date(2024, 10, 7), date(2024, 11, 18), 7)]


def _history(db: Path) -> list[tuple]:
    """The booking history by names (two databases may number customers differently)."""
    conn = sqlite3.connect(db)
    try:
        return conn.execute(
            "SELECT h.broadcast_month, c.name, a.name, h.market_code, h.revenue_type, "
            "h.contract, h.gross_micros, h.net_micros, h.spots, h.valid_from, h.valid_to "
            "FROM booking_history h JOIN customers c ON c.customer_id = h.customer_id "
            "JOIN aes a ON a.ae_id = h.ae_id ORDER BY 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11"
        ).fetchall()
    finally:
        conn.close()


def _fresh(path: Path) -> Path:
    from bookedbiz.db.migrate import init_database

    init_database(path)
    return path


def _folder(path: Path, logs: list[Path]) -> Path:
    path.mkdir()
    for log in logs:
        shutil.copy(log, path / log.name)
    return path


def test_the_disaster_drill_rebuilds_the_history(tmp_path: Path, logs: list[Path]) -> None:
    from bookedbiz.cli.main import cli
    from bookedbiz.ingest.service import import_workbook

    assert "history backfill /var/lib/bookedbiz/rebuild/after" in OPERATIONS
    live = _fresh(tmp_path / "live.db")
    restored = _fresh(tmp_path / "restored.db")  # an older dated copy: the first three days
    for number, log in enumerate(logs):
        import_workbook(live, log)
        if number < 3:
            import_workbook(restored, log)
    runner = CliRunner()

    # 1. the restored database's last recorded day, from the alert line's "D1 → D2"
    alert = runner.invoke(cli, ["report", "changes", "--format", "alert", "--db", str(restored)])
    assert alert.exit_code == 0, alert.output
    last = date.fromisoformat(re.search(r"What changed \S+ → (\S+?):", alert.output).group(1))
    assert last == date(2024, 10, 21)

    # every restored log: refused, nothing changed
    before = _history(restored)
    everything = _folder(tmp_path / "rebuild", logs)
    refused = runner.invoke(cli, ["history", "backfill", str(everything), "--db", str(restored)])
    assert refused.exit_code != 0
    assert "inside the recorded booking history" in refused.output
    assert _history(restored) == before

    # 3.–5. only the logs after that day, then the daily update of the newest log
    after = _folder(tmp_path / "after", [p for p in logs if p.name > f"Commercial Log "
                                         f"{last:%y%m%d}.xlsx"])
    done = runner.invoke(cli, ["history", "backfill", str(after), "--auto-setup",
                               "--db", str(restored)])
    assert done.exit_code == 0, done.output
    assert f"Backfilled {len(logs) - 3} log(s)" in done.output
    import_workbook(restored, logs[-1])
    assert _history(restored) == _history(live)

    # no database backup at all: a new database, the whole folder, then the daily update
    rebuilt = _fresh(tmp_path / "rebuilt.db")
    whole = runner.invoke(cli, ["history", "backfill", str(everything), "--auto-setup",
                                "--db", str(rebuilt)])
    assert whole.exit_code == 0, whole.output
    import_workbook(rebuilt, logs[-1])
    assert _history(rebuilt) == _history(live)

"""Stations sharing one database (SPEC §4), on SQLite and PostgreSQL: each import belongs to a
station, month replacement, the summary, month close and the booking history are per station,
and an unknown station is one sentence that changes nothing."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from click.testing import CliRunner
from tests.core.dbstate import checksum, month_counts, rows
from tests.core.independent import sums_by

from bookedbiz.cli.main import cli
from bookedbiz.db.access import Database
from bookedbiz.entities.stations import add_station
from bookedbiz.errors import BookedBizError, ConfigError
from bookedbiz.history.recording import record_month_event
from bookedbiz.ingest.service import import_workbook
from bookedbiz.months import close_month, reopen_month

TODAY = date(2025, 11, 5)


def _add(database: str, code: str, name: str = "Second station") -> None:
    db = Database(database)
    try:
        with db.writing() as conn:
            add_station(conn, code, name)
    finally:
        db.dispose()


def _invoke(runner: CliRunner, database: str, *args: str):  # noqa: ANN202 - click Result
    """The CLI on ``database``: --db for a file, DATABASE_URL for a server."""
    if database.startswith("postgresql"):
        return runner.invoke(cli, list(args), env={"DATABASE_URL": database})
    return runner.invoke(cli, [*args, "--db", database])


def _summary(database: str, code: str) -> dict[str, tuple[int, int]]:
    return {m: (int(n), int(g)) for m, n, g in rows(
        database, "SELECT s.broadcast_month, SUM(s.spots), SUM(s.gross_micros) "
        "FROM spot_summary s JOIN stations st ON st.station_id = s.station_id "
        "WHERE st.code = :code GROUP BY s.broadcast_month", code=code)}


def _history(database: str, code: str) -> list[tuple]:
    return sorted(rows(
        database, "SELECT h.broadcast_month, h.customer_id, h.gross_micros, h.spots, "
        "h.valid_from, h.valid_to FROM booking_history h JOIN stations st "
        "ON st.station_id = h.station_id WHERE st.code = :code", code=code), key=repr)


def test_two_stations_importing_the_same_months_keep_each_others_spots(database: str,
                                                                       workbooks) -> None:
    _add(database, "kbbb")
    first = import_workbook(database, workbooks["daily"], today=TODAY)
    assert first.station == "MAIN"
    main_counts, main_summary = month_counts(database, "MAIN"), _summary(database, "MAIN")
    main_history = _history(database, "MAIN")
    second = import_workbook(database, workbooks["daily_b"], today=TODAY, station="KBBB")
    assert second.station == "KBBB" and second.rows_deleted == 0  # nothing of MAIN's went
    # MAIN's months are exactly as they were, spots, summary and history alike
    assert month_counts(database, "MAIN") == main_counts
    assert _summary(database, "MAIN") == main_summary
    assert _history(database, "MAIN") == main_history
    # KBBB's are its own workbook's, independently summed
    expected = sums_by(workbooks["daily_b"])
    assert month_counts(database, "KBBB") == {m: expected[m]["spots"]
                                             for m in second.months_replaced}
    for month, (spots, _gross) in _summary(database, "KBBB").items():
        assert spots == expected[month]["spots"]
    assert _history(database, "KBBB")
    # every row of the import carries its station
    batch = rows(database, "SELECT station_id FROM import_batches WHERE batch_id = :b",
                 b=second.batch_id)
    kbbb = rows(database, "SELECT station_id FROM stations WHERE code = 'KBBB'")
    assert batch == kbbb
    assert rows(database, "SELECT DISTINCT station_id FROM spots WHERE import_batch_id = :b",
                b=second.batch_id) == kbbb
    # re-importing MAIN replaces MAIN's months only
    again = import_workbook(database, workbooks["daily"], today=TODAY)
    assert again.rows_deleted == first.rows_inserted
    assert month_counts(database, "KBBB") == {m: expected[m]["spots"]
                                             for m in second.months_replaced}
    assert month_counts(database, "MAIN") == main_counts


def test_closing_a_month_for_one_station_leaves_the_other_open(database: str, workbooks,
                                                              runner: CliRunner) -> None:
    _add(database, "KBBB")
    import_workbook(database, workbooks["daily"], today=TODAY)
    import_workbook(database, workbooks["daily"], today=TODAY, station="KBBB")
    result = _invoke(runner, database, "months", "close", "Dec-25", "--by", "Fin",
                     "--station", "kbbb")
    assert result.exit_code == 0, result.output
    assert "Closed 2025-12 for station KBBB" in result.output
    assert rows(database, "SELECT st.code, c.broadcast_month FROM month_closures c "
                "JOIN stations st ON st.station_id = c.station_id") == [("KBBB", "2025-12")]
    # the daily import of each station: KBBB skips its closed December, MAIN replaces its own
    kbbb_december = month_counts(database, "KBBB")["2025-12"]
    main = import_workbook(database, workbooks["daily_b"], today=TODAY)
    kbbb = import_workbook(database, workbooks["daily_b"], today=TODAY, station="KBBB")
    assert "2025-12" in main.months_replaced and "2025-12" not in kbbb.months_replaced
    assert [c.action for c in kbbb.changes if c.month == "2025-12"] == ["skipped-closed"]
    assert month_counts(database, "KBBB")["2025-12"] == kbbb_december
    assert month_counts(database, "MAIN")["2025-12"] == sums_by(workbooks["daily_b"])[
        "2025-12"]["spots"]
    # closing MAIN's December is its own act; reopening KBBB's leaves MAIN's closed
    close_month(database, "2025-12", "Fin", on_change=record_month_event)
    with pytest.raises(BookedBizError, match="already closed"):
        close_month(database, "2025-12", "Fin", station="KBBB")
    reopen_month(database, "Dec-25", "Fin", "late order", on_change=record_month_event,
                 station="KBBB")
    assert rows(database, "SELECT st.code FROM month_closures c JOIN stations st "
                "ON st.station_id = c.station_id") == [("MAIN",)]
    events = rows(database, "SELECT st.code, e.action FROM month_closure_events e "
                  "JOIN stations st ON st.station_id = e.station_id ORDER BY e.event_id")
    assert events == [("KBBB", "close"), ("MAIN", "close"), ("KBBB", "reopen")]
    with pytest.raises(BookedBizError, match="is not closed for KBBB"):
        reopen_month(database, "Dec-25", "Fin", "again", station="KBBB")


def test_a_historical_import_closes_its_own_station_only(database: str, workbooks) -> None:
    _add(database, "KBBB")
    import_workbook(database, workbooks["recap"], mode="historical", closed_by="Fin",
                    today=TODAY, station="KBBB")
    import_workbook(database, workbooks["recap"], today=TODAY)  # MAIN's months are open
    assert {c for (c,) in rows(database, "SELECT DISTINCT st.code FROM month_closures c JOIN "
                                         "stations st ON st.station_id = c.station_id")} == {
        "KBBB"}
    assert month_counts(database, "MAIN") == month_counts(database, "KBBB")


@pytest.mark.parametrize("command", [["import"], ["daily-update", "--yes"]])
def test_an_unknown_station_changes_nothing(database: str, workbooks, runner: CliRunner,
                                            command: list[str]) -> None:
    import_workbook(database, workbooks["daily"], today=TODAY)
    before = checksum(database, ("import_batches", "import_rejects", "spots", "spot_summary",
                                 "booking_history", "history_records", "stations",
                                 "customers", "aes", "agencies", "month_closures"))
    result = _invoke(runner, database, *command, str(workbooks["daily_b"]), "--as-of",
                     "2025-11-05", "--station", "NOPE")
    assert result.exit_code != 0
    assert "There is no station 'NOPE'; the known stations are MAIN" in result.output
    assert result.output.strip().count("\n") == 0, result.output
    assert checksum(database, ("import_batches", "import_rejects", "spots", "spot_summary",
                               "booking_history", "history_records", "stations", "customers",
                               "aes", "agencies", "month_closures")) == before
    with pytest.raises(ConfigError, match="known stations are MAIN"):
        import_workbook(database, workbooks["daily_b"], today=TODAY, station="nope")


def test_stations_commands(database: str, runner: CliRunner) -> None:
    listed = _invoke(runner, database, "stations", "list")
    assert listed.exit_code == 0 and "MAIN" in listed.output and "(default)" in listed.output
    added = _invoke(runner, database, "stations", "add", "kxyz", "--name", " KXYZ  Seattle ")
    assert added.exit_code == 0, added.output
    assert "Added station KXYZ (KXYZ Seattle)." in added.output
    twice = _invoke(runner, database, "stations", "add", "KXYZ", "--name", "Again")
    assert twice.exit_code != 0 and "Station KXYZ already exists." in twice.output
    bad = _invoke(runner, database, "stations", "add", "no spaces", "--name", "X")
    assert bad.exit_code != 0 and "is not a station code" in bad.output
    renamed = _invoke(runner, database, "stations", "rename", "kxyz", "--name", "KXYZ Tacoma")
    assert renamed.exit_code == 0, renamed.output
    unknown = _invoke(runner, database, "stations", "rename", "KZZZ", "--name", "X")
    assert unknown.exit_code != 0 and "known stations are KXYZ, MAIN" in unknown.output
    listed = _invoke(runner, database, "stations", "list", "--json")
    assert '"name": "KXYZ Tacoma"' in listed.output
    assert rows(database, "SELECT code, name FROM stations ORDER BY code") == [
        ("KXYZ", "KXYZ Tacoma"), ("MAIN", "Main station")]


def test_history_is_per_station(database: str, tmp_path: Path) -> None:
    """Station B's import on a later day neither closes A's intervals nor lets A's later
    import be refused as older; each station's history is its own."""
    from tests.core.history_logs import log_days, make_orders, write_daily_log

    _add(database, "KBBB")
    orders = make_orders("2024-09", "2025-02", seed=7, per_month=4)
    days = log_days(date(2024, 10, 7), date(2024, 11, 20), 14)
    logs = [write_daily_log(orders, day, tmp_path) for day in days]
    import_workbook(database, logs[0])
    main_history = _history(database, "MAIN")
    import_workbook(database, logs[2], station="KBBB")  # a later day, another station
    assert _history(database, "MAIN") == main_history
    import_workbook(database, logs[1])  # MAIN's own next day: not "older than the history"
    assert _history(database, "MAIN") != main_history

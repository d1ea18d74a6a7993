"""Backup and restore on both databases (issue 14 item 4): the same ``sync`` verbs to the local
target, a SQLite file and a PostgreSQL database (pg_dump custom format, verified by restoring
into a scratch database, restored by swapping a checked copy in).

Rows go in with Core ``insert()`` through ``Database(target).writing()`` (the importer is being
ported separately); the figures are summed here, independently of bookedbiz.backup.facts.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, insert, select
from tests.databases import PASSWORD, PgServer

from bookedbiz.cli.main import cli
from bookedbiz.db import schema
from bookedbiz.db.access import Database
from bookedbiz.db.connection import utc_now
from bookedbiz.db.server import is_server_url, parse_database_url


@dataclass
class Live:
    target: str  # SQLite path or DATABASE_URL
    nas: Path
    server: PgServer | None

    @property
    def is_server(self) -> bool:
        return self.server is not None

    @property
    def name(self) -> str:
        return str(parse_database_url(self.target).database)


def _server_databases(server: PgServer, prefix: str) -> list[str]:
    """The server's databases whose names start with ``prefix`` (literally: no LIKE)."""
    import psycopg

    with psycopg.connect(host=str(server.socket_dir), port=server.port, user="postgres",
                         dbname="postgres", autocommit=True) as conn:
        rows = conn.execute("SELECT datname FROM pg_database WHERE left(datname, %s) = %s",
                            (len(prefix), prefix)).fetchall()
    return sorted(r[0] for r in rows)


def _configure(target: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """``bookedbiz sync`` on ``target`` with the local target (tmp/nas); the NAS folder."""
    nas = tmp_path / "nas"
    nas.mkdir()
    for key in ("DROPBOX_APP_KEY", "DROPBOX_APP_SECRET", "DROPBOX_REFRESH_TOKEN",
                "DROPBOX_ACCESS_TOKEN", "DATABASE_PATH", "DATABASE_URL", "DATA_PATH"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("BACKUP_LOCAL_DIR", str(nas))
    if not is_server_url(target):
        monkeypatch.setenv("DATABASE_PATH", target)
        return nas
    data = tmp_path / "data"
    data.mkdir(exist_ok=True)
    monkeypatch.setenv("DATABASE_URL", target)
    monkeypatch.setenv("DATA_PATH", str(data))
    return nas


@contextmanager
def _server_live(target: str, nas: Path, server: PgServer) -> Iterator[Live]:
    """The test role may create databases (verify's scratch copy, restore's new one) while the
    test runs; databases a test left beside its own are dropped after it."""
    server.admin("ALTER ROLE bookedbiz CREATEDB")
    state = Live(target, nas, server)
    try:
        yield state
    finally:
        server.admin("ALTER ROLE bookedbiz NOCREATEDB")
        for leftover in _server_databases(server, state.name + "_"):
            server.admin(f'DROP DATABASE IF EXISTS "{leftover}" WITH (FORCE)')


@pytest.fixture()
def live(database: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
         request: pytest.FixtureRequest) -> Iterator[Live]:
    """The ``database`` fixture (a SQLite file, then PostgreSQL) behind ``bookedbiz sync``."""
    nas = _configure(database, tmp_path, monkeypatch)
    if not is_server_url(database):
        yield Live(database, nas, None)
        return
    with _server_live(database, nas, request.getfixturevalue("pg_server")) as state:
        yield state


@pytest.fixture()
def pg_live(pg_url: str, pg_server: PgServer, tmp_path: Path,
            monkeypatch: pytest.MonkeyPatch) -> Iterator[Live]:
    """PostgreSQL only: an initialised fresh database behind ``bookedbiz sync``."""
    from bookedbiz.db.migrate import init_server_database

    init_server_database(pg_url)
    nas = _configure(pg_url, tmp_path, monkeypatch)
    with _server_live(pg_url, nas, pg_server) as state:
        yield state


def fill(target: str, count: int, *, month: str = "2025-03", rate: int = 1000) -> None:
    """``count`` spots in one completed import batch, with the AE and customer they need."""
    db = Database(target)
    try:
        with db.writing() as conn:
            now = utc_now()
            batch = conn.execute(insert(schema.import_batches).values(
                mode="weekly", source_file="test.xlsx", started_at=now, finished_at=now,
                status="completed").returning(schema.import_batches.c.batch_id)).scalar_one()
            ae = conn.execute(select(schema.aes.c.ae_id).where(schema.aes.c.name_key == "ae")
                              ).scalar()
            if ae is None:
                ae = conn.execute(insert(schema.aes).values(
                    name="AE", name_key="ae", created_at=now
                ).returning(schema.aes.c.ae_id)).scalar_one()
            customer = conn.execute(select(schema.customers.c.customer_id)
                                    .where(schema.customers.c.name_key == "a:c")).scalar()
            if customer is None:
                customer = conn.execute(insert(schema.customers).values(
                    name="A:C", name_key="a:c", created_at=now
                ).returning(schema.customers.c.customer_id)).scalar_one()
            conn.execute(insert(schema.spots), [
                {"import_batch_id": batch, "bill_code": "A:C", "air_date": f"{month}-01",
                 "broadcast_month": month, "ae_id": ae, "customer_id": customer,
                 "language_category": "default_english", "gross_rate_micros": rate * i,
                 "station_net_micros": rate * i // 2, "comments": f"spot {i}"}
                for i in range(1, count + 1)])
    finally:
        db.dispose()


def totals(target: str) -> dict[str, Any]:
    """Spots, their gross and net, and the import batches: summed here, independently."""
    db = Database(target)
    try:
        with db.reading() as conn:
            spots = conn.execute(select(
                func.count(), func.coalesce(func.sum(schema.spots.c.gross_rate_micros), 0),
                func.coalesce(func.sum(schema.spots.c.station_net_micros), 0))).one()
            batches = conn.execute(select(func.count()).select_from(schema.import_batches)
                                   ).scalar()
            last_id = conn.execute(select(schema.spots.c.spot_id)
                                   .order_by(schema.spots.c.spot_id.desc()).limit(1)).scalar()
    finally:
        db.dispose()
    return {"spots": int(spots[0]), "gross": int(spots[1]), "net": int(spots[2]),
            "batches": int(batches), "last_spot_id": last_id}


def _ok(runner, *args: str) -> Any:
    result = runner.invoke(cli, ["sync", *args])
    assert result.exit_code == 0, result.output + result.stderr
    return result


def _nightly(live: Live) -> Path:
    found = sorted((live.nas / "backups").glob("bookedbiz-*"))
    assert len(found) == 1, found
    return found[0]


def test_round_trip_restores_the_backed_up_figures(live: Live, runner) -> None:
    fill(live.target, 300)
    _ok(runner, "backup")
    backed_up = totals(live.target)
    dump = _nightly(live)
    assert dump.suffix == (".pgdump" if live.is_server else ".db")
    fill(live.target, 50, month="2025-04", rate=7)  # the data moves on after the backup
    assert totals(live.target) != backed_up
    verified = _ok(runner, "verify", "--json")
    report = json.loads(verified.output)
    assert report["ok"] and report["spot_count"] == 300 and report["matches_record"]
    preview = _ok(runner, "restore")
    assert "Nothing replaced" in preview.output
    assert totals(live.target)["spots"] == 350  # nothing replaced without --yes
    restored = _ok(runner, "restore", "--yes")
    assert totals(live.target) == backed_up
    if live.server is not None:
        assert PASSWORD not in restored.output + restored.stderr
        aside = _server_databases(live.server, live.name + "_replaced_")
        assert len(aside) == 1  # the old database is kept, as the old SQLite file is
        old = parse_database_url(live.target).set(database=aside[0])
        assert totals(old.render_as_string(hide_password=False))["spots"] == 350
        assert not _server_databases(live.server, live.name + "_verify_")
        assert not _server_databases(live.server, live.name + "_restore_")
        # Only the preview's verified dump is left (as the SQLite preview leaves its file);
        # the --yes run removed its own once the copy was in place.
        assert len(list((live.nas.parent / "data").glob("*.pgdump*"))) == 1


def test_every_verb_and_retention_on_both(live: Live, runner,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    fill(live.target, 100)
    uploaded = json.loads(_ok(runner, "upload", "--json").output)
    current = "/database.pgdump" if live.is_server else "/database.db"
    assert uploaded["file"]["path"] == current and uploaded["spot_count"] == 100
    assert current in _ok(runner, "info").output
    _ok(runner, "backup")
    _ok(runner, "backup", "pre-change")
    at_custom = totals(live.target)
    fill(live.target, 10, month="2025-06")
    _ok(runner, "backup")
    listed = json.loads(_ok(runner, "list-backups", "--json").output)
    suffix = ".pgdump" if live.is_server else ".db"
    assert len(listed["nightly"]) == 2
    assert all(e["name"].endswith(suffix) for e in listed["nightly"])
    assert [e["name"] for e in listed["custom"]] == [f"pre-change{suffix}"]
    monkeypatch.setenv("BACKUP_KEEP_DAILY", "1")
    monkeypatch.setenv("BACKUP_KEEP_WEEKLY", "0")
    monkeypatch.setenv("BACKUP_KEEP_MONTHLY", "0")
    pruned = json.loads(_ok(runner, "prune", "--json").output)
    assert pruned["deleted"] == [listed["nightly"][1]["name"]]  # the older one of the day
    assert len(list((live.nas / "backups").glob(f"bookedbiz-*{suffix}"))) == 1
    copy = live.nas.parent / f"drill{suffix}"
    _ok(runner, "download", "--name", "pre-change", "--to", str(copy))
    assert copy.read_bytes()[:5] == (b"PGDMP" if live.is_server else b"SQLit")
    _ok(runner, "restore", "--name", "pre-change", "--yes")
    assert totals(live.target) == at_custom


def test_pg_dump_holds_exactly_the_recorded_snapshot(pg_live: Live, runner,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """An import that commits after the figures were counted but before pg_dump starts is in
    neither: the dump reads the exported snapshot the figures were counted in."""
    import bookedbiz.backup.pg_backup as pg_backup

    fill(pg_live.target, 150)
    real = pg_backup.dump_database

    def import_meanwhile(url, dest, *, snapshot=None):  # noqa: ANN001, ANN202
        fill(pg_live.target, 25, month="2025-07")  # committed by another session
        return real(url, dest, snapshot=snapshot)

    monkeypatch.setattr(pg_backup, "dump_database", import_meanwhile)
    backed = json.loads(_ok(runner, "backup", "--json").output)
    assert backed["spot_count"] == 150
    monkeypatch.setattr(pg_backup, "dump_database", real)
    assert totals(pg_live.target)["spots"] == 175
    _ok(runner, "verify")  # the restored figures equal the recorded ones
    _ok(runner, "restore", "--yes")
    assert totals(pg_live.target)["spots"] == 150


def test_pg_backup_to_dropbox(pg_live: Live, runner, fake,
                              monkeypatch: pytest.MonkeyPatch) -> None:
    from backup_helpers import DROPBOX_ENV

    for key, value in DROPBOX_ENV.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("BACKUP_LOCAL_DIR")
    fill(pg_live.target, 90)
    _ok(runner, "upload")
    _ok(runner, "backup")
    backed_up = totals(pg_live.target)
    fill(pg_live.target, 9)
    assert fake.file("/database.pgdump") is not None
    verified = json.loads(_ok(runner, "verify", "--json").output)
    assert verified["source"]["path"].startswith("/backups/bookedbiz-")
    assert verified["spot_count"] == 90
    _ok(runner, "restore", "--yes")
    assert totals(pg_live.target) == backed_up


def _tamper(path: Path) -> None:
    data = bytearray(path.read_bytes())
    middle = len(data) // 2
    data[middle] ^= 0xFF
    path.write_bytes(bytes(data))


def test_changed_copy_is_refused_and_live_unchanged(live: Live, runner) -> None:
    fill(live.target, 200)
    _ok(runner, "backup")
    fill(live.target, 20, month="2025-05")
    before = totals(live.target)
    _tamper(_nightly(live))
    for verb in (["verify"], ["download"], ["restore", "--yes"]):
        result = runner.invoke(cli, ["sync", *verb])
        assert result.exit_code == 3, (verb, result.output, result.stderr)
        assert "damaged or replaced at rest" in result.stderr
    assert totals(live.target) == before
    if live.server is not None:
        assert _server_databases(live.server, live.name + "_") == []


def _doctor_record(live: Live, change: Any) -> None:
    """Change the figures recorded for the nightly dump in both records (the hash stays)."""
    for path in (live.nas / "backups" / "manifest.json",
                 live.nas.parent / "data" / "backup-hashes.json"):
        data = json.loads(path.read_text())
        files = data["files"] if "files" in data else next(iter(data["targets"].values()))
        for entry in files.values():
            if "facts" in entry:
                change(entry["facts"])
        path.write_text(json.dumps(data))


def test_pg_restored_figures_must_equal_the_record(pg_live: Live, runner) -> None:
    fill(pg_live.target, 120)
    _ok(runner, "backup")
    fill(pg_live.target, 5)
    before = totals(pg_live.target)

    def lose_a_spot(facts: dict[str, Any]) -> None:
        facts["row_counts"]["spots"] += 1

    _doctor_record(pg_live, lose_a_spot)
    for verb in (["verify"], ["restore", "--yes"]):
        result = runner.invoke(cli, ["sync", *verb])
        assert result.exit_code == 3, result.output + result.stderr
        assert "120 rows in spots, but 121 were recorded" in result.stderr
    assert totals(pg_live.target) == before
    assert pg_live.server is not None
    assert _server_databases(pg_live.server, pg_live.name + "_") == []


def test_pg_empty_skeleton_is_refused_and_prune_waits(pg_live: Live, runner) -> None:
    result = runner.invoke(cli, ["sync", "backup"])
    assert result.exit_code == 3, result.output + result.stderr
    assert "no spots at all" in result.stderr
    assert not (pg_live.nas / "backups").exists() or \
        not list((pg_live.nas / "backups").glob("bookedbiz-*"))
    pruned = runner.invoke(cli, ["sync", "prune"])
    assert pruned.exit_code == 3 and "last nightly backup failed" in pruned.stderr


def test_pg_damaged_dump_is_never_committed(pg_live: Live, runner,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """The archive is read back before the upload commits: a truncated dump leaves the
    previous copy in place (SQLite's integrity_check gate, on PostgreSQL)."""
    import bookedbiz.backup.pg_backup as pg_backup

    fill(pg_live.target, 70)
    _ok(runner, "upload")
    current = pg_live.nas / "database.pgdump"
    before = current.read_bytes()
    fill(pg_live.target, 7)
    real = pg_backup.dump_database

    def truncated(url, dest, *, snapshot=None):  # noqa: ANN001, ANN202
        real(url, dest, snapshot=snapshot)
        dest.write_bytes(dest.read_bytes()[: dest.stat().st_size * 2 // 3])

    monkeypatch.setattr(pg_backup, "dump_database", truncated)
    result = runner.invoke(cli, ["sync", "upload"])
    assert result.exit_code == 3, result.output + result.stderr
    assert "damaged or incomplete" in result.stderr
    assert current.read_bytes() == before


def test_pg_dump_made_by_another_tool_needs_ignore_record(pg_live: Live, runner) -> None:
    from bookedbiz.db.pg_dump import dump_database

    fill(pg_live.target, 33)
    manual = pg_live.nas / "backups" / "manual"
    manual.mkdir(parents=True)
    dump_database(parse_database_url(pg_live.target), manual / "by-hand.pgdump")
    refused = runner.invoke(cli, ["sync", "verify", "--name", "by-hand"])
    assert refused.exit_code == 3 and "No content hash was recorded" in refused.stderr
    accepted = _ok(runner, "verify", "--name", "by-hand", "--ignore-record")
    assert "NOT checked against a record" in accepted.output
    assert "NOT compared with recorded figures" in accepted.output
    assert "spots:        33" in accepted.output


def test_pg_restore_onto_a_server_whose_database_was_lost(pg_live: Live, runner) -> None:
    """After a disaster the database may not exist at all (as a SQLite file may be gone): the
    checked copy simply takes its name."""
    fill(pg_live.target, 60)
    _ok(runner, "backup")
    backed_up = totals(pg_live.target)
    assert pg_live.server is not None
    pg_live.server.admin(f'DROP DATABASE "{pg_live.name}" WITH (FORCE)')
    restored = _ok(runner, "restore", "--yes", "--json")
    assert json.loads(restored.output)["moved_aside"] == []
    assert totals(pg_live.target) == backed_up
    assert _server_databases(pg_live.server, pg_live.name + "_") == []


def test_pg_restore_refused_while_another_session_is_open(pg_live: Live, runner) -> None:
    fill(pg_live.target, 80)
    _ok(runner, "backup")
    fill(pg_live.target, 3)
    before = totals(pg_live.target)
    holder = Database(pg_live.target)  # the web app, say
    try:
        with holder.reading() as conn:
            conn.execute(select(1))
            result = runner.invoke(cli, ["sync", "restore", "--yes"])
    finally:
        holder.dispose()
    assert result.exit_code == 75, result.output + result.stderr
    assert "other session" in result.stderr and "Nothing was replaced" in result.stderr
    assert totals(pg_live.target) == before
    assert pg_live.server is not None
    assert _server_databases(pg_live.server, pg_live.name + "_") == []


def test_pg_verify_without_createdb_names_the_grant(pg_live: Live, runner) -> None:
    fill(pg_live.target, 40)
    _ok(runner, "backup")
    assert pg_live.server is not None
    pg_live.server.admin("ALTER ROLE bookedbiz NOCREATEDB")
    result = runner.invoke(cli, ["sync", "verify"])
    assert result.exit_code == 2, result.output + result.stderr
    assert "ALTER ROLE bookedbiz CREATEDB" in result.stderr
    assert PASSWORD not in result.output + result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_pg_password_never_reaches_a_command_line(pg_live: Live, runner,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    fill(pg_live.target, 30)
    seen: list[tuple[list[str], dict[str, str] | None]] = []
    real = subprocess.run

    def spy(args, **kwargs):  # noqa: ANN001, ANN202 - subprocess.run's signature
        seen.append((list(args), kwargs.get("env")))
        return real(args, **kwargs)

    monkeypatch.setattr("bookedbiz.db.pg_dump.subprocess.run", spy)
    _ok(runner, "backup")
    _ok(runner, "verify")
    tools = [Path(args[0]).name for args, _ in seen]
    assert "pg_dump" in tools and "pg_restore" in tools
    for args, env in seen:
        assert not any(PASSWORD in a for a in args)
        if "--file=/dev/null" not in args:
            assert env is not None and env["PGPASSWORD"] == PASSWORD


@pytest.mark.parametrize("problem", ["down", "password"])
def test_pg_server_down_or_wrong_password_is_one_sentence(
        pg_url: str, pg_server: PgServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        runner, problem: str) -> None:
    from bookedbiz.db.migrate import init_server_database

    init_server_database(pg_url)
    nas = tmp_path / "nas"
    nas.mkdir()
    monkeypatch.setenv("BACKUP_LOCAL_DIR", str(nas))
    monkeypatch.setenv("DATA_PATH", str(tmp_path))
    url = parse_database_url(pg_url)
    bad = (url.set(port=_closed_port()) if problem == "down"
           else url.set(password="wrong-" + PASSWORD))
    monkeypatch.setenv("DATABASE_URL", bad.render_as_string(hide_password=False))
    for verb in (["backup"], ["upload"]):
        result = runner.invoke(cli, ["sync", *verb])
        assert result.exit_code != 0
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1, result.stderr
        assert PASSWORD not in result.output + result.stderr
        expected = "cannot be reached" if problem == "down" else "refused the password"
        assert expected in lines[0] and url.database in lines[0]
    assert not list(nas.rglob("*.pgdump"))  # nothing was sent


def _closed_port() -> int:
    from tests.databases import free_port

    return free_port()

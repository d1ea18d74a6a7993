"""``bookedbiz init``, the schema check and doctor on PostgreSQL (issue 14, SPEC §4), and the
bad-input cases: a URL that does not parse, a server that is down or refuses the password, a
schema that is behind: one sentence naming host and database, never the password, non-zero exit."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from tests.databases import PASSWORD, USER, PgServer, free_port

from bookedbiz.cli.main import cli
from bookedbiz.config import load_settings
from bookedbiz.db.migrate import (
    LANGUAGE_SEED,
    MARKET_SEED,
    current_version,
    head_version,
    require_current_schema,
)
from bookedbiz.db.schema import metadata
from bookedbiz.deploy.doctor import run_doctor
from bookedbiz.errors import BookedBizError


@pytest.fixture
def runner(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> CliRunner:
    monkeypatch.chdir(tmp_path)
    return CliRunner()


def _init(runner: CliRunner, url: str):  # noqa: ANN202 - click Result
    return runner.invoke(cli, ["init"], env={"DATABASE_URL": url, "DATABASE_PATH": ""})


def _counts(url: str) -> dict[str, int]:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return {t: conn.execute(sa.text(f"SELECT COUNT(*) FROM {t}")).scalar_one()
                    for t in ("languages", "markets", "sectors", "alembic_version")}
    finally:
        engine.dispose()


def _assert_one_sentence(result, *must_name: str) -> None:  # noqa: ANN001
    assert result.exit_code in (1, 2), result.output  # 2: a configuration error
    text = result.output.strip()
    assert PASSWORD not in result.output
    assert "Traceback" not in result.output
    assert len(text.splitlines()) == 1, text
    assert text.startswith("Error: ") and text.endswith(".")
    for word in must_name:
        assert word in text, text


def test_init_builds_every_table_at_head(runner: CliRunner, pg_url: str) -> None:
    result = _init(runner, pg_url)
    assert result.exit_code == 0, result.output
    assert f"Created the schema {head_version()}" in result.output and PASSWORD not in result.output
    engine = sa.create_engine(pg_url)
    try:
        with engine.connect() as conn:
            inspector = sa.inspect(conn)
            tables = set(inspector.get_table_names())
            assert set(metadata.tables) <= tables
            assert conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar() \
                == head_version()
            for name, table in metadata.tables.items():
                columns = {c["name"] for c in inspector.get_columns(name)}
                assert columns == set(table.c.keys()), name
            indexes = {i["name"] for t in metadata.tables for i in inspector.get_indexes(t)}
            expected = {i.name for t in metadata.tables.values() for i in t.indexes}
            assert expected <= indexes
    finally:
        engine.dispose()
    counts = _counts(pg_url)
    assert counts["languages"] == len(LANGUAGE_SEED) and counts["markets"] == len(MARKET_SEED)
    assert counts["sectors"] == 20
    assert current_version(pg_url) == head_version()
    require_current_schema(pg_url)  # no error


def test_init_twice_is_idempotent(runner: CliRunner, pg_url: str) -> None:
    assert _init(runner, pg_url).exit_code == 0
    before = _counts(pg_url)
    again = _init(runner, pg_url)
    assert again.exit_code == 0, again.output
    assert f"is up to date (schema {head_version()})" in again.output
    assert f"database {pg_url.rsplit('/', 1)[1]} on 127.0.0.1:" in again.output
    assert _counts(pg_url) == before


def test_month_shape_check_holds_on_postgresql(runner: CliRunner, pg_url: str) -> None:
    """schema.py's YYYY-MM check (GLOB on SQLite) is a regular expression on PostgreSQL."""
    assert _init(runner, pg_url).exit_code == 0
    engine = sa.create_engine(pg_url)
    insert = sa.text("INSERT INTO month_closures (broadcast_month, closed_at, closed_by) "
                     "VALUES (:m, 'now', 'test')")
    try:
        with engine.begin() as conn:
            conn.execute(insert, {"m": "2026-01"})
        for bad in ("2026-1", "Jan-26", "2026-1x", "x026-01", "2026_01"):
            with pytest.raises(sa.exc.IntegrityError), engine.begin() as conn:
                conn.execute(insert, {"m": bad})
    finally:
        engine.dispose()


@pytest.mark.parametrize("url", [
    "postgresql+psycopg://bookedbiz:s3cret-Pg-pw@127.0.0.1:notaport/db",
    "mysql://bookedbiz:s3cret-Pg-pw@127.0.0.1/db",
    "postgresql+psycopg://bookedbiz:s3cret-Pg-pw@127.0.0.1",
    "not a url s3cret-Pg-pw",
])
def test_url_that_does_not_parse(runner: CliRunner, url: str) -> None:
    _assert_one_sentence(_init(runner, url), "DATABASE_URL")


def test_server_that_is_down(runner: CliRunner) -> None:
    port = free_port()  # nothing listens there
    url = f"postgresql+psycopg://{USER}:{PASSWORD}@127.0.0.1:{port}/stationdb"
    result = _init(runner, url)
    _assert_one_sentence(result, "stationdb", f"127.0.0.1:{port}", "cannot be reached")


def test_server_refuses_the_password(runner: CliRunner, pg_server: PgServer,
                                     pg_url: str) -> None:
    name = pg_url.rsplit("/", 1)[1]
    wrong = pg_server.url(name, password="wrong-" + PASSWORD)
    result = _init(runner, wrong)
    _assert_one_sentence(result, name, f"127.0.0.1:{pg_server.port}", "refused the password")
    assert "wrong-" not in result.output
    assert _init(runner, pg_url).exit_code == 0  # nothing was written: the right one works
    assert _counts(pg_url)["alembic_version"] == 1


def test_schema_behind_is_one_sentence_and_init_upgrades(runner: CliRunner,
                                                         pg_url: str) -> None:
    assert _init(runner, pg_url).exit_code == 0
    engine = sa.create_engine(pg_url)
    try:
        with engine.begin() as conn:
            conn.execute(sa.text("UPDATE alembic_version SET version_num = '0009'"))
    finally:
        engine.dispose()
    name = pg_url.rsplit("/", 1)[1]
    with pytest.raises(BookedBizError) as caught:
        require_current_schema(pg_url)
    message = str(caught.value)
    assert "version 0009" in message and name in message and "127.0.0.1" in message
    assert PASSWORD not in message
    doctor = run_doctor(load_settings(database_url=pg_url, database_path=""), None,
                        check_http=False)
    schema = [c for c in doctor if c.name == "schema"]
    assert schema and schema[0].level == "error" and "0009" in schema[0].detail
    upgraded = _init(runner, pg_url)
    assert upgraded.exit_code == 0 and f"from 0009 to {head_version()}" in upgraded.output
    require_current_schema(pg_url)


def test_empty_server_database_is_not_a_bookedbiz_database(pg_url: str) -> None:
    with pytest.raises(BookedBizError, match="is not a BookedBiz database") as caught:
        require_current_schema(pg_url)
    assert PASSWORD not in str(caught.value)


def test_doctor_checks_the_server(runner: CliRunner, pg_url: str) -> None:
    assert _init(runner, pg_url).exit_code == 0
    checks = run_doctor(load_settings(database_url=pg_url, database_path=""), None,
                        check_http=False)
    by_name = {c.name: c for c in checks}
    assert by_name["database"].level == "ok" and "PostgreSQL database" in \
        by_name["database"].detail
    assert by_name["schema"].level == "ok"
    assert "tables" not in by_name
    assert all(PASSWORD not in c.detail for c in checks)
    # the server's freshness and its advisory job lock, as on a Pi
    assert by_name["last import"].level == "warn" and by_name["last backup"].level == "warn"
    assert by_name["job lock"].level == "ok" and "advisory lock" in by_name["job lock"].detail
    from bookedbiz.jobs.lock import JobLock

    settings = load_settings(database_url=pg_url, database_path="")
    with JobLock(settings, "backup"):
        held = {c.name: c for c in run_doctor(settings, None, check_http=False)}["job lock"]
        assert held.level == "info" and "'job': 'backup'" in held.detail
    down = f"postgresql+psycopg://{USER}:{PASSWORD}@127.0.0.1:{free_port()}/x"
    checks = run_doctor(load_settings(database_url=down, database_path=""), None,
                        check_http=False)
    database = next(c for c in checks if c.name == "database")
    assert database.level == "error" and "cannot be reached" in database.detail
    assert PASSWORD not in database.detail
    # one sentence for the one problem: the lock on that server is not a second error
    assert "job lock" not in [c.name for c in checks if c.level == "error"]
    assert next(c for c in checks if c.name == "job lock").level == "info"


def test_sqlite_only_commands_refuse_database_url_clearly(runner: CliRunner, pg_url: str) -> None:
    """A command that is SQLite-only by nature (Datasette's explorer) says so and stops; the
    others run on the server (months list, once the schema is there)."""
    result = runner.invoke(cli, ["explore"], env={"DATABASE_URL": pg_url})
    _assert_one_sentence(result, "DATABASE_URL", "--db PATH", "SQLite")
    assert _init(runner, pg_url).exit_code == 0
    listed = runner.invoke(cli, ["months", "list", "--json"], env={"DATABASE_URL": pg_url})
    assert listed.exit_code == 0 and listed.output.strip() == "[]", listed.output


def test_job_output_redactor_masks_the_database_password() -> None:
    from bookedbiz.notify.redact import Redactor

    url = f"postgresql+psycopg://{USER}:{PASSWORD}@127.0.0.1:5432/stationdb"
    redact = Redactor(load_settings(database_url=url))
    line = f"psql said: password {PASSWORD} rejected for stationdb"
    assert redact(line) == "psql said: password *** rejected for stationdb"


def test_a_failed_init_leaves_the_database_as_it_was(monkeypatch: pytest.MonkeyPatch,
                                                     pg_url: str) -> None:
    """DDL is transactional on PostgreSQL: a failure after the tables were made undoes them."""
    from bookedbiz.db import migrate

    def broken_seed(conn) -> None:  # noqa: ANN001
        raise BookedBizError("seed failed on purpose.")

    monkeypatch.setattr(migrate, "_seed_core", broken_seed)
    with pytest.raises(BookedBizError, match="on purpose"):
        migrate.init_server_database(pg_url)
    engine = sa.create_engine(pg_url)
    try:
        with engine.connect() as conn:
            assert sa.inspect(conn).get_table_names() == []
    finally:
        engine.dispose()


def test_two_inits_at_once_take_turns(pg_url: str, tmp_path: Path) -> None:
    """Two hosts running init together: the advisory lock makes them take turns (without it,
    both create the same tables and one fails or they wait on each other)."""
    import os
    import subprocess
    import sys

    env = {**os.environ, "DATABASE_URL": pg_url, "DATABASE_PATH": ""}
    command = [sys.executable, "-m", "bookedbiz", "init"]
    runs = [subprocess.Popen(command, env=env, cwd=tmp_path, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True) for _ in range(2)]
    outputs = []
    try:
        for run in runs:
            outputs.append(run.communicate(timeout=120)[0])
    finally:
        for run in runs:
            run.kill()
    assert [run.returncode for run in runs] == [0, 0], outputs
    assert sorted("up to date" in out for out in outputs) == [False, True], outputs
    assert _counts(pg_url)["languages"] == len(LANGUAGE_SEED)


def test_missing_database_and_schema_ahead(runner: CliRunner, pg_server: PgServer,
                                           pg_url: str) -> None:
    result = _init(runner, pg_server.url("no_such_db"))
    _assert_one_sentence(result, "no_such_db", "does not exist")
    assert _init(runner, pg_url).exit_code == 0
    engine = sa.create_engine(pg_url)
    try:
        with engine.begin() as conn:
            conn.execute(sa.text("UPDATE alembic_version SET version_num = '0099'"))
    finally:
        engine.dispose()
    _assert_one_sentence(_init(runner, pg_url), "0099", "does not know")


def test_url_spellings(monkeypatch: pytest.MonkeyPatch) -> None:
    from bookedbiz.db.server import describe, parse_database_url
    from bookedbiz.errors import ConfigError

    url = parse_database_url(f"postgresql://{USER}:{PASSWORD}@db.example:6543/station")
    assert url.drivername == "postgresql+psycopg"
    assert describe(url) == f"database station on db.example:6543 as user {USER}"
    for bad in (f"postgresql+psycopg://{USER}:{PASSWORD}@h:99999/d",
                f"postgres://{USER}:{PASSWORD}@h/d", f"sqlite:///{PASSWORD}.db"):
        with pytest.raises(ConfigError) as caught:
            parse_database_url(bad)
        assert PASSWORD not in str(caught.value)


def test_doctor_command_on_the_server(runner: CliRunner, pg_url: str, tmp_path: Path) -> None:
    assert _init(runner, pg_url).exit_code == 0
    env = {"DATABASE_URL": pg_url, "DATABASE_PATH": "", "DATA_PATH": str(tmp_path)}
    result = runner.invoke(cli, ["doctor", "--no-http"], env=env)
    assert "OK    database: PostgreSQL database" in result.output, result.output
    assert "OK    schema: version" in result.output
    assert PASSWORD not in result.output and "Traceback" not in result.output
    down = runner.invoke(cli, ["doctor", "--no-http"], env={
        **env, "DATABASE_URL": f"postgresql+psycopg://{USER}:{PASSWORD}@127.0.0.1:"
                               f"{free_port()}/stationdb"})
    assert down.exit_code == 1
    assert "ERROR database: The PostgreSQL server for database stationdb" in down.output
    assert PASSWORD not in down.output

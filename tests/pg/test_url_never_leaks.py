"""A DATABASE_URL passed as ``--db`` to any command is a secret: whether the command runs on a
server or works on SQLite files only, what it prints never holds the password (issue 14's bad
input: one sentence naming host and database, never the password), and it exits non-zero."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from tests.databases import free_port

from bookedbiz.cli.main import cli

SECRET = "Never-Print-Me-7"

COMMANDS = [
    ["months", "list"],
    ["stations", "list"],
    ["stations", "add", "KTWO", "--name", "Two"],
    ["report", "revenue", "--year", "2025"],
    ["report", "pacing"],
    ["customers", "duplicates"],
    ["users", "list"],
    ["budgets", "list"],
    ["history", "backfill", "{folder}"],
    ["import", "{folder}/log.xlsx"],
    ["sync", "backup"],
    ["explore"],
    ["doctor"],
    ["init"],
]


@pytest.mark.parametrize("args", COMMANDS, ids=lambda a: " ".join(a[:2]))
def test_a_url_in_db_never_prints_its_password(args: list[str], tmp_path: Path) -> None:
    (tmp_path / "log.xlsx").write_bytes(b"not a workbook")
    url = f"postgresql+psycopg://bookedbiz:{SECRET}@127.0.0.1:{free_port()}/nowhere"
    argv = [a.replace("{folder}", str(tmp_path)) for a in args] + ["--db", url]
    result = CliRunner().invoke(cli, argv, env={"DATA_PATH": str(tmp_path)})
    assert result.exit_code != 0, result.output
    assert SECRET not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), \
        repr(result.exception)
    assert "Traceback" not in result.output

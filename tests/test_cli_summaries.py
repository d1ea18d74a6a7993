"""``bookedbiz --help`` stays fast: it lists the commands from SUMMARIES without importing them,
and what it shows is what click would show from the commands themselves."""

from __future__ import annotations

import json
import subprocess
import sys

import click
import pytest
from click.testing import CliRunner

from bookedbiz.cli import main
from bookedbiz.cli.main import COMMANDS, SUMMARIES, cli


def test_every_command_has_a_summary() -> None:
    missing = sorted(set(COMMANDS) - set(SUMMARIES))
    assert not missing, f"add these to SUMMARIES in cli/main.py: {missing}"


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_summary_is_the_commands_own_first_line(name: str) -> None:
    if name not in SUMMARIES:
        pytest.skip("no summary (the help imports this command)")
    command = cli.get_command(click.Context(cli), name)
    assert SUMMARIES[name] == command.get_short_help_str(limit=1000)


def test_help_reads_as_click_would_print_it(monkeypatch: pytest.MonkeyPatch) -> None:
    fast = CliRunner().invoke(cli, ["--help"], terminal_width=80)
    monkeypatch.setattr(main.LazyGroup, "format_commands", click.Group.format_commands)
    slow = CliRunner().invoke(cli, ["--help"], terminal_width=80)
    assert fast.exit_code == slow.exit_code == 0
    assert fast.output == slow.output


def test_help_imports_no_command_module() -> None:
    code = ("import sys\nfrom bookedbiz.cli.main import cli\n"
            "try:\n    cli(['--help'])\nexcept SystemExit:\n    pass\n"
            "import json; print(json.dumps(sorted(sys.modules)), file=sys.stderr)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True)
    modules = set(json.loads(proc.stderr.strip().splitlines()[-1]))
    heavy = {"sqlalchemy", "pydantic", "pydantic_settings", "dropbox", "flask", "rich",
             "bookedbiz.config"} & modules
    assert not heavy, heavy
    assert not [m for m in modules if m.startswith("bookedbiz.cli.") and m != "bookedbiz.cli.main"]

"""Every command and subcommand has help text and answers --help."""

from __future__ import annotations

import click
import pytest
from click.testing import CliRunner

from bookedbiz.cli.main import COMMANDS, cli


def _walk(command: click.Command, path: list[str]):
    yield path, command
    if isinstance(command, click.Group):
        ctx = click.Context(command)
        for name in command.list_commands(ctx):
            yield from _walk(command.get_command(ctx, name), [*path, name])


ALL = [(" ".join(path), command) for path, command in _walk(cli, []) if path]


def test_every_root_command_is_registered() -> None:
    assert {path for path, _ in ALL if " " not in path} == set(COMMANDS)


@pytest.mark.parametrize(("path", "command"), ALL, ids=[p for p, _ in ALL])
def test_help(path: str, command: click.Command) -> None:
    assert (command.help or "").strip(), f"{path} has no help text"
    result = CliRunner().invoke(cli, [*path.split(), "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage:" in result.output

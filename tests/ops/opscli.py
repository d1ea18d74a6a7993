"""The CLI under test: the root group in-process, or a command line for a subprocess."""

from __future__ import annotations

import sys
from pathlib import Path

import click

CLI_ENTRY = Path(__file__).resolve().parent / "cli_entry.py"


def cli_command(*args: str) -> list[str]:
    """argv that runs ``bookedbiz ARGS`` in a fresh interpreter."""
    return [sys.executable, str(CLI_ENTRY), *args]


def root_cli() -> click.Group:
    try:
        from bookedbiz.cli.main import cli
    except ImportError:  # another area's module is not written yet
        from bookedbiz.cli import ops_commands

        @click.group()
        def cli() -> None:
            """ops-only root group"""

        ops_commands.register(cli)
    return cli


def resolve(tokens: list[str]) -> tuple[list[str], click.Command, list[str]]:
    """(subcommand path, leaf command, the rest of the line) for tokens after 'bookedbiz'."""
    command: click.Command = root_cli()
    path: list[str] = []
    rest = list(tokens)
    while isinstance(command, click.Group) and rest and not rest[0].startswith("-"):
        sub = command.get_command(click.Context(command), rest[0])
        assert sub is not None, f"no command {' '.join([*path, rest[0]])!r}"
        command, path = sub, [*path, rest.pop(0)]
    return path, command, rest

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

"""The CLI under test: the real root group when every area has landed, else ops commands only."""

from __future__ import annotations

import click


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

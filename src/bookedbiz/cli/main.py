"""Root command group; each area contributes its commands from its own module."""

from __future__ import annotations

import click

from bookedbiz import __version__
from bookedbiz.cli import (
    backup_commands,
    data_commands,
    import_commands,
    ops_commands,
    report_commands,
    web_commands,
)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="bookedbiz")
def cli() -> None:
    """BookedBiz: booked-business revenue database and dashboard for broadcast ad sales."""


for module in (
    data_commands,
    import_commands,
    report_commands,
    web_commands,
    backup_commands,
    ops_commands,
):
    module.register(cli)

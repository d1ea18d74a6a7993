"""Root command group. Each area's commands live in their own module and are imported only when
invoked, so ``bookedbiz daily-update`` does not pay for Flask, Dropbox or Apprise at start-up."""

from __future__ import annotations

from importlib import import_module

import click

from bookedbiz import __version__

# command name → (module under bookedbiz.cli, attribute)
COMMANDS: dict[str, tuple[str, str]] = {
    "init": ("data_commands", "init_command"),
    "months": ("data_commands", "months_group"),
    "import": ("import_commands", "import_command"),
    "daily-update": ("import_commands", "daily_update_command"),
    "generate-log": ("import_commands", "generate_log_command"),
    "report": ("report_commands", "report_group"),
    "budgets": ("planning_commands", "budgets_group"),
    "forecast": ("planning_commands", "forecast_group"),
    "planning": ("planning_commands", "planning_group"),
    "history": ("history_commands", "history_group"),
    "serve": ("web_commands", "serve_command"),
    "users": ("web_commands", "users_group"),
    "tokens": ("web_commands", "tokens_group"),
    "demo": ("web_commands", "demo_command"),
    "sync": ("backup_commands", "sync"),
    "jobs": ("ops_commands", "jobs"),
    "notify": ("ops_commands", "notify"),
    "deploy": ("ops_commands", "deploy"),
    "doctor": ("ops_commands", "doctor"),
    "explore": ("ops_commands", "explore"),
}


class LazyGroup(click.Group):
    """A group whose subcommands are imported on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = COMMANDS.get(cmd_name)
        if target is None:
            return None
        module = import_module(f"bookedbiz.cli.{target[0]}")
        return getattr(module, target[1])


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="bookedbiz")
def cli() -> None:
    """BookedBiz: booked-business revenue database and dashboard for broadcast ad sales."""

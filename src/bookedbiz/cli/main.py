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
    "stations": ("station_commands", "stations_group"),
    "report": ("report_commands", "report_group"),
    "customers": ("customer_commands", "customers_group"),
    "budgets": ("planning_commands", "budgets_group"),
    "forecast": ("planning_commands", "forecast_group"),
    "planning": ("planning_commands", "planning_group"),
    "history": ("history_commands", "history_group"),
    "digest": ("digest_commands", "digest_group"),
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

# command name → its one-line help, so ``bookedbiz --help`` imports no command module (each
# pulls in SQLAlchemy, Flask, Dropbox …). tests/test_cli_summaries.py keeps them equal to the
# commands' own first lines; a command without one here is imported to ask it.
SUMMARIES: dict[str, str] = {
    "init": "Create the database, or upgrade it to the current schema.",
    "months": "List, close and reopen broadcast months.",
    "import": "Import a commercial log or an annual recap FILE (.xlsx).",
    "daily-update": "The daily job: import today's commercial log in weekly mode.",
    "generate-log": "Write a deterministic synthetic commercial log (.xlsx) to OUT.",
    "stations": "The stations sharing this database: list, add, rename.",
    "report": "Revenue reports (Trade excluded) in the terminal or as files.",
    "customers": "Customer and agency stewardship: duplicates, merges and undo, sectors, stale "
                 "customers.",
    "budgets": "Gross budgets per AE and broadcast month: load, list, export, history.",
    "forecast": "Forecasts per AE and broadcast month: set, list, history.",
    "planning": "The planning table and the quarterly management report.",
    "history": "The booking history: what was on the books on any date.",
    "digest": "Weekly pacing and daily what-changed digests by e-mail or any Apprise URL.",
    "serve": "Serve the web dashboard with uvicorn (bookedbiz.web.asgi:app).",
    "users": "Web users, their roles (admin, manager, finance, ae, viewer) and AE links.",
    "tokens": "API tokens for the JSON API (/api/v1/...), stored hashed.",
    "demo": "Build a realistic demo database (two-plus years of daily logs replayed, budgets, "
            "forecasts), create one demo user per role, and serve it on 127.0.0.1.",
    "sync": "Verified off-site backups of the database, and safe restores.",
    "jobs": "Scheduled jobs: run one under the lock with recording and alerts, or show their "
            "status.",
    "notify": "Send alerts through the Apprise URLs in NOTIFY_URLS (plus NTFY_TOPIC / "
              "SLACK_WEBHOOK_URL).",
    "deploy": "Deployment files: systemd units and timers, env template, logrotate, helpers.",
    "doctor": "Check paths, database, schema, integrity, freshness, disk, lock, alerts and "
              "versions.",
    "explore": "Explore the reporting tables in Datasette, read-only, with canned revenue "
               "queries.",
}


class LazyGroup(click.Group):
    """A group whose subcommands are imported on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """The command list from SUMMARIES, without importing the commands."""
        names = self.list_commands(ctx)
        if not names:
            return
        limit = formatter.width - 6 - max(len(name) for name in names)
        rows = []
        for name in names:
            summary = SUMMARIES.get(name)
            if summary is None:
                command = self.get_command(ctx, name)
                if command is None or command.hidden:
                    continue
            else:  # a stand-in: click shortens the summary exactly as it would the command's
                command = click.Command(name, help=summary)
            rows.append((name, command.get_short_help_str(limit)))
        with formatter.section("Commands"):
            formatter.write_dl(rows)

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

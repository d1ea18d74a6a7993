"""Operations commands: jobs, notify, deploy, doctor, explore (logic lives in jobs/, notify/,
deploy/; this module only parses options and prints)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from bookedbiz.cli.common import database_path, db_option, handle_errors, settings
from bookedbiz.errors import ConfigError


def register(cli: click.Group) -> None:
    """Add this module's commands to the root group."""
    for command in (jobs, notify, deploy, doctor, explore):
        cli.add_command(command)


# ---------------------------------------------------------------- jobs

@click.group()
def jobs() -> None:
    """Scheduled jobs: run one under the lock with recording and alerts, or show their status."""


@jobs.command("run", context_settings={"ignore_unknown_options": True})
@click.argument("job")
@click.argument("job_args", nargs=-1, type=click.UNPROCESSED)
@db_option
@click.option("--budget", type=click.IntRange(min=1), default=None,
              help="Time budget in seconds (default: $JOB_TIME_BUDGET_SECONDS).")
@handle_errors
def jobs_run(job: str, job_args: tuple[str, ...], db_path: Path | None, budget: int | None) -> None:
    """Run JOB (daily-update, backup, heartbeat-check); options after -- go to the job.

    Takes the job lock (busy: prints "skipped", exit 75), runs within the time budget (overrun:
    killed, exit 124), logs to <data>/logs/JOB.log, records the outcome in job_runs and
    <data>/heartbeats/JOB.json, alerts, and exits with the job's own exit code.
    """
    from bookedbiz.jobs.runner import run_job

    result = run_job(job, job_args, settings=settings(), db_override=db_path, budget_seconds=budget)
    sys.exit(result.exit_code)


@jobs.command("status")
@db_option
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")
@click.option("--runs", type=click.IntRange(1, 50), default=3, show_default=True,
              help="Runs shown per job.")
@handle_errors
def jobs_status(db_path: Path | None, as_json: bool, runs: int) -> None:
    """Show the last runs of each job, heartbeat ages, import/backup freshness and the lock."""
    from bookedbiz.cli.databases import command_target
    from bookedbiz.jobs.status import collect_status, render_status

    status = collect_status(command_target(db_path), settings(), runs_per_job=runs)
    click.echo(json.dumps(status, indent=2) if as_json else render_status(status))


@jobs.command("archive-logs")
@click.option("--keep-days", type=click.IntRange(min=1), default=None,
              help="Days a daily log stays as it is (default: $DAILY_LOG_KEEP_DAYS, 14).")
@click.option("--today", type=click.DateTime(["%Y-%m-%d"]), default=None, hidden=True)
@handle_errors
def jobs_archive_logs(keep_days: int | None, today: object) -> None:
    """Zip the daily logs older than --keep-days into raw/daily/archive/Commercial Logs
    YYYY-MM.zip (checked before the originals are removed); the daily job runs it."""
    from datetime import date, datetime

    from bookedbiz.jobs.log_archive import archive_daily_logs

    cfg = settings()
    day = today.date() if isinstance(today, datetime) else date.today()
    outcome = archive_daily_logs(cfg.resolved_data_path(), keep_days or cfg.daily_log_keep_days,
                                 day)
    click.echo(f"Archived {len(outcome.archived)} daily log(s) into "
               f"{', '.join(outcome.zips) or 'no archive'}; {outcome.kept} recent kept as they "
               "are.")
    for name in outcome.conflicts:
        click.echo(f"Warning: {name} differs from the copy already archived; both kept.",
                   err=True)


# ---------------------------------------------------------------- notify

@click.group()
def notify() -> None:
    """Send alerts through the Apprise URLs in NOTIFY_URLS (plus NTFY_TOPIC / SLACK_WEBHOOK_URL)."""


def _print_deliveries(deliveries: list) -> int:  # noqa: ANN001
    if not deliveries:
        raise ConfigError("No notification targets configured; set NOTIFY_URLS.")
    for d in deliveries:
        click.echo(f"{d.target}: {'delivered' if d.ok else 'FAILED: ' + d.detail}")
    return 0 if all(d.ok for d in deliveries) else 1


@notify.command("send")
@click.option("--title", required=True, help="Title of the alert.")
@click.option("--message", "body", required=True, help="Body text; '-' reads standard input.")
@click.option("--level", type=click.Choice(["failure", "warning", "success", "info"]),
              default="info", show_default=True, help="Kind of alert (sets default tags).")
@click.option("--priority", default=None,
              help="min, low, default, high, urgent or 1-5 (default: from --level).")
@click.option("--tag", "tags", multiple=True, help="ntfy tag (repeatable), e.g. warning.")
@handle_errors
def notify_send(title: str, body: str, level: str, priority: str | None,
                tags: tuple[str, ...]) -> None:
    """Send one message to every target; exit 1 if any target failed, 2 if none configured."""
    from bookedbiz.notify import Level, Message, send_message
    from bookedbiz.notify.message import normalize_priority

    if body == "-":
        body = sys.stdin.read()
    try:
        prio = normalize_priority(priority) if priority else ""
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    message = Message(title, body, Level(level), priority=prio, tags=tuple(tags))
    sys.exit(_print_deliveries(send_message(message, settings())))


@notify.command("test")
@handle_errors
def notify_test() -> None:
    """Send a low-priority test message to every target and show which ones delivered."""
    import socket

    from bookedbiz.notify import Level, Message, send_message

    message = Message(f"BookedBiz test from {socket.gethostname()}",
                      "If you can read this, alerts reach you.", Level.INFO)
    sys.exit(_print_deliveries(send_message(message, settings())))


# ---------------------------------------------------------------- deploy

@click.group()
def deploy() -> None:
    """Deployment files: systemd units and timers, env template, logrotate, helpers."""


@deploy.command("render")
@click.option("--prefix", type=click.Path(path_type=Path), default=Path("/opt/bookedbiz"),
              show_default=True, help="Checkout folder holding .venv/bin/bookedbiz.")
@click.option("--user", default="bookedbiz", show_default=True,
              help="Dedicated service account.")
@click.option("--data-dir", type=click.Path(path_type=Path), default=Path("/var/lib/bookedbiz"),
              show_default=True, help="Database, logs, locks, heartbeats (the only writable dir).")
@click.option("--env-file", type=click.Path(path_type=Path),
              default=Path("/etc/bookedbiz/bookedbiz.env"), show_default=True,
              help="Environment file the units load.")
@click.option("--web-port", type=click.IntRange(1, 65535), default=8000, show_default=True,
              help="Port of the web service.")
@click.option("--explore-port", type=click.IntRange(1, 65535), default=8001, show_default=True,
              help="Port of the Datasette explorer (bound to 127.0.0.1).")
@click.option("--budget", type=click.IntRange(min=60), default=3600, show_default=True,
              help="Job time budget in seconds.")
@click.option("--server-name", "server_names", multiple=True, metavar="NAME",
              help="Host name browsers use for the HTTPS site (repeatable; default "
                   "bookedbiz.local).")
@click.option("--acme-email", default=None,
              help="Get a public certificate by ACME (the name must resolve publicly and port "
                   "80/443 be reachable); default: Caddy's own local CA ('tls internal').")
@click.option("--tls-cert", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Certificate file (PEM) to use instead, with --tls-key.")
@click.option("--tls-key", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Private key file (PEM) for --tls-cert.")
@click.option("--daily-update-at", "daily_update_at", default="04:30", show_default=True,
              metavar="HH:MM[,HH:MM...]",
              help="Times of day the daily update runs, e.g. 03:30,09:30,15:30,21:30.")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="Folder to write the files into.")
@handle_errors
def deploy_render(prefix: Path, user: str, data_dir: Path, env_file: Path, web_port: int,
                  explore_port: int, budget: int, server_names: tuple[str, ...],
                  acme_email: str | None, tls_cert: Path | None, tls_key: Path | None,
                  daily_update_at: str, out: Path) -> None:
    """Render every deployment file into OUT; install them with 'sudo bash OUT/install.sh'.

    The web unit listens on 127.0.0.1 only; caddy/Caddyfile puts Caddy in front with TLS.
    """
    from bookedbiz.deploy.render import DeployParams, parse_times, render_files, write_files

    params = DeployParams(prefix, user, data_dir, env_file, web_port, "127.0.0.1",
                          explore_port, budget, server_names=server_names or ("bookedbiz.local",),
                          acme_email=acme_email, tls_cert=tls_cert, tls_key=tls_key,
                          daily_update_at=parse_times(daily_update_at))
    params.validate_data_dir()
    for path in write_files(render_files(params), out):
        click.echo(str(path))
    click.echo(f"Install with: sudo bash {out / 'install.sh'}")


# ---------------------------------------------------------------- doctor / explore

@click.command()
@db_option
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")
@click.option("--no-http", is_flag=True, help="Skip probing the web service.")
@click.option("--web-port", type=click.IntRange(1, 65535), default=8000, show_default=True,
              help="Port where the web service should answer on 127.0.0.1.")
@handle_errors
def doctor(db_path: Path | None, as_json: bool, no_http: bool, web_port: int) -> None:
    """Check paths, database, schema, integrity, freshness, disk, lock, alerts and versions.

    Exits 1 when something is wrong, printing the fix in one sentence per problem.
    """
    from bookedbiz.deploy.doctor import (
        checks_as_dicts,
        doctor_exit_code,
        render_checks,
        run_doctor,
    )
    from bookedbiz.notify import Redactor

    cfg = settings()
    checks = run_doctor(cfg, db_path, web_port=web_port, check_http=not no_http)
    code = doctor_exit_code(checks)
    text = (json.dumps({"ok": code == 0, "checks": checks_as_dicts(checks)}, indent=2)
            if as_json else render_checks(checks))
    click.echo(Redactor(cfg)(text))
    sys.exit(code)


@click.command()
@db_option
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Interface to bind; keep loopback unless you mean to expose it.")
@click.option("--port", type=click.IntRange(1, 65535), default=8001, show_default=True,
              help="Port to listen on.")
@click.option("--immutable", is_flag=True,
              help="Open as immutable (only for a snapshot file that never changes).")
@click.option("--allow-sql", is_flag=True,
              help="Also accept ad-hoc SQL (still limited to the reporting tables); "
                   "by default only tables and the canned queries are served.")
@click.option("--allowed-host", "allowed_hosts", multiple=True, metavar="NAME",
              help="Host name the explorer answers to besides loopback (repeatable), e.g. "
                   "the name of the TLS proxy in front of it.")
@handle_errors
def explore(db_path: Path | None, host: str, port: int, immutable: bool, allow_sql: bool,
            allowed_hosts: tuple[str, ...]) -> None:
    """Explore the reporting tables in Datasette, read-only, with canned revenue queries.

    Users, API tokens, sign-in failures, the audit log, application state and job runs are
    never served, by any page, JSON, CSV or SQL.
    """
    from bookedbiz.cli.databases import command_target
    from bookedbiz.deploy.explore import explorer_file, serve

    path = database_path(explorer_file(command_target(db_path)))
    sql = "ad-hoc SQL allowed" if allow_sql else "canned queries only"
    click.echo(f"Datasette on http://{host}:{port}/ (read-only: {path}; {sql})", err=True)
    serve(path, host, port, immutable, allow_sql=allow_sql, allowed_hosts=allowed_hosts)

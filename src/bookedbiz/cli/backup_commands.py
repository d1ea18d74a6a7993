"""``bookedbiz sync``: verified off-site backups (Dropbox or a local folder) and safe restores.

``--target``, ``--json`` and ``--db`` work on the group (``sync --target local upload``) and on
each verb (``sync upload --target local``). Exit codes: 0 ok, 1 failure, 2 usage or
configuration, 3 verification failed, 4 not found, 75 database or job lock busy.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from bookedbiz.backup.dropbox_target import redact
from bookedbiz.backup.service import TARGETS, Outcome, SyncService
from bookedbiz.cli.common import db_option, fail, handle_errors, settings
from bookedbiz.errors import EXIT_FAILURE, BookedBizError

F = TypeVar("F", bound=Callable[..., Any])

TARGET_HELP = ("Where backups live: dropbox or local (default: dropbox when DROPBOX_* "
               "credentials are set, else local when BACKUP_LOCAL_DIR is set).")


def ignore_record_option(func: F) -> F:
    """--ignore-record: for copies made by another tool, whose hash was never recorded."""
    return click.option(
        "--ignore-record", is_flag=True,
        help="Accept a copy whose content hash was never recorded when it was made (made by "
             "another tool); then only transfer and integrity are checked, not damage at rest.",
    )(func)


def common_options(func: F) -> F:
    """--target, --json and --db, accepted on the group and on every verb."""
    func = click.option("--target", "target", type=click.Choice(TARGETS), default=None,
                        help=TARGET_HELP)(func)
    func = click.option("--json", "as_json", is_flag=True, default=False,
                        help="Print the result as one JSON object on stdout.")(func)
    return db_option(func)


def _secrets() -> list[str]:
    s = settings()
    values = (s.dropbox_app_secret, s.dropbox_refresh_token, s.dropbox_access_token)
    return [v for v in values if v and len(v) >= 4]


def _run(target: str | None, as_json: bool, db_path: Path | None,
         action: Callable[[SyncService], Outcome]) -> None:
    ctx = click.get_current_context()
    group: dict[str, Any] = ctx.obj if isinstance(ctx.obj, dict) else {}
    as_json = as_json or bool(group.get("json"))
    try:
        service = SyncService(settings(), target=target or group.get("target"),
                              db_override=db_path or group.get("db"))
        outcome = action(service)
    except BookedBizError as exc:
        if as_json:
            click.echo(json.dumps({"ok": False, "error": str(exc), "exit_code": exc.exit_code}))
        raise
    except (click.exceptions.Exit, click.Abort, KeyboardInterrupt):
        raise
    except Exception as exc:  # a bug or an unmapped library error: no traceback, no secrets
        message = redact(f"{type(exc).__name__}: {exc}", _secrets())
        if as_json:
            click.echo(json.dumps({"ok": False, "error": message, "exit_code": EXIT_FAILURE}))
        fail(f"Unexpected failure: {message}", EXIT_FAILURE)
        return
    if as_json:
        click.echo(json.dumps({"ok": True, **outcome.data}, default=str))
    else:
        for line in outcome.lines:
            click.echo(line)


@click.group("sync")
@common_options
@click.pass_context
def sync(ctx: click.Context, target: str | None, as_json: bool, db_path: Path | None) -> None:
    """Verified off-site backups of the database, and safe restores.

    The nightly job runs 'sync upload', 'sync backup' and 'sync prune'. Every upload is a
    consistent snapshot (SQLite backup API) that passed PRAGMA integrity_check, or with
    DATABASE_URL a pg_dump archive read back whole; restores verify before they replace
    anything. Exit codes: 0 ok, 1 failure, 2 usage/configuration, 3 verification failed,
    4 not found, 75 database or job lock busy.
    """
    ctx.obj = {"target": target, "json": as_json, "db": db_path}


@sync.command("test")
@common_options
@handle_errors
def test_cmd(target: str | None, as_json: bool, db_path: Path | None) -> None:
    """Check that the backup target is reachable and the credentials work."""
    _run(target, as_json, db_path, lambda s: s.test())


@sync.command("upload")
@common_options
@click.option("--allow-shrink", is_flag=True,
              help="Upload even if the spot count collapsed or is zero (never skips integrity).")
@handle_errors
def upload_cmd(target: str | None, as_json: bool, db_path: Path | None,
               allow_shrink: bool) -> None:
    """Snapshot the database, verify it and upload it to DROPBOX_DB_PATH (skipped if unchanged)."""
    _run(target, as_json, db_path, lambda s: s.upload(allow_shrink=allow_shrink))


@sync.command("backup")
@click.argument("name", required=False)
@common_options
@click.option("--allow-shrink", is_flag=True,
              help="Back up even if the spot count collapsed or is zero (never skips integrity).")
@handle_errors
def backup_cmd(name: str | None, target: str | None, as_json: bool, db_path: Path | None,
               allow_shrink: bool) -> None:
    """Create a dated nightly backup, or a custom NAME kept apart in <backups>/manual/.

    Nightly names carry a UTC timestamp (bookedbiz-20261123T020500Z.db). Custom backups are
    never chosen as the latest and never pruned.
    """
    _run(target, as_json, db_path, lambda s: s.backup(name, allow_shrink=allow_shrink))


@sync.command("info")
@common_options
@handle_errors
def info_cmd(target: str | None, as_json: bool, db_path: Path | None) -> None:
    """Show size, UTC time and content hash of the uploaded database copy."""
    _run(target, as_json, db_path, lambda s: s.info())


@sync.command("list-backups")
@common_options
@handle_errors
def list_backups_cmd(target: str | None, as_json: bool, db_path: Path | None) -> None:
    """List nightly backups (newest first by their UTC time) and custom backups."""
    _run(target, as_json, db_path, lambda s: s.list_backups())


@sync.command("list")
@click.argument("path", required=False, default="")
@common_options
@handle_errors
def list_cmd(path: str, target: str | None, as_json: bool, db_path: Path | None) -> None:
    """List any folder on the target (default: the root); 'backups' and '/backups' both work."""
    _run(target, as_json, db_path, lambda s: s.list(path))


@sync.command("download")
@click.option("--name", default=None,
              help="Backup to fetch: a nightly or custom name, 'current', or a /path "
                   "(default: the newest nightly backup).")
@click.option("--to", "to", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Where to save it (default: restore-<UTC time>.db in the data directory).")
@ignore_record_option
@common_options
@handle_errors
def download_cmd(name: str | None, to: Path | None, ignore_record: bool, target: str | None,
                 as_json: bool, db_path: Path | None) -> None:
    """Download a backup to a separate file and verify it; never touches the live database.

    The copy must have the content hash recorded when it was made (exit 3 otherwise).
    """
    _run(target, as_json, db_path, lambda s: s.download(name, to, ignore_record=ignore_record))


@sync.command("restore")
@click.option("--name", default=None,
              help="Backup to restore (default: the newest nightly backup).")
@click.option("--yes", is_flag=True,
              help="Really replace the live database (otherwise only download and verify).")
@ignore_record_option
@common_options
@handle_errors
def restore_cmd(name: str | None, yes: bool, ignore_record: bool, target: str | None,
                as_json: bool, db_path: Path | None) -> None:
    """Verify a backup, then (with --yes) replace the live database with it.

    A copy whose content hash differs from the one recorded when it was made is refused
    (exit 3). Refuses while the web app, an import or Datasette holds the database. The old
    database and its -wal/-shm are moved aside with a timestamp suffix, never deleted. On
    PostgreSQL the dump is restored into a new database, checked against its recorded figures
    and swapped in by renaming; the old database is kept as <db>_replaced_<time>.
    """
    _run(target, as_json, db_path,
         lambda s: s.restore(name, yes=yes, ignore_record=ignore_record))


@sync.command("prune")
@click.option("--dry-run", is_flag=True, help="Show what would be deleted without deleting.")
@common_options
@handle_errors
def prune_cmd(dry_run: bool, target: str | None, as_json: bool, db_path: Path | None) -> None:
    """Delete nightly backups beyond the retention policy (BACKUP_KEEP_DAILY/WEEKLY/MONTHLY).

    Never deletes custom backups or the newest verified backup, and deletes nothing after a
    failed backup.
    """
    _run(target, as_json, db_path, lambda s: s.prune(dry_run=dry_run))


@sync.command("verify")
@click.option("--name", default=None,
              help="Backup to check (default: the newest nightly backup).")
@ignore_record_option
@common_options
@handle_errors
def verify_cmd(name: str | None, ignore_record: bool, target: str | None, as_json: bool,
               db_path: Path | None) -> None:
    """Download a backup to a scratch file and check its content hash and integrity.

    The hash must equal the one recorded when the backup was made (exit 3 otherwise); verify
    never changes that record. On PostgreSQL the dump is restored into a scratch database
    (dropped after) whose row counts and totals must equal those recorded with it.
    """
    _run(target, as_json, db_path, lambda s: s.verify(name, ignore_record=ignore_record))


@sync.command("logs")
@common_options
@handle_errors
def logs_cmd(target: str | None, as_json: bool, db_path: Path | None) -> None:
    """Upload the daily logs and their monthly archives to <backups>/logs/ (changed ones only).

    They are what 'history backfill' rebuilds the booking history from after a disaster; each
    file's content hash is recorded like a backup's.
    """
    _run(target, as_json, db_path, lambda s: s.logs())


@sync.command("restore-logs")
@click.option("--to", "to", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="Existing folder to put the logs in (monthly archives are unzipped).")
@ignore_record_option
@common_options
@handle_errors
def restore_logs_cmd(to: Path, ignore_record: bool, target: str | None, as_json: bool,
                     db_path: Path | None) -> None:
    """Download every backed-up daily log, verified against its recorded hash, into a folder
    ready for 'bookedbiz history backfill FOLDER'."""
    _run(target, as_json, db_path,
         lambda s: s.restore_logs(to, ignore_record=ignore_record))


def register(cli: click.Group) -> None:
    """Add the ``sync`` group to the root group."""
    cli.add_command(sync)

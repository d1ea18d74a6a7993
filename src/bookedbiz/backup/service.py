"""The ``bookedbiz sync`` verbs as plain functions returning data (the CLI only prints).

Each verb returns a :class:`Outcome`: a JSON-able dict and the lines a person reads. Failures
raise :class:`~bookedbiz.errors.BookedBizError` subclasses whose exit codes the CLI uses.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bookedbiz.backup import server_verbs
from bookedbiz.backup.dropbox_target import DropboxTarget, dropbox_configured
from bookedbiz.backup.gate import BackgroundCheck, Snapshot, data_dir, taken_snapshot
from bookedbiz.backup.manifest import (
    ATTEMPT_KEY,
    LAST_BACKUP_KEY,
    Manifest,
    read_state,
    write_state,
)
from bookedbiz.backup.naming import (
    custom_name,
    join,
    manual_folder,
    nightly_name,
    normalize_file,
    normalize_folder,
    parse_nightly,
    with_suffix,
)
from bookedbiz.backup.pg_backup import DUMP_SUFFIX, taken_dump
from bookedbiz.backup.records import LocalLedger, expected_hash, record_copy, recorded_facts
from bookedbiz.backup.restore import (
    download_verified,
    ensure_not_in_use,
    exclusive_job_lock,
    replace_database,
)
from bookedbiz.backup.retention import plan_retention
from bookedbiz.backup.targets import LocalTarget, RemoteEntry, Target
from bookedbiz.config import Settings, resolve_database_path, resolve_database_target
from bookedbiz.db.access import Database
from bookedbiz.db.connection import utc_now
from bookedbiz.errors import BookedBizError, ConfigError, NotFoundError, VerificationError
from bookedbiz.jobs.lock import job_lock_path

TARGETS = ("dropbox", "local")


@dataclass
class Outcome:
    data: dict[str, Any]
    lines: list[str] = field(default_factory=list)


def default_target_kind(settings: Settings) -> str:
    """Dropbox when its credentials are set, else the local folder, else a config error."""
    if dropbox_configured(settings):
        return "dropbox"
    if settings.backup_local_dir:
        return "local"
    raise ConfigError(
        "No backup target configured: set DROPBOX_APP_KEY, DROPBOX_APP_SECRET and "
        "DROPBOX_REFRESH_TOKEN, or BACKUP_LOCAL_DIR (or pass --target)."
    )


def make_target(settings: Settings, kind: str) -> Target:
    if kind == "dropbox":
        return DropboxTarget(settings)
    if kind == "local":
        if not settings.backup_local_dir:
            raise ConfigError("The local target needs BACKUP_LOCAL_DIR to be set.")
        return LocalTarget(settings.backup_local_dir)
    raise ConfigError(f"Unknown backup target {kind!r}; use one of {', '.join(TARGETS)}.")


def _size(n: int) -> str:
    value = float(n)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{value:.1f} {unit}" if unit != "B" else f"{n} B"
        value /= 1024
    return f"{n} B"  # pragma: no cover


def _describe(entry: RemoteEntry) -> str:
    when = entry.as_dict()["modified"] or "-"
    return f"{entry.name}  {_size(entry.size)}  {when}  {entry.content_hash or '-'}"


class SyncService:
    """Binds settings, the chosen target and the database override for one command."""

    def __init__(self, settings: Settings, *, target: str | None = None,
                 db_override: Path | None = None):
        self.settings = settings
        self.kind = target or default_target_kind(settings)
        if self.kind not in TARGETS:
            raise ConfigError(f"Unknown backup target {self.kind!r}; use dropbox or local.")
        self.db_override = db_override
        self._target: Target | None = None
        # DATABASE_URL (unless --db names a file): the backups are pg_dump archives.
        self.is_server = db_override is None and bool(settings.database_url)
        self.suffix = DUMP_SUFFIX if self.is_server else ".db"
        self.remote_db = normalize_file(settings.dropbox_db_path)
        if self.is_server:
            self.remote_db = with_suffix(self.remote_db, self.suffix)
        self.folder = normalize_folder(settings.dropbox_backup_folder)
        if not self.folder:
            raise ConfigError("DROPBOX_BACKUP_FOLDER must be a folder such as /backups.")

    @property
    def target(self) -> Target:
        if self._target is None:
            self._target = make_target(self.settings, self.kind)
        return self._target

    def live_db(self, *, must_exist: bool = True) -> Path:
        return resolve_database_path(self.settings, self.db_override, must_exist=must_exist)

    def live_target(self) -> Path | str:
        """The live database: the SQLite file, or the DATABASE_URL (a secret: never print it;
        :meth:`database` describes it)."""
        target = resolve_database_target(self.settings, self.db_override)
        if isinstance(target, str):
            Database(target)  # a URL that does not parse is one sentence here
        return target

    def database(self) -> Database:
        """The live server database (``is_server``); the caller disposes it."""
        target = self.live_target()
        assert isinstance(target, str)
        return Database(target)

    def ledger(self) -> LocalLedger:
        """The copy of the recorded content hashes under DATA_PATH, for this target."""
        return LocalLedger(self.side_dir(), self.target.key)

    def recorded_hash(self, entry: RemoteEntry, ignore_record: bool) -> str | None:
        manifest = Manifest(self.target, self.folder)
        return expected_hash(manifest, self.ledger(), entry.path, entry.name,
                             ignore_record=ignore_record)

    def recorded_facts(self, entry: RemoteEntry) -> dict[str, Any] | None:
        """The figures recorded with a PostgreSQL dump when it was made."""
        return recorded_facts(Manifest(self.target, self.folder), self.ledger(), entry.path)

    # -- listing ------------------------------------------------------------------------------
    def _folder_or_empty(self, folder: str) -> list[RemoteEntry]:
        try:
            return self.target.list_folder(folder)
        except NotFoundError:
            return []

    def nightly_backups(self) -> list[tuple[RemoteEntry, datetime]]:
        """Nightly backups, newest first by the time parsed from the name."""
        found = []
        for entry in self._folder_or_empty(self.folder):
            at = parse_nightly(entry.name)
            if at is not None and not entry.is_folder and entry.name.endswith(self.suffix):
                found.append((entry, at))
        return sorted(found, key=lambda item: item[1], reverse=True)

    def manual_backups(self) -> list[RemoteEntry]:
        return [e for e in self._folder_or_empty(manual_folder(self.folder))
                if not e.is_folder and e.name.endswith(self.suffix)]

    def resolve_source(self, name: str | None) -> RemoteEntry:
        """Pick a backup: None = newest nightly (else the current copy); or a name/path."""
        if name is None:
            nightlies = self.nightly_backups()
            if nightlies:
                return nightlies[0][0]
            candidates = [self.remote_db]
        elif name == "current":
            candidates = [self.remote_db]
        elif name.startswith("/"):
            candidates = [normalize_file(name)]
        elif parse_nightly(name) is not None:
            candidates = [join(self.folder, name)]
        else:
            plain = custom_name(name, self.suffix)
            candidates = [join(manual_folder(self.folder), plain), join(self.folder, plain)]
        for path in candidates:
            entry = self.target.metadata(path)
            if entry is not None and not entry.is_folder:
                return entry
        what = name or "backup"
        raise NotFoundError(f"No {what} found on the {self.kind} target ({candidates[0]}).")

    # -- verbs --------------------------------------------------------------------------------
    def test(self) -> Outcome:
        who = self.target.check()
        return Outcome({"target": self.kind, "connected": who}, [f"Connected to {who}."])

    def info(self) -> Outcome:
        entry = self.target.metadata(self.remote_db)
        if entry is None:
            raise NotFoundError(f"No database copy at {self.remote_db} on the {self.kind} target.")
        nightlies = self.nightly_backups()
        latest = nightlies[0][0].as_dict() if nightlies else None
        lines = [f"Database copy {entry.path} on {self.target.describe()}:",
                 f"  size:         {_size(entry.size)} ({entry.size} bytes)",
                 f"  modified:     {entry.as_dict()['modified']} (UTC)",
                 f"  content hash: {entry.content_hash}",
                 f"  latest nightly backup: {latest['name'] if latest else 'none'}"]
        return Outcome({"target": self.kind, "file": entry.as_dict(), "latest_backup": latest},
                       lines)

    def list_backups(self) -> Outcome:
        nightly = self.nightly_backups()
        manual = self.manual_backups()
        lines = [f"Nightly backups in {self.folder} (newest first, UTC):"]
        lines += [f"  {_describe(e)}" for e, _ in nightly] or ["  none"]
        lines += [f"Custom backups in {manual_folder(self.folder)} (never pruned):"]
        lines += [f"  {_describe(e)}" for e in manual] or ["  none"]
        data = {"target": self.kind,
                "nightly": [dict(e.as_dict(), at=at.strftime("%Y-%m-%dT%H:%M:%SZ"))
                            for e, at in nightly],
                "custom": [e.as_dict() for e in manual]}
        return Outcome(data, lines)

    def list(self, path: str | None) -> Outcome:
        folder = normalize_folder(path)
        entries = self.target.list_folder(folder)
        lines = [f"Contents of {folder or '/'} on {self.target.describe()}:"]
        for e in entries:
            lines.append(f"  {e.name}/" if e.is_folder else f"  {_describe(e)}")
        if not entries:
            lines.append("  (empty)")
        return Outcome({"target": self.kind, "path": folder or "/",
                        "entries": [e.as_dict() for e in entries]}, lines)

    def _previous_spots(self, manifest: Manifest, db: Path | str) -> int | None:
        if manifest.last_spot_count is not None:
            return manifest.last_spot_count
        record = read_state(db, LAST_BACKUP_KEY) or {}
        value = record.get("spot_count")
        return value if isinstance(value, int) else None

    def _send(self, snap: Snapshot, dest: str, *, overwrite: bool) -> RemoteEntry:
        """Upload with the integrity check running alongside; commit only if it passed."""
        check = snap.check or BackgroundCheck(snap.path)
        try:
            return self.target.upload(snap.path, dest, local_hash=snap.content_hash,
                                      overwrite=overwrite, before_commit=check.wait,
                                      blocks=snap.blocks)
        finally:
            try:
                check.wait()
            except BookedBizError:
                pass

    @contextmanager
    def _snapshot(self, db: Path | str, previous: int | None,
                  allow_shrink: bool) -> Iterator[Snapshot]:
        """A SQLite snapshot, or a PostgreSQL dump with its figures."""
        if isinstance(db, Path):
            with taken_snapshot(self.settings, db, previous, allow_shrink=allow_shrink) as snap:
                yield snap
            return
        server = Database(db)
        try:
            with taken_dump(self.settings, server, previous, allow_shrink=allow_shrink) as snap:
                yield snap
        finally:
            server.dispose()

    def upload(self, *, allow_shrink: bool = False) -> Outcome:
        started = time.monotonic()
        db = self.live_target()
        manifest = Manifest(self.target, self.folder)
        with self._snapshot(db, self._previous_spots(manifest, db), allow_shrink) as snap:
            remote = self.target.metadata(self.remote_db)
            if remote is not None and remote.content_hash == snap.content_hash:
                status, entry = "unchanged", remote
            else:
                status, entry = "uploaded", self._send(snap, self.remote_db, overwrite=True)
            manifest.record_upload(self.remote_db, snap.spot_count, snap.content_hash)
            record_copy(manifest, self.ledger(), self.remote_db, snap.content_hash, snap.size,
                        snap.facts)
            manifest.save()
        seconds = round(time.monotonic() - started, 3)
        line = (f"Remote copy {entry.path} is already up to date (content hash "
                f"{entry.content_hash}); nothing uploaded." if status == "unchanged" else
                f"Uploaded a verified snapshot to {entry.path}: {_size(entry.size)}, "
                f"{snap.spot_count} spots, content hash {entry.content_hash}.")
        return Outcome({"status": status, "target": self.kind, "file": entry.as_dict(),
                        "spot_count": snap.spot_count, "seconds": seconds}, [line])

    def backup(self, name: str | None = None, *, allow_shrink: bool = False) -> Outcome:
        db = self.live_target()
        try:
            outcome = self._backup(db, name, allow_shrink)
        except BookedBizError as exc:
            if name is None:
                write_state(db, ATTEMPT_KEY, {"at": utc_now(), "ok": False, "error": str(exc)})
            raise
        return outcome

    def _backup(self, db: Path | str, name: str | None, allow_shrink: bool) -> Outcome:
        now = datetime.now(UTC).replace(microsecond=0)
        if name is None:
            dest_name = nightly_name(now, self.suffix)
            for _ in range(10):  # a rerun within the same second takes the next free second
                if self.target.metadata(join(self.folder, dest_name)) is None:
                    break
                now += timedelta(seconds=1)
                dest_name = nightly_name(now, self.suffix)
            dest = join(self.folder, dest_name)
        else:
            dest_name = custom_name(name, self.suffix)
            dest = join(manual_folder(self.folder), dest_name)
        if self.target.metadata(dest) is not None:
            raise BookedBizError(f"A backup {dest} already exists; choose another name.")
        manifest = Manifest(self.target, self.folder)
        with self._snapshot(db, self._previous_spots(manifest, db), allow_shrink) as snap:
            current = self.target.metadata(self.remote_db)
            if current is not None and current.content_hash == snap.content_hash:
                method, entry = "server-side copy", self.target.copy(current.path, dest)
                if entry.content_hash != snap.content_hash:
                    raise VerificationError(f"The copy {dest} does not match the snapshot.")
            else:
                method, entry = "upload", self._send(snap, dest, overwrite=False)
            manifest.record_backup(dest_name, snap.spot_count, snap.content_hash, entry.size)
            manifest.record_upload(dest, snap.spot_count, snap.content_hash)
            record_copy(manifest, self.ledger(), dest, snap.content_hash, snap.size, snap.facts)
            manifest.save()
        record = {"at": now.strftime("%Y-%m-%dT%H:%M:%SZ"), "name": dest_name,
                  "target": self.kind, "spot_count": snap.spot_count,
                  "content_hash": snap.content_hash}
        lines = [f"Backup {entry.path} created by {method}: {_size(entry.size)}, "
                 f"{snap.spot_count} spots, content hash {entry.content_hash}."]
        if name is None:
            write_state(db, ATTEMPT_KEY, {"at": record["at"], "ok": True, "name": dest_name})
            if not write_state(db, LAST_BACKUP_KEY, record):
                lines.append("Warning: could not record the backup time in the database.")
        return Outcome({"status": "created", "method": method, "file": entry.as_dict(),
                        **{k: record[k] for k in ("name", "target", "spot_count")},
                        "custom": name is not None}, lines)

    def prune(self, *, dry_run: bool = False) -> Outcome:
        try:
            db: Path | str | None = self.live_target()
        except BookedBizError:
            db = None
        attempt = read_state(db, ATTEMPT_KEY) if db else None
        if attempt and attempt.get("ok") is False:
            raise VerificationError(
                "The last nightly backup failed; nothing is pruned until a backup succeeds."
            )
        nightly = self.nightly_backups()
        manifest = Manifest(self.target, self.folder)
        verified = [e for e, _ in nightly
                    if e.content_hash and manifest.verified_hash(e.name) == e.content_hash]
        if nightly and not verified:
            raise VerificationError(
                "No nightly backup is verified (content hash recorded at upload or by 'verify');"
                " nothing is pruned."
            )
        s = self.settings
        plan = plan_retention([(e.name, at) for e, at in nightly],
                              keep_daily=s.backup_keep_daily, keep_weekly=s.backup_keep_weekly,
                              keep_monthly=s.backup_keep_monthly,
                              protected=[verified[0].name] if verified else [])
        deleted = []
        ledger = self.ledger()
        for name in plan.delete:
            if not dry_run:
                path = join(self.folder, name)
                self.target.delete(path)
                manifest.forget(name, path)
                ledger.forget(path)
            deleted.append(name)
        if deleted and not dry_run:
            manifest.save()
        verb = "Would delete" if dry_run else "Deleted"
        lines = [f"Keeping {len(plan.keep)} nightly backups "
                 f"({s.backup_keep_daily} daily, {s.backup_keep_weekly} weekly, "
                 f"{s.backup_keep_monthly} monthly); custom backups are never pruned."]
        lines += [f"  {verb} {n}" for n in deleted] or ["  Nothing to delete."]
        return Outcome({"dry_run": dry_run, "keep": list(plan.keep), "deleted": deleted,
                        "reasons": {k: list(v) for k, v in plan.reasons.items()}}, lines)

    def side_dir(self) -> Path:
        if self.is_server:
            return self.settings.resolved_data_path()
        try:
            return data_dir(self.settings, self.live_db(must_exist=False))
        except BookedBizError:
            return Path.cwd()

    def _facts(self, verified: Any, recorded: str | None) -> list[str]:
        c = verified.check
        hash_note = ("matches the hash recorded when it was made" if recorded else
                     "matches the target; NOT checked against a record (--ignore-record)")
        return [f"  content hash: {verified.content_hash} ({hash_note})",
                "  integrity:    ok, all required tables present",
                f"  spots:        {c.spot_count}",
                f"  last import:  {c.last_import_at or 'never'}"]

    def download(self, name: str | None, to: Path | None, *,
                 ignore_record: bool = False) -> Outcome:
        if self.is_server:
            return server_verbs.download(self, name, to, ignore_record=ignore_record)
        entry = self.resolve_source(name)
        recorded = self.recorded_hash(entry, ignore_record)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        dest = to or self.side_dir() / f"restore-{stamp}.db"
        if dest.exists():
            raise BookedBizError(f"{dest} already exists; choose another --to path.")
        if not dest.parent.is_dir():
            raise NotFoundError(f"The folder {dest.parent} does not exist.")
        if dest.resolve() == self._live_or_none():
            raise ConfigError("download never writes over the live database; use 'restore'.")
        verified = download_verified(self.target, entry, dest, recorded)
        lines = [f"Downloaded {entry.path} to {dest} and verified it:"]
        lines += self._facts(verified, recorded)
        return Outcome({"source": entry.as_dict(), "path": str(dest),
                        **self._facts_data(verified, recorded)}, lines)

    def _live_or_none(self) -> Path | None:
        try:
            return self.live_db(must_exist=False).resolve()
        except BookedBizError:
            return None

    @staticmethod
    def _facts_data(verified: Any, recorded: str | None) -> dict[str, Any]:
        return {"content_hash": verified.content_hash, "integrity": "ok",
                "matches_record": recorded is not None,
                "spot_count": verified.check.spot_count,
                "last_import_at": verified.check.last_import_at}

    def verify(self, name: str | None, *, ignore_record: bool = False) -> Outcome:
        if self.is_server:
            return server_verbs.verify(self, name, ignore_record=ignore_record)
        entry = self.resolve_source(name)
        recorded = self.recorded_hash(entry, ignore_record)
        folder = self.side_dir()
        side = folder / f".bookedbiz-verify-{datetime.now(UTC):%Y%m%dT%H%M%S%f}.db"
        try:
            verified = download_verified(self.target, entry, side, recorded)
        finally:
            side.unlink(missing_ok=True)
        if recorded is not None and (parse_nightly(entry.name) is not None or
                                     entry.path.startswith(manual_folder(self.folder) + "/")):
            manifest = Manifest(self.target, self.folder)
            manifest.mark_verified(entry.name, recorded)  # the recorded hash itself never moves
            manifest.save()
        lines = [f"{entry.path} is a sound backup:"] + self._facts(verified, recorded)
        return Outcome({"source": entry.as_dict(), **self._facts_data(verified, recorded)},
                       lines)

    def logs(self) -> Outcome:
        """Upload the daily logs and monthly archives (see :mod:`bookedbiz.backup.log_backup`)."""
        from bookedbiz.backup.log_backup import upload_logs

        return upload_logs(self)

    def restore_logs(self, dest: Path, *, ignore_record: bool = False) -> Outcome:
        from bookedbiz.backup.log_backup import restore_logs

        return restore_logs(self, dest, ignore_record=ignore_record)

    def restore(self, name: str | None, *, yes: bool, ignore_record: bool = False) -> Outcome:
        if self.is_server:
            return server_verbs.restore(self, name, yes=yes, ignore_record=ignore_record)
        live = self.live_db(must_exist=False)
        entry = self.resolve_source(name)
        recorded = self.recorded_hash(entry, ignore_record)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        side = live.with_name(f"{live.name}.restore-{stamp}")
        verified = download_verified(self.target, entry, side, recorded)
        lines = [f"Downloaded {entry.path} and verified it:"] + self._facts(verified, recorded)
        data: dict[str, Any] = {"source": entry.as_dict(),
                                **self._facts_data(verified, recorded),
                                "live_database": str(live), "replaced": False,
                                "verified_copy": str(side)}
        if not yes:
            lines.append(f"Nothing replaced. The verified copy is {side}; run again with --yes "
                         f"to replace {live} (stop the web app, imports and Datasette first).")
            return Outcome(data, lines)
        try:
            with exclusive_job_lock(job_lock_path(self.settings)):
                ensure_not_in_use(live)
                moved = replace_database(live, side)
        except BookedBizError as exc:
            raise type(exc)(f"{exc} Nothing was replaced; the verified copy stays at {side}.",
                            exit_code=exc.exit_code) from None
        data.update(replaced=True, verified_copy=None, moved_aside=[str(p) for p in moved])
        lines.append(f"Restored {entry.path} into {live}.")
        lines += [f"  kept the old file as {p}" for p in moved]
        return Outcome(data, lines)

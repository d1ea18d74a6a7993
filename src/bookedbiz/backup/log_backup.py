"""The daily logs in the backup: ``sync logs`` uploads them, ``sync restore-logs`` brings them back.

After a disaster the database comes back from a nightly backup, but the booking history of the
days before it can only be rebuilt from the daily logs (``bookedbiz history backfill FOLDER``).
So the recent ``Commercial Log YYMMDD.xlsx`` files and the monthly ``Commercial Logs YYYY-MM.zip``
archives (:mod:`bookedbiz.jobs.log_archive`) go to ``<backups folder>/logs/`` on the target:
only new or changed files travel, each upload is verified by its content hash, and each file's
hash is recorded like a backup's (target manifest and DATA_PATH), so a restore refuses a copy
damaged or replaced at rest.
"""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import TYPE_CHECKING

from bookedbiz.backup.content_hash import file_hasher
from bookedbiz.backup.manifest import Manifest
from bookedbiz.backup.naming import join
from bookedbiz.backup.records import LocalLedger, expected_hash, record_copy
from bookedbiz.backup.restore import download_verified_file
from bookedbiz.backup.targets import RemoteEntry
from bookedbiz.errors import BookedBizError, NotFoundError
from bookedbiz.jobs.log_archive import ARCHIVE_FOLDER, ARCHIVE_RE, log_day, log_files

if TYPE_CHECKING:
    from bookedbiz.backup.service import Outcome, SyncService

LOGS_SUBFOLDER = "logs"


def logs_folder(service: SyncService) -> str:
    return join(service.folder, LOGS_SUBFOLDER)


def _remote_path(service: SyncService, local: Path) -> str:
    base = logs_folder(service)
    if local.parent.name == ARCHIVE_FOLDER:
        return join(join(base, ARCHIVE_FOLDER), local.name)
    return join(base, local.name)


def _listing(service: SyncService, folder: str) -> dict[str, RemoteEntry]:
    try:
        return {e.path.lower(): e for e in service.target.list_folder(folder)
                if not e.is_folder}
    except NotFoundError:
        return {}


def upload_logs(service: SyncService) -> Outcome:
    """Upload new and changed daily logs and monthly archives; record their hashes."""
    from bookedbiz.backup.service import Outcome

    data = service.settings.resolved_data_path()
    files = log_files(data)
    base = logs_folder(service)
    remote = {**_listing(service, base), **_listing(service, join(base, ARCHIVE_FOLDER))}
    manifest = Manifest(service.target, service.folder)
    ledger = service.ledger()
    uploaded, unchanged = [], []
    for local in files:
        path = _remote_path(service, local)
        hasher = file_hasher(local)
        digest = hasher.hexdigest()
        entry = remote.get(path.lower())
        if entry is not None and entry.content_hash is None:
            entry = service.target.metadata(path)  # the local target hashes only on request
        if entry is not None and entry.content_hash == digest:
            unchanged.append(path)
        else:
            service.target.upload(local, path, local_hash=digest, overwrite=True,
                                  blocks=hasher.blocks)
            uploaded.append(path)
        record_copy(manifest, ledger, path, digest, local.stat().st_size)
    removed = _drop_archived_singles(service, files, remote, manifest, ledger)
    manifest.save()
    lines = [f"Daily logs on the {service.kind} target ({base}): {len(uploaded)} uploaded, "
             f"{len(unchanged)} unchanged, {len(removed)} now inside a monthly archive."]
    lines += [f"  uploaded {p}" for p in uploaded]
    if not files:
        lines = [f"No daily logs under {data / 'raw' / 'daily'}; nothing to upload."]
    return Outcome({"target": service.kind, "folder": base, "uploaded": uploaded,
                    "unchanged": unchanged, "removed": removed}, lines)


def _drop_archived_singles(service: SyncService, files: list[Path],
                           remote: dict[str, RemoteEntry], manifest: Manifest,
                           ledger: LocalLedger) -> list[str]:
    """Remove remote single logs that the (just uploaded) monthly archives now hold."""
    local_singles = {p.name for p in files if p.parent.name != ARCHIVE_FOLDER}
    zipped: set[str] = set()
    for path in files:
        if path.parent.name == ARCHIVE_FOLDER:
            with zipfile.ZipFile(path) as archive:
                zipped.update(archive.namelist())
    removed = []
    base = logs_folder(service)
    for entry in remote.values():
        folder = entry.path.rsplit("/", 1)[0]
        if (folder.lower() == base.lower() and log_day(entry.name)
                and entry.name not in local_singles and entry.name in zipped):
            service.target.delete(entry.path)
            manifest.forget(entry.name, entry.path)
            ledger.forget(entry.path)
            removed.append(entry.path)
    return sorted(removed)


def restore_logs(service: SyncService, dest: Path, *, ignore_record: bool = False) -> Outcome:
    """Download every backed-up log (verified against its record) into ``dest``, unzipping
    the monthly archives, ready for ``bookedbiz history backfill DEST``."""
    from bookedbiz.backup.service import Outcome

    if not dest.is_dir():
        raise NotFoundError(f"The folder {dest} does not exist; create it first.")
    base = logs_folder(service)
    entries = [*_listing(service, base).values(),
               *_listing(service, join(base, ARCHIVE_FOLDER)).values()]
    entries = [e for e in entries if log_day(e.name) or ARCHIVE_RE.match(e.name)]
    if not entries:
        raise NotFoundError(f"No daily logs are backed up in {base} on the {service.kind} "
                            "target.")
    manifest = Manifest(service.target, service.folder)
    ledger = service.ledger()
    written: list[str] = []
    for entry in sorted(entries, key=lambda e: e.name):
        recorded = expected_hash(manifest, ledger, entry.path, entry.name,
                                 ignore_record=ignore_record)
        side = dest / f".{entry.name}.download"
        try:
            download_verified_file(service.target, entry, side, recorded)
            if ARCHIVE_RE.match(entry.name):
                written += _unzip_logs(side, dest)
            else:
                _place(side, dest / entry.name)
                written.append(entry.name)
        finally:
            side.unlink(missing_ok=True)
    lines = [f"Restored {len(set(written))} daily log(s) into {dest}, each checked against the "
             "content hash recorded when it was backed up.",
             f"Rebuild the booking history with: bookedbiz history backfill '{dest}'"]
    return Outcome({"target": service.kind, "folder": str(dest),
                    "logs": sorted(set(written))}, lines)


def _place(src: Path, dest: Path) -> None:
    if dest.exists() and dest.read_bytes() != src.read_bytes():
        raise BookedBizError(f"{dest} already exists with other content; restore into an "
                             "empty folder.")
    src.replace(dest)


def _unzip_logs(archive: Path, dest: Path) -> list[str]:
    names = []
    with zipfile.ZipFile(archive) as zipped:
        for info in zipped.infolist():
            name = Path(info.filename).name
            if name != info.filename or not log_day(name):
                continue  # only plain 'Commercial Log YYMMDD.xlsx' members, never a path
            part = dest / f".{name}.part"
            part.write_bytes(zipped.read(info))
            try:
                _place(part, dest / name)
            finally:
                part.unlink(missing_ok=True)
            names.append(name)
    return names

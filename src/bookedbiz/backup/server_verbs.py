"""``sync download``, ``verify`` and ``restore`` when DATABASE_URL names a PostgreSQL server.

The same verbs, targets, names and records as for SQLite (:mod:`bookedbiz.backup.service`);
what differs is how a copy is proven sound: a dump is restored into a scratch database and its
figures compared with those recorded when it was made (:mod:`bookedbiz.backup.pg_backup`).
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bookedbiz.backup.facts import Facts, summary
from bookedbiz.backup.manifest import Manifest
from bookedbiz.backup.naming import manual_folder, parse_nightly
from bookedbiz.backup.pg_backup import (
    DUMP_SUFFIX,
    download_verified_dump,
    drop_scratch,
    replace_live,
    restore_to_scratch,
)
from bookedbiz.backup.targets import RemoteEntry
from bookedbiz.errors import BookedBizError, NotFoundError, VerificationError
from bookedbiz.jobs.lock import job_lock_path

if TYPE_CHECKING:
    from bookedbiz.backup.service import Outcome, SyncService


def _stamp() -> str:
    """UTC time plus a random tag: two runs in one second never share a scratch database,
    a side file or an aside name."""
    return f"{datetime.now(UTC):%Y%m%dT%H%M%SZ}_{secrets.token_hex(2)}"


def _figures(service: SyncService, entry: RemoteEntry, ignore_record: bool) -> Facts | None:
    """The figures recorded with the dump; a dump without them cannot be checked."""
    if ignore_record:
        return None
    facts = service.recorded_facts(entry)
    if facts is None:
        raise VerificationError(
            f"No figures (row counts and totals) were recorded for {entry.path} when it was "
            "made, so its restored copy cannot be checked; pass --ignore-record to check only "
            "that it restores.")
    return facts


def _lines(digest: str, recorded: str | None, facts: Facts, checked: bool) -> list[str]:
    hash_note = ("matches the hash recorded when it was made" if recorded else
                 "matches the target; NOT checked against a record (--ignore-record)")
    restored = ("restores; schema revision, row counts and money totals equal the record"
                if checked else "restores; NOT compared with recorded figures (--ignore-record)")
    return [f"  content hash: {digest} ({hash_note})",
            f"  dump:         {restored} ({summary(facts)})",
            f"  spots:        {facts['row_counts'].get('spots', 0)}",
            f"  last import:  {facts.get('last_import_at') or 'never'}"]


def _data(entry: RemoteEntry, digest: str, recorded: str | None, facts: Facts,
          checked: bool) -> dict[str, Any]:
    return {"source": entry.as_dict(), "content_hash": digest, "integrity": "ok",
            "matches_record": recorded is not None, "figures_match_record": checked,
            "schema_version": facts.get("schema_version"),
            "spot_count": facts["row_counts"].get("spots", 0),
            "last_import_at": facts.get("last_import_at"),
            "row_counts": facts["row_counts"], "money_totals": facts["money_totals"]}


def download(service: SyncService, name: str | None, to: Path | None, *,
             ignore_record: bool = False) -> Outcome:
    """Download a dump to a separate file, checked against its recorded hash and read back
    whole; the server is not touched (``verify`` restores it)."""
    from bookedbiz.backup.service import Outcome

    entry = service.resolve_source(name)
    recorded = service.recorded_hash(entry, ignore_record)
    figures = None if ignore_record else service.recorded_facts(entry)
    dest = to or service.side_dir() / f"restore-{_stamp()}{DUMP_SUFFIX}"
    if dest.exists():
        raise BookedBizError(f"{dest} already exists; choose another --to path.")
    if not dest.parent.is_dir():
        raise NotFoundError(f"The folder {dest.parent} does not exist.")
    digest = download_verified_dump(service.target, entry, dest, recorded)
    hash_note = ("matches the hash recorded when it was made" if recorded else
                 "matches the target; NOT checked against a record (--ignore-record)")
    lines = [f"Downloaded {entry.path} to {dest} and verified it:",
             f"  content hash: {digest} ({hash_note})",
             "  dump:         every block reads back (pg_restore)"]
    if figures:
        lines.append(f"  recorded:     {summary(figures)}, "
                     f"{figures['row_counts'].get('spots', 0)} spots")
    lines.append(f"  restore it with: pg_restore --no-owner --dbname=NEW_DATABASE {dest}")
    return Outcome({"source": entry.as_dict(), "path": str(dest), "content_hash": digest,
                    "integrity": "ok", "matches_record": recorded is not None,
                    "recorded_figures": figures}, lines)


def verify(service: SyncService, name: str | None, *, ignore_record: bool = False) -> Outcome:
    """Download the dump, restore it into a scratch database, compare its figures with the
    record, drop the scratch database; mark the backup verified (the record never moves)."""
    from bookedbiz.backup.service import Outcome

    entry = service.resolve_source(name)
    recorded = service.recorded_hash(entry, ignore_record)
    figures = _figures(service, entry, ignore_record)
    stamp = _stamp()
    side = service.side_dir() / f".bookedbiz-verify-{stamp}{DUMP_SUFFIX}"
    db = service.database()
    try:
        digest = download_verified_dump(service.target, entry, side, recorded)
        copy = restore_to_scratch(db, side, figures, purpose="verify", stamp=stamp,
                                  what=f"The restored copy of {entry.path}")
        drop_scratch(db, copy.database)
    finally:
        side.unlink(missing_ok=True)
        db.dispose()
    if recorded is not None and (parse_nightly(entry.name) is not None or
                                 entry.path.startswith(manual_folder(service.folder) + "/")):
        manifest = Manifest(service.target, service.folder)
        manifest.mark_verified(entry.name, recorded)
        manifest.save()
    lines = [f"{entry.path} is a sound backup (restored into a scratch database, then dropped):"]
    lines += _lines(digest, recorded, copy.facts, figures is not None)
    return Outcome(_data(entry, digest, recorded, copy.facts, figures is not None), lines)


def restore(service: SyncService, name: str | None, *, yes: bool,
            ignore_record: bool = False) -> Outcome:
    """Verify the dump by restoring it into ``<db>_restore_<time>``; with ``yes``, swap that
    copy in for the live database in one step (old one kept as ``<db>_replaced_<time>``)."""
    from bookedbiz.backup.service import Outcome

    entry = service.resolve_source(name)
    recorded = service.recorded_hash(entry, ignore_record)
    figures = _figures(service, entry, ignore_record)
    db = service.database()
    live = db.describe()
    assert db.url is not None
    stamp = _stamp()
    side = service.side_dir() / f"{db.url.database}.restore-{stamp}{DUMP_SUFFIX}"
    try:
        digest = download_verified_dump(service.target, entry, side, recorded)
        copy = restore_to_scratch(db, side, figures, purpose="restore", stamp=stamp,
                                  what=f"The restored copy of {entry.path}")
    except BaseException:
        db.dispose()
        raise
    lines = [f"Downloaded {entry.path}, restored it into a new database and verified it:"]
    lines += _lines(digest, recorded, copy.facts, figures is not None)
    data: dict[str, Any] = {**_data(entry, digest, recorded, copy.facts, figures is not None),
                            "live_database": live, "replaced": False,
                            "verified_copy": str(side)}
    if not yes:
        drop_scratch(db, copy.database)
        db.dispose()
        lines.append(f"Nothing replaced. The verified dump is {side}; run again with --yes to "
                     f"replace the {live} (stop the web app, imports and Datasette first).")
        return Outcome(data, lines)
    try:
        aside = replace_live(db, copy, job_lock_path(service.settings), stamp)
    except BookedBizError as exc:
        drop_scratch(db, copy.database)
        raise type(exc)(f"{exc} Nothing was replaced; the verified dump stays at {side}.",
                        exit_code=exc.exit_code) from None
    finally:
        db.dispose()
    side.unlink(missing_ok=True)
    data.update(replaced=True, verified_copy=None, moved_aside=[aside] if aside else [])
    lines.append(f"Restored {entry.path} into the {live}; its totals equal the record.")
    if aside:
        lines.append(f"  kept the old database as {aside} (drop it once you are satisfied: "
                     f"DROP DATABASE \"{aside}\")")
    return Outcome(data, lines)

"""Backup names: nightly copies carry a parsed UTC timestamp; custom copies live apart.

The system we replace picked "latest" as the lexicographic maximum of file names, so a custom
``pre_migration_backup.db`` beat every nightly copy. Here a nightly name is parsed into a time,
custom names go to a ``manual/`` sub-folder and are never "latest" nor pruned automatically.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

from bookedbiz.errors import ConfigError

NIGHTLY_PREFIX = "bookedbiz-"
NIGHTLY_FORMAT = "%Y%m%dT%H%M%SZ"
# .db: a SQLite snapshot; .pgdump: a PostgreSQL dump (pg_dump --format=custom).
NIGHTLY_RE = re.compile(r"^bookedbiz-(\d{8}T\d{6}Z)\.(?:db|pgdump)$")
SUFFIXES = (".db", ".pgdump")
CUSTOM_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
MANUAL_SUBFOLDER = "manual"


def nightly_name(at: datetime, suffix: str = ".db") -> str:
    """``bookedbiz-20261123T020500Z.db`` (``.pgdump`` on PostgreSQL) for a UTC moment."""
    return f"{NIGHTLY_PREFIX}{at.astimezone(UTC).strftime(NIGHTLY_FORMAT)}{suffix}"


def parse_nightly(name: str) -> datetime | None:
    """The UTC time of a nightly name, or None for any other name."""
    match = NIGHTLY_RE.match(name)
    if not match:
        return None
    try:
        return datetime.strptime(match.group(1), NIGHTLY_FORMAT).replace(tzinfo=UTC)
    except ValueError:
        return None


def custom_name(raw: str, suffix: str = ".db") -> str:
    """Validate a ``backup NAME`` argument: one plain file name, stored as ``*.db`` (a
    PostgreSQL dump as ``*.pgdump``)."""
    name = raw.strip()
    if not CUSTOM_RE.match(name) or ".." in name:
        raise ConfigError(
            f"The backup name {raw!r} is not allowed: use letters, digits, '.', '_' or '-' "
            "(no folders), at most 100 characters."
        )
    if not name.endswith(suffix):
        name += suffix
    if parse_nightly(name) is not None:
        raise ConfigError(
            f"The backup name {raw!r} looks like a nightly backup name; choose another name."
        )
    return name


def normalize_folder(path: str | None) -> str:
    """Remote folder path: '' for the root, else '/a/b' ('backups' and '/backups/' accepted)."""
    text = (path or "").strip().strip("/")
    if not text:
        return ""
    parts = [p for p in text.split("/") if p]
    if any(p in (".", "..") for p in parts):
        raise ConfigError(f"The remote path {path!r} may not contain '.' or '..'.")
    return "/" + "/".join(parts)


def normalize_file(path: str) -> str:
    """Remote file path: always '/...' with no trailing slash."""
    folder = normalize_folder(path)
    if not folder:
        raise ConfigError("A remote file path is required, e.g. /database.db.")
    return folder


def with_suffix(path: str, suffix: str) -> str:
    """``path`` ending in ``suffix``: '/database.db' is '/database.pgdump' on PostgreSQL."""
    for known in SUFFIXES:
        if path.endswith(known):
            path = path[: -len(known)]
            break
    return path + suffix


def join(folder: str, name: str) -> str:
    return f"{normalize_folder(folder)}/{name}"


def manual_folder(backup_folder: str) -> str:
    return join(backup_folder, MANUAL_SUBFOLDER)

"""Where backups go: a small Target interface, and a local-directory implementation.

A Target stores files under slash-separated paths ('/database.db', '/backups/x.db'). Every
write is atomic from a reader's point of view: the path changes only once all bytes arrived, so
an interrupted upload never replaces the previous copy. The Dropbox implementation lives in
:mod:`bookedbiz.backup.dropbox_target`.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from bookedbiz.backup.content_hash import DropboxContentHasher, file_content_hash
from bookedbiz.backup.naming import normalize_file, normalize_folder
from bookedbiz.errors import BookedBizError, ConfigError, NotFoundError, VerificationError
from bookedbiz.files import fsync_dir

HASH_CACHE = ".bookedbiz-hashes.json"


@dataclass(frozen=True)
class RemoteEntry:
    """One file or folder on a target, with the facts listings show."""

    path: str
    name: str
    is_folder: bool = False
    size: int = 0
    modified: datetime | None = None
    content_hash: str | None = None
    rev: str | None = None

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["modified"] = _iso(self.modified)
        return data


def _iso(value: datetime | None) -> str | None:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if value else None


class Target(Protocol):
    """What the backup verbs need from a storage place."""

    kind: str
    key: str  # names the place in the local record of content hashes

    def describe(self) -> str: ...

    def check(self) -> str:
        """Connect and return who/where we are connected to (no e-mail, no secrets)."""

    def metadata(self, path: str) -> RemoteEntry | None:
        """The entry at ``path`` or None when it does not exist; other failures raise."""

    def list_folder(self, folder: str) -> list[RemoteEntry]:
        """Every entry directly in ``folder`` (all pages); NotFoundError if it is absent."""

    def upload(self, local: Path, path: str, *, local_hash: str, overwrite: bool,
               before_commit: Callable[[], object] | None = None,
               blocks: list[bytes] | None = None) -> RemoteEntry:
        """Store ``local`` at ``path``; verify the stored content hash equals ``local_hash``.

        ``before_commit`` runs after the bytes are transferred and before ``path`` changes; if
        it raises, ``path`` keeps its previous content.
        """

    def download(self, path: str, dest: Path) -> RemoteEntry: ...

    def copy(self, src: str, dst: str) -> RemoteEntry: ...

    def delete(self, path: str) -> None: ...

    def read_bytes(self, path: str) -> bytes | None: ...

    def write_bytes(self, path: str, data: bytes) -> None: ...


class LocalTarget:
    """A directory (BACKUP_LOCAL_DIR, e.g. a NAS mount) laid out like the Dropbox app folder."""

    kind = "local"

    def __init__(self, root: Path):
        self.root = Path(root).expanduser()
        self.key = f"local:{os.path.abspath(self.root)}"

    def describe(self) -> str:
        return f"local folder {self.root}"

    def _require_root(self) -> None:
        """The folder must already exist: a missing one is usually an unmounted NAS, and
        creating it would silently fill the SD card instead."""
        if not self.root.is_dir():
            raise ConfigError(
                f"The backup folder {self.root} (BACKUP_LOCAL_DIR) does not exist; mount or "
                "create it first (it is never created automatically)."
            )

    def _local(self, path: str) -> Path:
        self._require_root()
        rel = normalize_folder(path).lstrip("/")
        return self.root / rel if rel else self.root

    def check(self) -> str:
        self._require_root()
        if not os.access(self.root, os.W_OK):
            raise BookedBizError(f"The backup folder {self.root} is not writable for this user.")
        return f"local folder {self.root} (writable)"

    # -- hash cache: hashing big files on every listing would be slow -------------------------
    def _cache(self) -> dict[str, Any]:
        try:
            return json.loads((self.root / HASH_CACHE).read_text())
        except (OSError, ValueError):
            return {}

    def _remember(self, rel: str, stat: os.stat_result, digest: str | None) -> None:
        cache = self._cache()
        if digest is None:
            cache.pop(rel, None)
        else:
            cache[rel] = [stat.st_size, stat.st_mtime_ns, digest]
        tmp = self.root / f"{HASH_CACHE}.{os.getpid()}"
        tmp.write_text(json.dumps(cache))
        tmp.replace(self.root / HASH_CACHE)

    def _hash(self, rel: str, file: Path, stat: os.stat_result) -> str:
        cached = self._cache().get(rel)
        if cached and cached[0] == stat.st_size and cached[1] == stat.st_mtime_ns:
            return str(cached[2])
        digest = file_content_hash(file)
        self._remember(rel, stat, digest)
        return digest

    def _entry(self, path: str, file: Path, *, with_hash: bool) -> RemoteEntry:
        stat = file.stat()
        if file.is_dir():
            return RemoteEntry(path, file.name, is_folder=True)
        digest = self._hash(path, file, stat) if with_hash else None
        modified = datetime.fromtimestamp(stat.st_mtime, UTC).replace(microsecond=0)
        return RemoteEntry(path, file.name, False, stat.st_size, modified, digest)

    def metadata(self, path: str) -> RemoteEntry | None:
        path = normalize_file(path)
        file = self._local(path)
        if not file.exists():
            return None
        return self._entry(path, file, with_hash=True)

    def list_folder(self, folder: str) -> list[RemoteEntry]:
        folder = normalize_folder(folder)
        local = self._local(folder)
        if not local.is_dir():
            raise NotFoundError(f"The folder {folder or '/'} does not exist on {self.describe()}.")
        entries = []
        for child in sorted(local.iterdir()):
            if child.name.startswith("."):
                continue
            path = f"{folder}/{child.name}"
            entries.append(self._entry(path, child,
                                       with_hash=child.suffix in (".db", ".pgdump")))
        return entries

    def upload(self, local: Path, path: str, *, local_hash: str, overwrite: bool,
               before_commit: Callable[[], object] | None = None,
               blocks: list[bytes] | None = None) -> RemoteEntry:
        path = normalize_file(path)
        dest = self._local(path)
        dest.parent.mkdir(parents=True, exist_ok=True)
        if not overwrite and dest.exists():
            raise BookedBizError(f"A backup named {path} already exists on {self.describe()}.")
        tmp = dest.with_name(f".{dest.name}.partial-{os.getpid()}")
        hasher = DropboxContentHasher()
        try:
            with open(local, "rb") as src, open(tmp, "wb") as out:
                while chunk := src.read(16 * 1024 * 1024):
                    hasher.update(chunk)
                    out.write(chunk)
                out.flush()
                os.fsync(out.fileno())
            if hasher.hexdigest() != local_hash:
                raise VerificationError(
                    f"The copy written to {path} does not match the snapshot's content hash."
                )
            if before_commit is not None:
                before_commit()
            if overwrite:
                tmp.replace(dest)
            else:
                os.link(tmp, dest)  # fails if a file appeared meanwhile: never clobber
                tmp.unlink()
        except FileExistsError:
            raise BookedBizError(f"A backup named {path} already exists.") from None
        finally:
            tmp.unlink(missing_ok=True)
        fsync_dir(dest.parent)
        self._remember(path, dest.stat(), local_hash)
        return self._entry(path, dest, with_hash=True)

    def download(self, path: str, dest: Path) -> RemoteEntry:
        entry = self.metadata(path)
        if entry is None or entry.is_folder:
            raise NotFoundError(f"No file {path} on {self.describe()}.")
        shutil.copyfile(self._local(entry.path), dest)
        return entry

    def copy(self, src: str, dst: str) -> RemoteEntry:
        entry = self.metadata(src)
        if entry is None:
            raise NotFoundError(f"No file {src} on {self.describe()}.")
        assert entry.content_hash is not None
        return self.upload(self._local(entry.path), dst, local_hash=entry.content_hash,
                           overwrite=False)

    def delete(self, path: str) -> None:
        path = normalize_file(path)
        file = self._local(path)
        if not file.is_file():
            raise NotFoundError(f"No file {path} on {self.describe()}.")
        file.unlink()
        self._remember(path, os.stat(self.root), None)

    def read_bytes(self, path: str) -> bytes | None:
        file = self._local(normalize_file(path))
        return file.read_bytes() if file.is_file() else None

    def write_bytes(self, path: str, data: bytes) -> None:
        dest = self._local(normalize_file(path))
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = dest.with_name(f".{dest.name}.partial-{os.getpid()}")
        tmp.write_bytes(data)
        tmp.replace(dest)

"""The content hash of every copy, recorded when it was made, and the check against it.

A copy damaged at rest (a flipped sector on the NAS, a file replaced in the Dropbox folder) still
opens, passes ``PRAGMA integrity_check`` (which does not look at values) and has a content hash
the target happily reports: the target's hash only proves the transfer. The expectation must
therefore come from the moment the copy was made, never from the file itself. It is kept twice:
in the target's ``manifest.json`` (so a new box can restore after a disaster) and in
``<DATA_PATH>/backup-hashes.json`` (so a replaced file *and* manifest on the target are caught).
When both exist they must agree.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any

from bookedbiz.backup.manifest import Manifest
from bookedbiz.db.connection import utc_now
from bookedbiz.errors import BookedBizError, VerificationError

log = logging.getLogger(__name__)
LEDGER_NAME = "backup-hashes.json"


class LocalLedger:
    """``<data dir>/backup-hashes.json``: {target key: {remote path: {content_hash, size, at}}}."""

    def __init__(self, folder: Path, target_key: str):
        self.path = Path(folder) / LEDGER_NAME
        self.target_key = target_key

    def _load(self) -> dict[str, Any]:
        try:
            data = json.loads(self.path.read_text())
        except FileNotFoundError:
            return {"version": 1, "targets": {}}
        except (OSError, ValueError) as exc:
            raise VerificationError(
                f"The local backup record {self.path} cannot be read ({type(exc).__name__}); "
                "fix or move it before trusting any backup."
            ) from None
        if not isinstance(data, dict) or not isinstance(data.get("targets"), dict):
            raise VerificationError(f"The local backup record {self.path} is not valid.")
        return data

    def get(self, remote_path: str) -> str | None:
        entry = (self._load()["targets"].get(self.target_key) or {}).get(remote_path) or {}
        value = entry.get("content_hash")
        return value if isinstance(value, str) else None

    def record(self, remote_path: str, content_hash: str, size: int,
               facts: dict[str, Any] | None = None) -> None:
        entry: dict[str, Any] = {"content_hash": content_hash, "size": size,
                                 "recorded_at": utc_now()}
        if facts is not None:
            entry["facts"] = facts
        self._update(lambda files: files.__setitem__(remote_path, entry))

    def facts(self, remote_path: str) -> dict[str, Any] | None:
        """The figures recorded with a PostgreSQL dump (:mod:`bookedbiz.backup.facts`)."""
        entry = (self._load()["targets"].get(self.target_key) or {}).get(remote_path) or {}
        value = entry.get("facts")
        return value if isinstance(value, dict) else None

    def forget(self, remote_path: str) -> None:
        self._update(lambda files: files.pop(remote_path, None))

    def _update(self, change: Any) -> None:
        data = self._load()
        change(data["targets"].setdefault(self.target_key, {}))
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}")
        try:
            with open(tmp, "w") as handle:
                json.dump(data, handle, indent=1, sort_keys=True)
                handle.flush()
                os.fsync(handle.fileno())
            tmp.replace(self.path)
        except OSError as exc:
            tmp.unlink(missing_ok=True)
            raise BookedBizError(
                f"Could not record the backup's content hash in {self.path} ({exc.strerror})."
            ) from None


def record_copy(manifest: Manifest, ledger: LocalLedger, path: str, content_hash: str,
                size: int, facts: dict[str, Any] | None = None) -> None:
    """Record a freshly made copy in both places (the caller saves the manifest); a
    PostgreSQL dump also records its figures (``facts``)."""
    ledger.record(path, content_hash, size, facts)
    manifest.record_file(path, content_hash, size, facts)


def recorded_facts(manifest: Manifest, ledger: LocalLedger, path: str) -> dict[str, Any] | None:
    """The figures recorded when the dump at ``path`` was made: the local record first (its
    hash is checked first too), else the target's manifest."""
    return ledger.facts(path) or manifest.recorded_facts(path)


def expected_hash(manifest: Manifest, ledger: LocalLedger, path: str, name: str,
                  *, ignore_record: bool = False) -> str | None:
    """The hash ``path`` had when it was made; refuses when unknown or contradictory.

    None only with ``ignore_record`` (copies made by another tool, read at the operator's word).
    """
    if ignore_record:
        return None
    local = ledger.get(path)
    remote = manifest.recorded_hash(path, name)
    if local and remote and local != remote:
        raise VerificationError(
            f"The content hash recorded for {path} on the target ({remote[:16]}…) differs from "
            f"the local record ({local[:16]}…); the backup or its manifest was replaced, so it "
            "is refused."
        )
    found = local or remote
    if found is None:
        raise VerificationError(
            f"No content hash was recorded for {path} when it was made, so it cannot be "
            "trusted; pass --ignore-record to check only its integrity."
        )
    return found


def check_recorded(path: str, actual: str, expected: str | None) -> None:
    """Refuse a copy whose bytes are not the bytes recorded when it was made."""
    if expected is not None and actual != expected:
        raise VerificationError(
            f"{path} has content hash {actual[:16]}… but {expected[:16]}… was recorded when it "
            "was made; the copy was damaged or replaced at rest and is refused."
        )

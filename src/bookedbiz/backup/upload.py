"""Upload a file to Dropbox: one request when small, an upload session when large.

Sessions send fixed-size chunks (a multiple of 4 MiB), retry each chunk with back-off, and
resynchronise to the server's ``correct_offset`` when a response was lost. The target path is
only written by the final commit, so an interrupted upload leaves the previous file untouched.
"""

from __future__ import annotations

import logging
import os
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import requests

from bookedbiz.backup.content_hash import range_content_hash
from bookedbiz.errors import BookedBizError

log = logging.getLogger(__name__)
T = TypeVar("T")
MIB = 1024 * 1024
MAX_REQUEST_BYTES = 148 * MIB  # Dropbox refuses request bodies above 150 MiB


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 5
    base_seconds: float = 2.0
    max_seconds: float = 60.0

    def delay(self, attempt: int) -> float:
        """Exponential back-off with jitter: base * 2**attempt * [0.5, 1)."""
        raw = min(self.max_seconds, self.base_seconds * (2**attempt))
        return raw * (0.5 + random.random() / 2)


def is_certificate_error(exc: BaseException) -> bool:
    """A TLS verification failure (as opposed to a connection cut during TLS)."""
    return isinstance(exc, requests.exceptions.SSLError) and "certificate" in str(exc).lower()


def is_transient(exc: BaseException) -> bool:
    """Network trouble and 5xx answers are worth retrying; API errors are not."""
    from dropbox import exceptions as dbx_exc

    if is_certificate_error(exc):
        return False  # a certificate problem does not heal by retrying
    if isinstance(exc, requests.exceptions.RequestException):
        return True
    return isinstance(exc, dbx_exc.InternalServerError)


def with_retry(call: Callable[[], T], policy: RetryPolicy, what: str) -> T:
    """Run ``call``; retry transient failures ``policy.attempts`` times with back-off."""
    attempt = 0
    while True:
        try:
            return call()
        except Exception as exc:
            if not is_transient(exc) or attempt >= policy.attempts:
                raise
            wait = policy.delay(attempt)
            log.warning("%s failed (%s); retry %d in %.1fs", what, type(exc).__name__,
                        attempt + 1, wait)
            time.sleep(wait)
            attempt += 1


def _offset_error(exc: BaseException) -> int | None:
    """The server's correct offset when ``exc`` is an incorrect_offset API error."""
    from dropbox.exceptions import ApiError

    if not isinstance(exc, ApiError):
        return None
    err = exc.error
    if hasattr(err, "is_lookup_failed") and err.is_lookup_failed():
        err = err.get_lookup_failed()
    if hasattr(err, "is_incorrect_offset") and err.is_incorrect_offset():
        return int(err.get_incorrect_offset().correct_offset)
    return None


def _chunk_hash(blocks: list[bytes] | None, offset: int, length: int, size: int) -> str | None:
    """A request's content hash from the file's block digests (None: let the SDK hash it)."""
    if blocks is None or (length % (4 * MIB) and offset + length != size):
        return None
    return range_content_hash(blocks, offset, length)


def _read(fd: int, offset: int, length: int) -> bytes:
    data = os.pread(fd, length, offset)
    if len(data) != length:
        raise BookedBizError("The snapshot file changed size while it was being uploaded.")
    return data


def upload_file(
    client: Any,
    local: Path,
    remote_path: str,
    *,
    chunk_bytes: int,
    policy: RetryPolicy,
    overwrite: bool = True,
    before_commit: Callable[[], object] | None = None,
    progress: Callable[[int, int], None] | None = None,
    blocks: list[bytes] | None = None,
) -> Any:
    """Upload ``local`` to ``remote_path`` and return the committed FileMetadata.

    ``before_commit`` runs before the commit; raising there abandons the session (used to
    finish verification concurrently with the transfer). ``blocks`` are the file's 4 MiB block
    digests: each request then carries its content hash without hashing the bytes again.
    """
    from dropbox import files

    if chunk_bytes % (4 * MIB) or not 0 < chunk_bytes <= MAX_REQUEST_BYTES:
        raise BookedBizError("The upload chunk size must be a multiple of 4 MiB up to 148 MiB.")
    mode = files.WriteMode.overwrite if overwrite else files.WriteMode.add
    size = local.stat().st_size
    fd = os.open(local, os.O_RDONLY)
    try:
        if size <= chunk_bytes:
            data = _read(fd, 0, size)
            if before_commit:
                before_commit()
            digest = _chunk_hash(blocks, 0, size, size)
            return with_retry(
                lambda: client.files_upload(data, remote_path, mode=mode, mute=True,
                                            content_hash=digest),
                policy, "upload",
            )
        return _session_upload(client, fd, size, remote_path, mode, chunk_bytes, policy,
                               before_commit, progress, blocks)
    finally:
        os.close(fd)


def _session_upload(
    client: Any, fd: int, size: int, remote_path: str, mode: Any, chunk_bytes: int,
    policy: RetryPolicy, before_commit: Callable[[], object] | None,
    progress: Callable[[int, int], None] | None, blocks: list[bytes] | None,
) -> Any:
    from dropbox import files

    first = _read(fd, 0, chunk_bytes)
    first_hash = _chunk_hash(blocks, 0, chunk_bytes, size)
    start = with_retry(lambda: client.files_upload_session_start(first, content_hash=first_hash),
                       policy, "session start")
    session_id = start.session_id
    offset = len(first)
    failures = 0
    resyncs = 0
    commit = files.CommitInfo(path=remote_path, mode=mode, mute=True)
    checked = before_commit is None
    while True:
        length = min(chunk_bytes, size - offset)
        final = offset + length >= size
        if final and not checked:
            before_commit()  # type: ignore[misc]
            checked = True
        cursor = files.UploadSessionCursor(session_id=session_id, offset=offset)
        try:
            data = _read(fd, offset, length)
            digest = _chunk_hash(blocks, offset, length, size)
            if final:
                return client.files_upload_session_finish(data, cursor, commit,
                                                          content_hash=digest)
            client.files_upload_session_append_v2(data, cursor, content_hash=digest)
            offset += length
            failures = resyncs = 0
            if progress:
                progress(offset, size)
        except Exception as exc:
            correct = _offset_error(exc)
            if correct is not None:
                if not 0 <= correct <= size:
                    raise BookedBizError(
                        f"Dropbox reported an impossible upload offset {correct}; aborted."
                    ) from None
                resyncs += 1
                if resyncs > policy.attempts + 3:
                    raise BookedBizError(
                        "Dropbox kept rejecting the upload offset; aborted, nothing committed."
                    ) from None
                log.warning("resynchronising upload offset %d -> %d", offset, correct)
                offset = correct
                continue
            if not is_transient(exc) or failures >= policy.attempts:
                raise
            wait = policy.delay(failures)
            log.warning("chunk at offset %d failed (%s); retry %d in %.1fs", offset,
                        type(exc).__name__, failures + 1, wait)
            time.sleep(wait)
            failures += 1

"""Dropbox's content hash, computed locally so uploads can be verified and skipped.

The algorithm (developers.dropbox.com/content-hash): split the data into 4 MiB blocks, SHA-256
each block, SHA-256 the concatenation of the raw block digests, hex-encode.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

BLOCK_SIZE = 4 * 1024 * 1024
READ_SIZE = 4 * BLOCK_SIZE


class DropboxContentHasher:
    """Incremental hasher; feed it bytes in any sizes, the block boundaries are kept."""

    def __init__(self) -> None:
        self._overall = hashlib.sha256()
        self._block = hashlib.sha256()
        self._block_pos = 0

    def update(self, data: bytes | memoryview) -> None:
        view = memoryview(data)
        while len(view):
            room = BLOCK_SIZE - self._block_pos
            part = view[:room]
            self._block.update(part)
            self._block_pos += len(part)
            view = view[len(part):]
            if self._block_pos == BLOCK_SIZE:
                self._overall.update(self._block.digest())
                self._block = hashlib.sha256()
                self._block_pos = 0

    def hexdigest(self) -> str:
        overall = self._overall.copy()
        if self._block_pos:
            overall.update(self._block.digest())
        return overall.hexdigest()


def bytes_content_hash(data: bytes) -> str:
    hasher = DropboxContentHasher()
    hasher.update(data)
    return hasher.hexdigest()


def file_content_hash(path: Path) -> str:
    """Hash a file by reading it in large aligned pieces (fast, constant memory)."""
    hasher = DropboxContentHasher()
    buffer = bytearray(READ_SIZE)
    view = memoryview(buffer)
    with open(path, "rb", buffering=0) as handle:
        while True:
            count = handle.readinto(buffer)
            if not count:
                break
            hasher.update(view[:count])
    return hasher.hexdigest()

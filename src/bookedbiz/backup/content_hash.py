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
        self.blocks: list[bytes] = []  # raw digest of every complete 4 MiB block

    def update(self, data: bytes | memoryview) -> None:
        view = memoryview(data)
        while len(view):
            room = BLOCK_SIZE - self._block_pos
            part = view[:room]
            self._block.update(part)
            self._block_pos += len(part)
            view = view[len(part):]
            if self._block_pos == BLOCK_SIZE:
                digest = self._block.digest()
                self.blocks.append(digest)
                self._overall.update(digest)
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
    return file_hasher(path).hexdigest()


def file_hasher(path: Path) -> DropboxContentHasher:
    """The finished hasher of a file, whose ``blocks`` give any aligned range's hash."""
    hasher = DropboxContentHasher()
    buffer = bytearray(READ_SIZE)
    view = memoryview(buffer)
    with open(path, "rb", buffering=0) as handle:
        while True:
            count = handle.readinto(buffer)
            if not count:
                break
            hasher.update(view[:count])
    if hasher._block_pos:
        hasher.blocks.append(hasher._block.copy().digest())
    return hasher


def range_content_hash(blocks: list[bytes], offset: int, length: int) -> str | None:
    """Content hash of ``length`` bytes at a 4 MiB-aligned ``offset``, from block digests.

    Lets every upload request carry its ``content_hash`` without hashing the bytes again.
    None when the range is not aligned (then the SDK hashes the request itself).
    """
    if offset % BLOCK_SIZE:
        return None
    first = offset // BLOCK_SIZE
    last = first + -(-length // BLOCK_SIZE)
    if last > len(blocks):
        return None
    return hashlib.sha256(b"".join(blocks[first:last])).hexdigest()

"""gzip for pages, static files and feeds when the client accepts it (phones, slow links).

The app is often served by uvicorn alone on the station's box, with no proxy to compress for
it, and a report page is mostly repeated markup (a customer page shrinks about sevenfold).

Rules, so that nothing a client relies on changes:
- only text responses (HTML, CSS, JS, JSON, CSV, SVG) of at least ``MIN_SIZE`` bytes with
  status 200, and only when ``Accept-Encoding`` allows gzip; ``Vary: Accept-Encoding`` always;
- a streamed body (the CSV/JSON feeds) is compressed as it streams, never buffered whole;
- files (static, the chart bundle) are compressed once per version (keyed by their ETag) and
  kept in a small in-memory cache;
- a compressed response's ETag is made weak (``W/"…"``): it no longer names the exact bytes of
  the file, but ``If-None-Match`` compares weakly, so a revalidation still gets its 304, and
  ``If-Range`` (strong) falls back to a whole response instead of a wrong range;
  ``Accept-Ranges`` is dropped for the same reason.

BREACH (guessing a secret in a compressed page that also reflects attacker text) needs the
victim's browser to send many signed-in requests for an attacker; the session cookie is
``SameSite=Lax``, so cross-site sub-requests carry no session, and the CSRF token is re-signed
with a timestamp on every page.
"""

from __future__ import annotations

import gzip
import threading
import zlib
from collections import OrderedDict
from collections.abc import Iterable, Iterator

from flask import Flask, Request, Response, request

MIN_SIZE = 1024
LEVEL = 6
CACHE_BYTES = 24 * 1024 * 1024
COMPRESSIBLE = frozenset({
    "text/html", "text/css", "text/javascript", "application/javascript", "text/csv",
    "text/plain", "application/json", "image/svg+xml", "application/xml", "text/xml",
})


class GzipCache:
    """Compressed bodies of files, least recently used out first, bounded in total bytes."""

    def __init__(self, max_bytes: int = CACHE_BYTES) -> None:
        self.max_bytes = max_bytes
        self._items: OrderedDict[tuple[str, ...], bytes] = OrderedDict()
        self._size = 0
        self._lock = threading.Lock()

    def get(self, key: tuple[str, ...]) -> bytes | None:
        with self._lock:
            body = self._items.get(key)
            if body is not None:
                self._items.move_to_end(key)
            return body

    def put(self, key: tuple[str, ...], body: bytes) -> None:
        if len(body) > self.max_bytes:
            return
        with self._lock:
            old = self._items.pop(key, None)
            self._size -= len(old) if old is not None else 0
            self._items[key] = body
            self._size += len(body)
            while self._size > self.max_bytes:
                _, dropped = self._items.popitem(last=False)
                self._size -= len(dropped)


def accepts_gzip(req: Request) -> bool:
    return req.accept_encodings.quality("gzip") > 0


def gzip_stream(chunks: Iterable[bytes | str], level: int = LEVEL) -> Iterator[bytes]:
    """Compress a streamed body chunk by chunk (gzip container), closing the source after."""
    packer = zlib.compressobj(level, zlib.DEFLATED, 31)
    try:
        for chunk in chunks:
            out = packer.compress(chunk.encode("utf-8") if isinstance(chunk, str) else chunk)
            if out:
                yield out
        yield packer.flush()
    finally:
        close = getattr(chunks, "close", None)
        if close is not None:
            close()


def _weaken_etag(response: Response) -> None:
    etag, weak = response.get_etag()
    if etag and not weak:
        response.set_etag(etag, weak=True)


def _file_body(response: Response, cache: GzipCache) -> bytes | None:
    """The gzip body of a file response (send_file), from the cache when this version was
    compressed before; None when the file is too small to bother."""
    etag, weak = response.get_etag()
    key = (request.path, etag or "", str(response.content_length or ""))
    body = cache.get(key) if etag and not weak else None
    response.direct_passthrough = False
    if body is not None:
        source = response.response
        close = getattr(source, "close", None)
        if close is not None:
            response.call_on_close(close)
        return body
    data = response.get_data()
    if len(data) < MIN_SIZE:
        return None
    body = gzip.compress(data, LEVEL, mtime=0)
    if etag and not weak:
        cache.put(key, body)
    return body


def compress(response: Response, cache: GzipCache) -> Response:
    """Apply the rules in the module docstring to one response."""
    if response.mimetype not in COMPRESSIBLE:
        return response
    if "no-transform" in (response.headers.get("Cache-Control") or ""):
        return response
    if response.status_code == 304:
        response.vary.add("Accept-Encoding")
        if accepts_gzip(request):
            _weaken_etag(response)
        return response
    if response.status_code != 200 or "Content-Encoding" in response.headers:
        return response
    length = response.content_length
    if length is not None and length < MIN_SIZE:
        return response
    response.vary.add("Accept-Encoding")
    if not accepts_gzip(request):
        return response
    if response.direct_passthrough:
        body = _file_body(response, cache)
        if body is None:
            return response
        response.set_data(body)
    elif response.is_streamed:
        response.response = gzip_stream(response.response)
        response.headers.pop("Content-Length", None)
    else:
        data = response.get_data()
        if len(data) < MIN_SIZE:
            return response
        response.set_data(gzip.compress(data, LEVEL, mtime=0))
    response.headers["Content-Encoding"] = "gzip"
    response.headers.pop("Accept-Ranges", None)
    _weaken_etag(response)
    return response


def init_app(app: Flask) -> None:
    cache = GzipCache()
    app.extensions["bookedbiz.gzip_cache"] = cache

    @app.after_request
    def _gzip(response: Response) -> Response:
        return compress(response, cache)

"""A small fake of the Dropbox HTTP API, over real TLS, for testing the real SDK.

It implements the routes the backup code calls (account, upload, upload sessions with offsets,
download, metadata, list_folder with cursors, copy, delete, OAuth refresh) with the wire format
the SDK expects, stores file bodies on disk, and can inject faults per route: HTTP 500, a
response that arrives too late (timeout), a connection dropped mid-body, a server that lost
bytes (wrong offset), an expired access token, or a request that hangs until released.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import shutil
import ssl
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import trustme

BLOCK = 4 * 1024 * 1024


def content_hash(data: bytes) -> str:
    """Independent implementation of Dropbox's content hash (not the code under test)."""
    digests = b"".join(
        hashlib.sha256(data[i:i + BLOCK]).digest() for i in range(0, len(data), BLOCK)
    )
    return hashlib.sha256(digests).hexdigest()


def file_hash(path: Path) -> str:
    """Streamed variant of :func:`content_hash` for big stored files."""
    digests = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(BLOCK):
            digests.update(hashlib.sha256(block).digest())
    return digests.hexdigest()


@dataclass
class StoredFile:
    path_display: str
    blob: Path
    size: int
    content_hash: str
    rev: str
    server_modified: str


@dataclass
class Session:
    blob: Path
    offset: int = 0
    closed: bool = False


@dataclass
class Fault:
    """Inject ``kind`` into calls to routes ending with ``route``: skip ``after``, hit ``times``."""

    route: str
    kind: str  # "500" | "timeout" | "drop" | "wrong_offset" | "expire_token" | "hang"
    times: int = 1
    after: int = 0
    seconds: float = 0.0
    seen: int = 0


@dataclass
class FakeState:
    app_key: str = "fake-app-key"
    app_secret: str = "fake-app-secret-value"
    refresh_token: str = "fake-refresh-token-value"
    access_tokens: set[str] = field(default_factory=set)
    expired_tokens: set[str] = field(default_factory=set)
    files: dict[str, StoredFile] = field(default_factory=dict)
    folders: set[str] = field(default_factory=set)
    sessions: dict[str, Session] = field(default_factory=dict)
    cursors: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    faults: list[Fault] = field(default_factory=list)
    calls: list[str] = field(default_factory=list)
    auth_headers: list[str] = field(default_factory=list)
    refreshes: int = 0
    page_size: int = 3
    bandwidth: float | None = None  # bytes/s the server accepts (None: as fast as possible)
    next_rev: int = 0x100000000


class FakeDropbox:
    """The server plus its state; ``reset()`` between tests, ``stop()`` at the end."""

    def __init__(self, workdir: Path):
        self.workdir = workdir
        self.blobs = workdir / "blobs"
        self.blobs.mkdir(parents=True, exist_ok=True)
        self.ca = trustme.CA()
        self.ca_path = workdir / "fake-ca.pem"
        self.ca.cert_pem.write_to_path(str(self.ca_path))
        self.state = FakeState()
        self.lock = threading.RLock()
        self.hang_started = threading.Event()
        self.release = threading.Event()
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self.ca.issue_cert("127.0.0.1", "localhost").configure_cert(ctx)
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), _make_handler(self))
        self.httpd.daemon_threads = True
        self.httpd.socket = ctx.wrap_socket(self.httpd.socket, server_side=True)
        self.port = self.httpd.server_address[1]
        self.host = f"127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def reset(self) -> None:
        self.release.set()
        with self.lock:
            self.state = FakeState()
        self.hang_started.clear()
        self.release.clear()

    def stop(self) -> None:
        self.release.set()
        self.httpd.shutdown()
        self.httpd.server_close()

    # -- helpers for tests --------------------------------------------------------------------
    def add_fault(self, route: str, kind: str, **kw: Any) -> Fault:
        fault = Fault(route, kind, **kw)
        with self.lock:
            self.state.faults.append(fault)
        return fault

    def put_file(self, path: str, data: bytes, when: datetime | None = None) -> StoredFile:
        with self.lock:
            blob = self.blobs / secrets.token_hex(8)
            blob.write_bytes(data)
            return self._commit(path, blob, len(data), content_hash(data), when)

    def read(self, path: str) -> bytes:
        return self.state.files[path.lower()].blob.read_bytes()

    def file(self, path: str) -> StoredFile | None:
        return self.state.files.get(path.lower())

    def calls_to(self, suffix: str) -> int:
        return sum(1 for c in self.state.calls if c.endswith(suffix))

    # -- storage ------------------------------------------------------------------------------
    def _commit(self, path: str, blob: Path, size: int, digest: str,
                when: datetime | None = None) -> StoredFile:
        st = self.state
        st.next_rev += 1
        stamp = (when or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%SZ")
        record = StoredFile(path, blob, size, digest, f"{st.next_rev:x}", stamp)
        st.files[path.lower()] = record
        parent = path.rsplit("/", 1)[0]
        while parent:
            st.folders.add(parent.lower())
            parent = parent.rsplit("/", 1)[0]
        return record

    def metadata_json(self, rec: StoredFile) -> dict[str, Any]:
        return {
            ".tag": "file", "name": rec.path_display.rsplit("/", 1)[-1],
            "path_lower": rec.path_display.lower(), "path_display": rec.path_display,
            "id": "id:" + hashlib.md5(rec.path_display.lower().encode()).hexdigest()[:16],
            "client_modified": rec.server_modified, "server_modified": rec.server_modified,
            "rev": rec.rev, "size": rec.size, "is_downloadable": True,
            "content_hash": rec.content_hash,
        }

    def folder_json(self, path: str) -> dict[str, Any]:
        name = path.rsplit("/", 1)[-1]
        return {".tag": "folder", "name": name, "path_lower": path.lower(),
                "path_display": path, "id": "id:folder-" + name}

    def children(self, folder: str) -> list[dict[str, Any]] | None:
        folder_l = folder.lower()
        if folder_l and folder_l not in self.state.folders:
            return None
        out: list[dict[str, Any]] = []
        subfolders: set[str] = set()
        for key, rec in sorted(self.state.files.items()):
            if key.rsplit("/", 1)[0] == folder_l:
                out.append(self.metadata_json(rec))
        for sub in self.state.folders:
            if sub.rsplit("/", 1)[0] == folder_l:
                subfolders.add(sub)
        out.extend(self.folder_json(folder + sub[len(folder_l):]) for sub in sorted(subfolders))
        return out


class _Dropped(Exception):
    """The handler closed the connection on purpose."""


def _make_handler(fake: FakeDropbox) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_fake = fake

        def log_message(self, *args: Any) -> None:  # quiet
            pass

        # -- plumbing --------------------------------------------------------------------------
        def _send(self, status: int, body: bytes, content_type: str = "application/json",
                  headers: dict[str, str] | None = None) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(body)

        def _json(self, status: int, obj: Any) -> None:
            self._send(status, json.dumps(obj).encode())

        def _error(self, status: int, error: Any, summary: str) -> None:
            self._json(status, {"error": error, "error_summary": summary})

        def _read_body(self, drop_midway: bool = False) -> bytes:
            length = int(self.headers.get("Content-Length") or 0)
            if drop_midway:
                self.rfile.read(length // 2)
                self.close_connection = True
                try:
                    self.connection.shutdown(2)
                except OSError:
                    pass
                raise _Dropped()
            rate = fake.state.bandwidth
            if not rate or length < 1 << 20:
                return self.rfile.read(length) if length else b""
            parts, started = [], time.monotonic()
            while (got := sum(map(len, parts))) < length:
                parts.append(self.rfile.read(min(1 << 20, length - got)))
                ahead = got / rate - (time.monotonic() - started)
                if ahead > 0:
                    time.sleep(ahead)
            return b"".join(parts)

        def _fault(self, route: str) -> Fault | None:
            with fake.lock:
                for fault in fake.state.faults:
                    if route.endswith(fault.route) and fault.times > 0:
                        fault.seen += 1
                        if fault.seen > fault.after:
                            fault.times -= 1
                            return fault
            return None

        def do_POST(self) -> None:  # noqa: N802 - http.server API
            route = urllib.parse.urlparse(self.path).path
            with fake.lock:
                fake.state.calls.append(route)
                fake.state.auth_headers.append(self.headers.get("Authorization", ""))
            try:
                fault = self._fault(route)
                if fault and fault.kind == "hang":
                    fake.hang_started.set()
                    fake.release.wait(fault.seconds or 60)
                    self._read_body(drop_midway=True)
                if fault and fault.kind == "drop":
                    self._read_body(drop_midway=True)
                if fault and fault.kind == "expire_token":
                    with fake.lock:
                        fake.state.expired_tokens |= fake.state.access_tokens
                        fake.state.access_tokens.clear()
                if fault and fault.kind == "500":
                    self._read_body()
                    self._error(500, "internal", "internal_error/")
                    return
                if route == "/oauth2/token":
                    self._token()
                    return
                if not self._authorised():
                    return
                handler = ROUTES.get(route.removeprefix("/2/"))
                if handler is None:
                    self._read_body()
                    self._error(400, "unknown route", "unknown")
                    return
                handler(self, fault)
            except (_Dropped, OSError):
                self.close_connection = True

        def _delay_if_timeout(self, fault: Fault | None) -> None:
            if fault and fault.kind == "timeout":
                time.sleep(fault.seconds or 2.0)

        # -- auth ------------------------------------------------------------------------------
        def _token(self) -> None:
            form = urllib.parse.parse_qs(self._read_body().decode())
            st = fake.state
            ok = (form.get("grant_type") == ["refresh_token"]
                  and form.get("refresh_token") == [st.refresh_token]
                  and form.get("client_id") == [st.app_key]
                  and form.get("client_secret") == [st.app_secret])
            if not ok:
                self._json(400, {"error": "invalid_grant",
                                 "error_description": "refresh token is malformed"})
                return
            token = "sl.fake-" + secrets.token_hex(12)
            with fake.lock:
                st.access_tokens.add(token)
                st.refreshes += 1
            self._json(200, {"access_token": token, "expires_in": 14400,
                             "token_type": "bearer"})

        def _authorised(self) -> bool:
            header = self.headers.get("Authorization", "")
            token = header.removeprefix("Bearer ")
            st = fake.state
            if token in st.access_tokens:
                return True
            self._read_body()
            if token in st.expired_tokens:
                self._error(401, {".tag": "expired_access_token"}, "expired_access_token/")
            else:
                self._error(401, {".tag": "invalid_access_token"}, "invalid_access_token/")
            return False

        def arg(self) -> dict[str, Any]:
            raw = self.headers.get("Dropbox-API-Arg")
            return json.loads(raw) if raw else {}

    return Handler


# -- routes -------------------------------------------------------------------------------------

def _account(h: Any, fault: Fault | None) -> None:
    h._read_body()
    h._json(200, {
        "account_id": "dbid:" + "A" * 35, "email": "owner@example.invalid",
        "email_verified": True, "disabled": False, "locale": "en",
        "referral_link": "https://example.invalid/ref", "is_paired": False,
        "account_type": {".tag": "basic"},
        "root_info": {".tag": "user", "root_namespace_id": "1", "home_namespace_id": "1"},
        "name": {"given_name": "Fake", "surname": "Owner", "familiar_name": "Fake",
                 "display_name": "Fake Owner", "abbreviated_name": "FO"},
        "country": "US",
    })


def _upload(h: Any, fault: Fault | None) -> None:
    fake: FakeDropbox = h.server_fake
    arg = h.arg()
    data = h._read_body()
    digest = content_hash(data)
    if arg.get("content_hash") and arg["content_hash"] != digest:
        h._error(409, {".tag": "content_hash_mismatch"}, "content_hash_mismatch/")
        return
    path = arg["path"]
    mode = arg.get("mode", {".tag": "add"})
    mode_tag = mode if isinstance(mode, str) else mode[".tag"]
    with fake.lock:
        if mode_tag == "add" and path.lower() in fake.state.files:
            h._error(409, {".tag": "path", "reason": {".tag": "conflict",
                                                       "conflict": {".tag": "file"}},
                           "upload_session_id": "x"}, "path/conflict/file/")
            return
        rec = fake.put_file(path, data)
    h._delay_if_timeout(fault)
    h._json(200, fake.metadata_json(rec))


def _session_start(h: Any, fault: Fault | None) -> None:
    fake: FakeDropbox = h.server_fake
    data = h._read_body()
    sid = "sess-" + secrets.token_hex(8)
    blob = fake.blobs / sid
    blob.write_bytes(data)
    with fake.lock:
        fake.state.sessions[sid] = Session(blob, len(data))
    h._delay_if_timeout(fault)
    h._json(200, {"session_id": sid})


def _session_lookup(h: Any, cursor: dict[str, Any], in_finish: bool) -> Session | None:
    fake: FakeDropbox = h.server_fake
    session = fake.state.sessions.get(cursor["session_id"])

    def fail(err: dict[str, Any], summary: str) -> None:
        h._error(409, {".tag": "lookup_failed", "lookup_failed": err} if in_finish else err,
                 ("lookup_failed/" if in_finish else "") + summary)

    if session is None or session.closed:
        fail({".tag": "not_found"}, "not_found/")
        return None
    if cursor["offset"] != session.offset:
        fail({".tag": "incorrect_offset", "correct_offset": session.offset}, "incorrect_offset/")
        return None
    return session


def _lose_bytes(session: Session) -> None:
    """Simulate a server that lost the last chunk it acknowledged."""
    keep = max(0, session.offset - BLOCK)
    with open(session.blob, "r+b") as handle:
        handle.truncate(keep)
    session.offset = keep


def _session_append(h: Any, fault: Fault | None) -> None:
    fake: FakeDropbox = h.server_fake
    arg = h.arg()
    data = h._read_body()
    with fake.lock:
        session = _session_lookup(h, arg["cursor"], in_finish=False)
        if session is None:
            return
        if fault and fault.kind == "wrong_offset":
            _lose_bytes(session)
            h._error(409, {".tag": "incorrect_offset", "correct_offset": session.offset},
                     "incorrect_offset/")
            return
        if arg.get("content_hash") and arg["content_hash"] != content_hash(data):
            h._error(409, {".tag": "content_hash_mismatch"}, "content_hash_mismatch/")
            return
        with open(session.blob, "ab") as handle:
            handle.write(data)
        session.offset += len(data)
    h._delay_if_timeout(fault)
    h._json(200, None)


def _session_finish(h: Any, fault: Fault | None) -> None:
    fake: FakeDropbox = h.server_fake
    arg = h.arg()
    data = h._read_body()
    with fake.lock:
        session = _session_lookup(h, arg["cursor"], in_finish=True)
        if session is None:
            return
        with open(session.blob, "ab") as handle:
            handle.write(data)
        session.offset += len(data)
        session.closed = True
        commit = arg["commit"]
        path = commit["path"]
        mode = commit.get("mode", {".tag": "add"})
        mode_tag = mode if isinstance(mode, str) else mode[".tag"]
        if mode_tag == "add" and path.lower() in fake.state.files:
            h._error(409, {".tag": "path", "path": {".tag": "conflict",
                                                     "conflict": {".tag": "file"}}},
                     "path/conflict/file/")
            return
        rec = fake._commit(path, session.blob, session.offset, file_hash(session.blob))
    h._delay_if_timeout(fault)
    h._json(200, fake.metadata_json(rec))


def _not_found(h: Any, tag: str = "path") -> None:
    h._error(409, {".tag": tag, tag: {".tag": "not_found"}}, f"{tag}/not_found/")


def _download(h: Any, fault: Fault | None) -> None:
    fake: FakeDropbox = h.server_fake
    h._read_body()
    rec = fake.file(h.arg()["path"])
    if rec is None:
        _not_found(h)
        return
    body = rec.blob.read_bytes()
    h._send(200, body, "application/octet-stream",
            {"Dropbox-API-Result": json.dumps(fake.metadata_json(rec))})


def _rpc_arg(h: Any) -> dict[str, Any]:
    return json.loads(h._read_body() or b"{}")


def _get_metadata(h: Any, fault: Fault | None) -> None:
    fake: FakeDropbox = h.server_fake
    path = _rpc_arg(h)["path"]
    rec = fake.file(path)
    if rec is not None:
        h._json(200, fake.metadata_json(rec))
    elif path.lower() in fake.state.folders:
        h._json(200, fake.folder_json(path))
    else:
        _not_found(h)


def _list_page(h: Any, entries: list[dict[str, Any]]) -> None:
    fake: FakeDropbox = h.server_fake
    size = fake.state.page_size
    page, rest = entries[:size], entries[size:]
    cursor = "cur-" + secrets.token_hex(6)
    fake.state.cursors[cursor] = rest
    h._json(200, {"entries": page, "cursor": cursor, "has_more": bool(rest)})


def _list_folder(h: Any, fault: Fault | None) -> None:
    fake: FakeDropbox = h.server_fake
    path = _rpc_arg(h)["path"]
    if path and not path.startswith("/"):
        h._json(400, {"error": "path must start with /"})
        return
    with fake.lock:
        entries = fake.children(path)
    if entries is None:
        _not_found(h)
        return
    _list_page(h, entries)


def _list_continue(h: Any, fault: Fault | None) -> None:
    fake: FakeDropbox = h.server_fake
    cursor = _rpc_arg(h)["cursor"]
    rest = fake.state.cursors.pop(cursor, None)
    if rest is None:
        h._error(409, {".tag": "reset"}, "reset/")
        return
    _list_page(h, rest)


def _copy(h: Any, fault: Fault | None) -> None:
    fake: FakeDropbox = h.server_fake
    arg = _rpc_arg(h)
    with fake.lock:
        src = fake.file(arg["from_path"])
        if src is None:
            h._error(409, {".tag": "from_lookup", "from_lookup": {".tag": "not_found"}},
                     "from_lookup/not_found/")
            return
        if fake.file(arg["to_path"]) is not None:
            h._error(409, {".tag": "to", "to": {".tag": "conflict",
                                                 "conflict": {".tag": "file"}}},
                     "to/conflict/file/")
            return
        blob = fake.blobs / secrets.token_hex(8)
        shutil.copyfile(src.blob, blob)
        rec = fake._commit(arg["to_path"], blob, src.size, src.content_hash)
    h._json(200, {"metadata": fake.metadata_json(rec)})


def _delete(h: Any, fault: Fault | None) -> None:
    fake: FakeDropbox = h.server_fake
    path = _rpc_arg(h)["path"]
    with fake.lock:
        rec = fake.state.files.pop(path.lower(), None)
    if rec is None:
        h._error(409, {".tag": "path_lookup", "path_lookup": {".tag": "not_found"}},
                 "path_lookup/not_found/")
        return
    h._json(200, {"metadata": fake.metadata_json(rec)})


ROUTES = {
    "users/get_current_account": _account,
    "files/upload": _upload,
    "files/upload_session/start": _session_start,
    "files/upload_session/append_v2": _session_append,
    "files/upload_session/finish": _session_finish,
    "files/download": _download,
    "files/get_metadata": _get_metadata,
    "files/list_folder": _list_folder,
    "files/list_folder/continue": _list_continue,
    "files/copy_v2": _copy,
    "files/delete_v2": _delete,
}

"""Fixtures for the operations tests: settings on a temp database, a recording HTTP server,
fake jobs, and an environment for subprocess runs of the CLI."""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

import fakejobs  # noqa: E402,F401  (registers fake jobs for in-process runs)

from bookedbiz.config import Settings  # noqa: E402

HERE = Path(__file__).parent
LEGACY_VARS = ("NTFY_TOPIC", "SLACK_WEBHOOK_URL", "JOB_LOCK_DIR", "JOB_TIME_BUDGET_SECONDS",
               "HEARTBEAT_MAX_AGE_HOURS", "SECRET_KEY", "NOTIFY_SUCCESS",
               "NOTIFY_TIMEOUT_SECONDS", "ALERT_FALLBACK_NTFY_URL",
               "INVOCATION_ID")  # set when the suite itself runs under systemd


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in LEGACY_VARS:
        monkeypatch.delenv(name, raising=False)


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> object:
        return json.loads(self.body.decode("utf-8"))


@dataclass
class Recorder:
    """A local HTTP endpoint that records requests; ``status``/``hang`` change its answer."""

    port: int = 0
    status: int = 200
    hang: float = 0.0
    requests: list[Recorded] = field(default_factory=list)

    def url(self, scheme: str, path: str = "") -> str:
        return f"{scheme}://127.0.0.1:{self.port}/{path}"

    def wait_for(self, count: int, timeout: float = 5.0) -> list[Recorded]:
        end = time.monotonic() + timeout
        while len(self.requests) < count and time.monotonic() < end:
            time.sleep(0.02)
        return self.requests


@pytest.fixture()
def recorder() -> Recorder:
    rec = Recorder()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length)
            rec.requests.append(Recorded("POST", self.path, dict(self.headers.items()), body))
            if rec.hang:
                time.sleep(rec.hang)
            payload = b'{"id":"x1","event":"message"}' if rec.status == 200 else (
                b'{"code":50001,"http":500,"error":"server exploded"}')
            if rec.status == 200 and self.path.startswith("/services/"):
                payload = b"ok"  # what Slack's incoming webhooks answer
            try:
                self.send_response(rec.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)
            except OSError:
                pass

        do_PUT = do_POST  # noqa: N815

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    server.block_on_close = False
    rec.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield rec
    server.shutdown()
    server.server_close()


@pytest.fixture()
def data_dir(db_path: Path) -> Path:
    return db_path.parent


@pytest.fixture()
def ops_settings(db_path: Path, data_dir: Path) -> Settings:
    return Settings(database_path=db_path, data_path=data_dir, notify_timeout_seconds=1.0)


@pytest.fixture()
def sub_env(db_path: Path, data_dir: Path) -> dict[str, str]:
    """Environment for a subprocess run of the CLI against the temp database."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("DATABASE_PATH", "DATA_PATH", "DROPBOX_", "NOTIFY_", "NTFY_",
                                "SLACK_", "BOOKEDBIZ_", "JOB_", "HEARTBEAT_",
                                "INVOCATION_ID"))}
    env.update(DATABASE_PATH=str(db_path), DATA_PATH=str(data_dir), NOTIFY_TIMEOUT_SECONDS="1",
               PYTHONUNBUFFERED="1")
    return env



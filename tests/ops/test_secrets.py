"""Every ops command run with dummy secrets: none appears in stdout, stderr, log files,
heartbeat files or captured notifications."""

from __future__ import annotations

import io
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner
from opscli import cli_command, root_cli

from bookedbiz.config import load_settings
from bookedbiz.jobs.runner import run_job

SECRETS = {
    "DROPBOX_APP_KEY": "dummyappkey8812",
    "DROPBOX_APP_SECRET": "dummy-app-secret-5531",
    "DROPBOX_REFRESH_TOKEN": "dummy-refresh-token-77aa",
    "DROPBOX_ACCESS_TOKEN": "sl.dummyaccesstoken0000000000000000",
    "SECRET_KEY": "dummy-flask-secret-key-42",
}
LEGACY = {  # would send to ntfy.sh / hooks.slack.com: only for commands that do not notify
    "NTFY_TOPIC": "dummy-ntfy-topic-9x1",
    "SLACK_WEBHOOK_URL": "https://hooks.slack.com/services/TDUMMY01/BDUMMY02/dummyslacktoken03",
}
URL_SECRETS = ("urlpassw0rd-31", "hookpathtoken-44")


def leaked(text: str, secrets: list[str]) -> list[str]:
    return [s for s in secrets if s in text]


def all_files_text(folder: Path) -> str:
    return "\n".join(p.read_text(errors="replace") for p in folder.rglob("*")
                     if p.is_file() and ".db" not in p.name)


@pytest.fixture()
def secret_env(sub_env, recorder) -> dict[str, str]:  # noqa: ANN001
    url = f"json://opsuser:{URL_SECRETS[0]}@127.0.0.1:{recorder.port}/{URL_SECRETS[1]}"
    return {**sub_env, **SECRETS, "NOTIFY_URLS": url}


def secret_values() -> list[str]:
    return [*SECRETS.values(), *LEGACY.values(), "TDUMMY01", "dummyslacktoken03",
            *URL_SECRETS]


def test_job_run_subprocess_leaks_nothing(secret_env, recorder, data_dir) -> None:
    proc = subprocess.run(cli_command("jobs", "run", "fake-secrets"), env=secret_env,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert "DROPBOX_APP_SECRET = ***" in proc.stdout  # the job printed it; we masked it
    bodies = "\n".join(r.body.decode() for r in recorder.wait_for(1))
    assert "DROPBOX_APP_SECRET" in bodies, "the alert carries the log tail"
    for where, text in (("stdout", proc.stdout), ("stderr", proc.stderr),
                        ("files", all_files_text(data_dir)), ("alerts", bodies)):
        assert leaked(text, secret_values()) == [], where


def test_runner_with_legacy_settings_redacts_alerts_and_logs(
    monkeypatch, db_path, data_dir
) -> None:
    for name, value in {**SECRETS, **LEGACY, "DATABASE_PATH": str(db_path),
                        "DATA_PATH": str(data_dir)}.items():
        monkeypatch.setenv(name, value)
    messages = []
    console = io.StringIO()
    result = run_job("fake-secrets", settings=load_settings(), console=console,
                     notifier=lambda m, s: messages.append(m) or [])
    assert result.exit_code == 2
    text = console.getvalue() + all_files_text(data_dir) + "\n".join(
        m.title + m.body for m in messages)
    assert "NTFY_TOPIC = ***" in text
    assert leaked(text, secret_values()) == []


COMMANDS = [
    ["jobs", "status"],
    ["jobs", "status", "--json"],
    ["doctor", "--no-http"],
    ["doctor", "--no-http", "--json"],
    ["notify", "test"],
    ["notify", "send", "--title", "t dummy-app-secret-5531", "--message",
     "body dummy-refresh-token-77aa", "--level", "failure"],
    ["deploy", "render", "--out", "{out}"],
    ["explore", "--db", "{missing}"],
    ["jobs", "run", "heartbeat-check"],
]


@pytest.mark.parametrize("args", COMMANDS, ids=lambda a: " ".join(a[:2]))
def test_every_command_leaks_nothing(args, secret_env, recorder, monkeypatch, tmp_path,
                                     data_dir) -> None:
    sends = args[0] in ("notify", "jobs") and args[1] != "status"
    env = dict(secret_env) if sends else {**secret_env, **LEGACY}
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    argv = [a.format(out=tmp_path / "deploy", missing=tmp_path / "none.db") for a in args]
    res = CliRunner().invoke(root_cli(), argv, env=env)
    output = res.output + (res.stderr if hasattr(res, "stderr") else "")
    assert res.exception is None or isinstance(res.exception, SystemExit), res.exception
    bodies = "\n".join(r.body.decode() for r in recorder.requests)
    if args[:2] == ["notify", "send"]:
        assert recorder.wait_for(1) and "***" in recorder.requests[0].body.decode()
    files = all_files_text(data_dir) + all_files_text(tmp_path)
    for where, text in (("output", output), ("files", files), ("alerts", bodies)):
        assert leaked(text, secret_values()) == [], (where, argv)

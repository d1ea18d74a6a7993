"""Rendered deployment files: systemd-analyze verify, a key-by-key parser test, and the
OnFailure alert script run with stand-ins for systemctl and bookedbiz."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
from pathlib import Path

import pytest
from opscli import root_cli

from bookedbiz.deploy.render import DeployParams, render_files, write_files

DATA = "/var/lib/bookedbiz"
HARDENING = {
    "NoNewPrivileges": "yes", "ProtectSystem": "strict", "ProtectHome": "yes",
    "PrivateTmp": "yes", "PrivateDevices": "yes", "RestrictSUIDSGID": "yes",
    "CapabilityBoundingSet": "", "ReadWritePaths": DATA,
}
KNOWN_KEYS = {
    "Unit": {"Description", "Wants", "After", "OnFailure"},
    "Service": {"Type", "User", "Group", "WorkingDirectory", "EnvironmentFile", "ExecStart",
                "Restart", "RestartSec", "TimeoutStartSec", "NoNewPrivileges", "ProtectSystem",
                "ProtectHome", "PrivateTmp", "PrivateDevices", "ProtectKernelTunables",
                "ProtectKernelModules", "ProtectControlGroups", "RestrictSUIDSGID",
                "RestrictNamespaces", "RestrictRealtime", "LockPersonality",
                "CapabilityBoundingSet", "RestrictAddressFamilies", "UMask", "ReadWritePaths"},
    "Timer": {"OnCalendar", "RandomizedDelaySec", "Persistent", "Unit"},
    "Install": {"WantedBy"},
}


def parse_unit(text: str) -> dict[str, dict[str, str]]:
    sections: dict[str, dict[str, str]] = {}
    current = None
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            assert line.endswith("]"), raw
            current = line[1:-1]
            assert current not in sections, f"duplicate section {current}"
            sections[current] = {}
            continue
        assert current is not None and "=" in line, raw
        key, value = line.split("=", 1)
        assert key in KNOWN_KEYS[current], f"unknown key {key} in [{current}]"
        if key == "OnCalendar" and key in sections[current]:  # a timer may list several
            sections[current][key] += "\n" + value
            continue
        assert key not in sections[current], f"duplicate key {key}"
        sections[current][key] = value
    return sections


@pytest.fixture()
def rendered(tmp_path: Path, runner) -> Path:  # noqa: ANN001
    prefix = tmp_path / "opt"
    binary = prefix / ".venv" / "bin" / "bookedbiz"
    binary.parent.mkdir(parents=True)
    binary.write_text("#!/bin/sh\nexit 0\n")
    binary.chmod(0o755)
    out = tmp_path / "out"
    result = runner.invoke(root_cli(), ["deploy", "render", "--prefix", str(prefix), "--user",
                                        "bookedbiz", "--data-dir", DATA, "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "install.sh" in result.output
    return out


def test_units_pass_systemd_analyze_verify(rendered: Path) -> None:
    if shutil.which("systemd-analyze") is None:
        pytest.skip("systemd-analyze missing (scripts/test.sh installs Debian's systemd)")
    units = sorted(str(p) for p in (rendered / "systemd").iterdir())
    assert len(units) == 13  # 9 + the weekly and daily digest services and timers
    proc = subprocess.run(["systemd-analyze", "verify", *units], capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.strip() == "", proc.stderr


def test_every_key_of_every_unit(rendered: Path) -> None:
    units = {p.name: parse_unit(p.read_text()) for p in (rendered / "systemd").iterdir()}
    services = {n: u for n, u in units.items() if n.endswith(".service")}
    for name, unit in services.items():
        svc = unit["Service"]
        assert svc["User"] == svc["Group"] == "bookedbiz", name
        assert svc["EnvironmentFile"] == "/etc/bookedbiz/bookedbiz.env"
        for key, value in HARDENING.items():
            assert svc[key] == value, (name, key)
        if name != "bookedbiz-alert@.service":
            assert unit["Unit"]["OnFailure"] == "bookedbiz-alert@%n.service", name
    bin_ = str(rendered.parent / "opt" / ".venv" / "bin" / "bookedbiz")
    assert services["bookedbiz-web.service"]["Service"]["ExecStart"] == (
        f"{bin_} serve --host 127.0.0.1 --port 8000")  # behind the TLS proxy
    assert services["bookedbiz-explore.service"]["Service"]["ExecStart"] == (
        f"{bin_} explore --host 127.0.0.1 --port 8001")
    for job in ("daily-update", "backup", "heartbeat-check"):
        svc = services[f"bookedbiz-{job}.service"]["Service"]
        assert svc["Type"] == "oneshot" and svc["ExecStart"] == f"{bin_} jobs run {job}"
        assert units[f"bookedbiz-{job}.timer"]["Timer"]["Persistent"] == "true"
        assert units[f"bookedbiz-{job}.timer"]["Timer"]["Unit"] == f"bookedbiz-{job}.service"
    assert units["bookedbiz-daily-update.timer"]["Timer"]["OnCalendar"] == "*-*-* 04:30:00"
    backup = units["bookedbiz-backup.timer"]["Timer"]
    assert (backup["OnCalendar"], backup["RandomizedDelaySec"]) == ("*-*-* 02:05:00", "5m")
    alert = services["bookedbiz-alert@.service"]["Service"]
    assert alert["ExecStart"].startswith("/bin/sh ") and alert["ExecStart"].endswith(" %i")


def test_env_template_is_0600_and_holds_no_secret(rendered: Path) -> None:
    env = rendered / "etc" / "bookedbiz.env"
    assert stat.S_IMODE(env.stat().st_mode) == 0o600
    text = env.read_text()
    assert "0600" in text
    values = dict(line.split("=", 1) for line in text.splitlines()
                  if line and not line.startswith("#"))
    assert values["DATABASE_PATH"] == f"{DATA}/bookedbiz.db" and values["DATA_PATH"] == DATA
    for secret in ("SECRET_KEY", "NOTIFY_URLS", "NTFY_TOPIC", "SLACK_WEBHOOK_URL",
                   "DROPBOX_APP_SECRET", "DROPBOX_REFRESH_TOKEN"):
        assert secret not in values, f"{secret} must stay commented out in the template"


def test_logrotate_and_scripts(rendered: Path) -> None:
    rotate = (rendered / "logrotate" / "bookedbiz").read_text()
    assert f"{DATA}/logs/daily-update.log" in rotate and "create 0640 bookedbiz bookedbiz" in rotate
    assert subprocess.run(["bash", "-n", str(rendered / "install.sh")]).returncode == 0
    alert = rendered / "lib" / "bookedbiz-alert.sh"
    assert subprocess.run(["sh", "-n", str(alert)]).returncode == 0
    admin = rendered / "bin" / "bookedbiz-admin"
    assert os.access(admin, os.X_OK) and "systemd-run" in admin.read_text()
    install = (rendered / "install.sh").read_text()
    assert "-m 0600" in install and "systemd-analyze verify" in install


def test_render_refuses_private_or_relative_paths(runner, tmp_path) -> None:  # noqa: ANN001
    for bad in (["--data-dir", "/tmp/x"], ["--data-dir", "relative"], ["--prefix", "opt"]):
        result = runner.invoke(root_cli(), ["deploy", "render", "--out", str(tmp_path), *bad])
        assert result.exit_code == 2 and "Error:" in result.output


# ------------------------------------------------------------ the OnFailure alert script

@pytest.fixture()
def alert_env(tmp_path: Path):  # noqa: ANN201
    prefix, data = tmp_path / "opt", tmp_path / "data"
    files = render_files(DeployParams(prefix, "bookedbiz", data))
    write_files(files, tmp_path / "out")
    fake_bin = tmp_path / "fakebin"
    fake_bin.mkdir()
    calls = tmp_path / "calls.txt"
    for name, body in {
        "systemctl": 'case "$*" in *ExecMainStatus*) echo "$FAKE_STATUS";; '
                     '*ExecMainPID*) echo "$FAKE_PID";; esac',
        "logger": f'echo "logger $*" >> {calls}',
    }.items():
        (fake_bin / name).write_text(f"#!/bin/sh\n{body}\n")
        (fake_bin / name).chmod(0o755)
    bookedbiz = prefix / ".venv" / "bin" / "bookedbiz"
    bookedbiz.parent.mkdir(parents=True)
    bookedbiz.write_text(f'#!/bin/sh\necho "bookedbiz $*" >> {calls}\nexit "$FAKE_NOTIFY_RC"\n')
    bookedbiz.chmod(0o755)
    env = {"PATH": f"{fake_bin}:/usr/bin:/bin", "FAKE_STATUS": "203", "FAKE_PID": "0",
           "FAKE_NOTIFY_RC": "0"}

    def run(**extra: str) -> tuple[int, str]:
        calls.write_text("")
        proc = subprocess.run(["sh", str(tmp_path / "out" / "lib" / "bookedbiz-alert.sh"),
                               "bookedbiz-backup.service"], env={**env, **extra},
                              capture_output=True, text=True, timeout=30)
        return proc.returncode, calls.read_text()

    return run, data


def test_alert_fires_when_the_job_died_before_python(alert_env) -> None:
    run, _ = alert_env
    code, calls = run(FAKE_STATUS="203")
    assert code == 0
    assert "bookedbiz notify send --level failure" in calls and "exit status 203" in calls


def test_alert_is_quiet_for_skips_and_runs_the_runner_reported(alert_env) -> None:
    run, data = alert_env
    assert "notify" not in run(FAKE_STATUS="75")[1]
    beat = data / "heartbeats" / "backup.json"
    beat.parent.mkdir(parents=True)
    beat.write_text('{\n  "job": "backup",\n  "pid": 4242,\n  "status": "failed"\n}\n')
    code, calls = run(FAKE_STATUS="1", FAKE_PID="4242")
    assert code == 0 and "notify" not in calls and "already alerted" in calls
    assert "notify send" in run(FAKE_STATUS="1", FAKE_PID="999")[1]


def test_alert_falls_back_to_curl_when_bookedbiz_cannot_run(alert_env, recorder) -> None:
    run, _ = alert_env
    code, calls = run(FAKE_NOTIFY_RC="1",
                      ALERT_FALLBACK_NTFY_URL=recorder.url("http", "fallback-topic"))
    assert code == 0 and "logger -p user.crit" in calls
    [req] = recorder.wait_for(1)
    assert req.headers["Priority"] == "5" and req.headers["Tags"] == "rotating_light"
    assert b"bookedbiz-backup.service" in req.body

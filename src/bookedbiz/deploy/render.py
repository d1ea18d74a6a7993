"""Render the systemd units, env template, logrotate config and helpers for one installation.

One command generates every deployment file from a few parameters, so units, docs and paths
cannot drift apart the way the old hand-installed units did.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from bookedbiz.deploy import templates as t
from bookedbiz.errors import ConfigError

JOBS = (
    # job, OnCalendar, RandomizedDelaySec
    ("daily-update", "*-*-* 04:30:00", None),
    ("backup", "*-*-* 02:05:00", "5m"),
    ("heartbeat-check", "*-*-* 08,20:00:00", "2m"),
)
LOGGED_JOBS = ("daily-update", "backup", "heartbeat-check")
ALERT_SCRIPT_PATH = "/usr/local/lib/bookedbiz/bookedbiz-alert.sh"
SERVER_NAME_RE = re.compile(r"^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?$")
EMAIL_RE = re.compile(r"^[^@\s{}]+@[A-Za-z0-9.-]+$")
TIME_RE = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")


def parse_times(text: str) -> tuple[str, ...]:
    """'03:30,9:30, 15:30' -> ('03:30', '09:30', '15:30'): sorted, unique, validated."""
    times = set()
    for part in (p.strip() for p in text.split(",")):
        match = TIME_RE.match(part)
        if not match:
            raise ConfigError(f"--daily-update-at takes times like 03:30,09:30 (got {part!r}).")
        times.add(f"{int(match.group(1)):02d}:{match.group(2)}")
    return tuple(sorted(times))


@dataclass(frozen=True)
class DeployParams:
    prefix: Path
    user: str
    data_dir: Path
    env_file: Path = Path("/etc/bookedbiz/bookedbiz.env")
    web_port: int = 8000
    explore_host: str = "127.0.0.1"
    explore_port: int = 8001
    budget_seconds: int = 3600
    # The TLS terminator (Caddy): the names browsers use, and where certificates come from:
    # Caddy's own local CA (default), ACME with an e-mail address, or certificate files.
    server_names: tuple[str, ...] = ("bookedbiz.local",)
    acme_email: str | None = None
    tls_cert: Path | None = None
    tls_key: Path | None = None
    daily_update_at: tuple[str, ...] = ("04:30",)  # the original moved to four runs a day

    def validate(self) -> None:
        for label, path in (("--prefix", self.prefix), ("--data-dir", self.data_dir),
                            ("--env-file", self.env_file)):
            if not path.is_absolute():
                raise ConfigError(f"{label} must be an absolute path (got {path}).")
            if any(ch.isspace() for ch in str(path)):
                raise ConfigError(f"{label} must not contain spaces (got {path}).")
        if not self.user or not self.user.replace("-", "").replace("_", "").isalnum():
            raise ConfigError(f"--user must be a plain account name (got {self.user!r}).")
        if not self.server_names:
            raise ConfigError("Give at least one --server-name for the TLS site.")
        for name in self.server_names:
            if not SERVER_NAME_RE.match(name):
                raise ConfigError(f"--server-name must be a plain host name (got {name!r}).")
        if (self.tls_cert is None) != (self.tls_key is None):
            raise ConfigError("Give both --tls-cert and --tls-key, or neither.")
        if self.tls_cert is not None and self.acme_email:
            raise ConfigError("Use either certificate files or --acme-email, not both.")
        for label, path in (("--tls-cert", self.tls_cert), ("--tls-key", self.tls_key)):
            if path is not None and (not path.is_absolute() or any(c.isspace() for c in str(path))):
                raise ConfigError(f"{label} must be an absolute path without spaces (got {path}).")
        if not self.daily_update_at or any(not TIME_RE.match(t) for t in self.daily_update_at):
            raise ConfigError("--daily-update-at takes times like 03:30,09:30.")
        if self.acme_email and not EMAIL_RE.match(self.acme_email):
            raise ConfigError(f"--acme-email is not an e-mail address ({self.acme_email!r}).")

    def tls_directive(self) -> str:
        """The argument of Caddy's ``tls``: files, an ACME account e-mail, or ``internal``."""
        if self.tls_cert is not None and self.tls_key is not None:
            return f"{self.tls_cert} {self.tls_key}"
        return self.acme_email or "internal"

    def validate_data_dir(self) -> None:
        """Production check (the CLI applies it; tests render into temp folders)."""
        if str(self.data_dir).startswith(("/tmp", "/var/tmp", "/home")):
            raise ConfigError(
                "--data-dir must not be under /tmp, /var/tmp or /home: the units use "
                "PrivateTmp=yes and ProtectHome=yes, so the jobs could not see it."
            )


# Digests run this long after the import they report on: the daily one after every daily
# update, the weekly one on Monday after the first.
DIGEST_DAILY_AFTER_MINUTES = 45
DIGEST_WEEKLY_AFTER_MINUTES = 60
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def _later(at: str, minutes: int) -> tuple[int, str]:
    """('HH:MM' + minutes) → (days carried over, 'HH:MM')."""
    hour, minute = (int(part) for part in at.split(":"))
    total = hour * 60 + minute + minutes
    return total // (24 * 60), f"{total // 60 % 24:02d}:{total % 60:02d}"


def digest_calendars(daily_update_at: tuple[str, ...]) -> dict[str, str]:
    """OnCalendar= values: daily after each import, weekly on Monday after the first one."""
    daily = sorted({_later(at, DIGEST_DAILY_AFTER_MINUTES)[1] for at in daily_update_at})
    carry, weekly_at = _later(min(daily_update_at), DIGEST_WEEKLY_AFTER_MINUTES)
    return {"daily": "\nOnCalendar=".join(f"*-*-* {at}:00" for at in daily),
            "weekly": f"{WEEKDAYS[carry % 7]} *-*-* {weekly_at}:00"}


def _fill(text: str, values: dict[str, str]) -> str:
    for key, value in values.items():
        text = text.replace(f"@@{key}@@", value)
    if "@@" in text:
        raise AssertionError(f"unfilled placeholder in template: {text[text.index('@@'):][:40]}")
    return text


def render_files(params: DeployParams) -> dict[str, str]:
    """Relative path in the output folder → file content."""
    params.validate()
    data = str(params.data_dir)
    base = {
        "USER": params.user,
        "DATA": data,
        "ENV_FILE": str(params.env_file),
        "BIN": str(params.prefix / ".venv" / "bin" / "bookedbiz"),
        "WEB_PORT": str(params.web_port),
        "EXPLORE_HOST": params.explore_host,
        "EXPLORE_PORT": str(params.explore_port),
        "ALERT_SCRIPT": ALERT_SCRIPT_PATH,
        "BUDGET": str(params.budget_seconds),
        "TIMEOUT": f"{params.budget_seconds + 600}s",
        "SERVER_NAMES": ", ".join(params.server_names),
        "TLS": params.tls_directive(),
    }
    common = {"COMMON": _fill(t.SERVICE_COMMON, base), "HARDENING": _fill(t.HARDENING, base)}
    values = {**base, **common}
    files = {
        "systemd/bookedbiz-web.service": _fill(t.WEB_SERVICE, values),
        "systemd/bookedbiz-explore.service": _fill(t.EXPLORE_SERVICE, values),
        "systemd/bookedbiz-alert@.service": _fill(t.ALERT_SERVICE, values),
    }
    for job, calendar, delay in JOBS:
        if job == "daily-update":  # one OnCalendar= line per time of day
            calendar = "\nOnCalendar=".join(f"*-*-* {at}:00" for at in params.daily_update_at)
        job_values = {**values, "JOB": job, "CALENDAR": calendar,
                      "DELAY": f"RandomizedDelaySec={delay}\n" if delay else ""}
        files[f"systemd/bookedbiz-{job}.service"] = _fill(t.JOB_SERVICE, job_values)
        files[f"systemd/bookedbiz-{job}.timer"] = _fill(t.TIMER, job_values)
    for kind, calendar in digest_calendars(params.daily_update_at).items():
        unit = f"digest-{kind}"
        digest_values = {**values, "KIND": kind, "JOB": unit, "CALENDAR": calendar, "DELAY": ""}
        files[f"systemd/bookedbiz-{unit}.service"] = _fill(t.DIGEST_SERVICE, digest_values)
        files[f"systemd/bookedbiz-{unit}.timer"] = _fill(t.TIMER, digest_values)
    logs = " ".join(f"{data}/logs/{job}.log" for job in LOGGED_JOBS)
    enable = " ".join(
        ["bookedbiz-web.service", "bookedbiz-explore.service"]
        + [f"bookedbiz-{job}.timer" for job, _c, _d in JOBS]
        + ["bookedbiz-digest-daily.timer", "bookedbiz-digest-weekly.timer"]
    )
    files["etc/bookedbiz.env"] = _fill(t.ENV_FILE, values)
    files["logrotate/bookedbiz"] = _fill(t.LOGROTATE, {**values, "LOGS": logs})
    files["lib/bookedbiz-alert.sh"] = _fill(t.ALERT_SCRIPT, values)
    files["bin/bookedbiz-admin"] = _fill(t.ADMIN_WRAPPER, values)
    files["caddy/Caddyfile"] = _fill(t.CADDYFILE, values)
    files["install.sh"] = _fill(t.INSTALL_SCRIPT, {**values, "ENABLE": enable})
    return files


def write_files(files: dict[str, str], out: Path) -> list[Path]:
    """Write the rendered files; the env template gets mode 0600 even in the output folder."""
    written = []
    for rel, content in sorted(files.items()):
        path = out / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content)
        mode = 0o600 if rel.startswith("etc/") else 0o755 if rel.startswith("bin/") else 0o644
        path.chmod(mode)
        written.append(path)
    return written

"""``bookedbiz doctor``: check an installation and say, in one sentence per problem, what to fix.

The old system's docs and units drifted (env files that no longer existed, timers never installed,
a 4 KB skeleton database served for weeks). Doctor looks at the real state: the resolved paths,
the database itself, freshness of imports and backups, the lock, the alert targets, versions.
"""

from __future__ import annotations

import http.client
import os
import platform
import shutil
import sqlite3
import stat
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

from bookedbiz.config import ENV_FILE_VARIABLE, Settings, resolve_database_target
from bookedbiz.db.schema import REQUIRED_TABLES
from bookedbiz.db.server import is_server_url
from bookedbiz.deploy.listeners import is_loopback, listening_addresses
from bookedbiz.errors import BookedBizError
from bookedbiz.jobs.heartbeat import check_freshness
from bookedbiz.jobs.lock import job_lock_path, lock_holder, lock_label
from bookedbiz.jobs.records import last_runs
from bookedbiz.notify.redact import describe_url
from bookedbiz.notify.send import target_urls

PACKAGES = ("bookedbiz", "flask", "flask-login", "uvicorn", "sqlalchemy", "alembic", "click",
            "python-calamine", "dropbox", "apprise", "datasette")
MIN_FREE_BYTES = 512 * 1024 * 1024


class _NotChecked(Exception):  # noqa: N818 - control flow inside check_paths
    pass


@dataclass(frozen=True)
class Check:
    name: str
    level: str  # ok, info, warn, error
    detail: str
    fix: str = ""


def _mb(size: int) -> str:
    return f"{size / 1_048_576:.1f} MB"


def _schema_check(version: str | None, head: str, fix: str) -> Check:
    """The schema version against the one this code needs (SQLite file or server alike)."""
    if version == head:
        return Check("schema", "ok", f"version {version} (current)")
    return Check("schema", "error", f"version {version}, this code needs {head}", fix)


def _missing_tables(tables: set[str], fix: str) -> list[Check]:
    missing = [name for name in REQUIRED_TABLES if name not in tables]
    if not missing:
        return []
    return [Check("tables", "error", f"missing tables: {', '.join(missing)}", fix)]


def check_database(db_path: Path) -> list[Check]:
    from bookedbiz.db.migrate import current_version, head_version

    out = [Check("database", "ok", f"{db_path} ({_mb(db_path.stat().st_size)})")]
    try:
        version, head = current_version(db_path), head_version()
    except BookedBizError as exc:
        return [*out, Check("schema", "error", str(exc), "Restore a good backup of the database.")]
    out.append(_schema_check(version, head, "Run 'bookedbiz init' to upgrade the database schema."))
    from bookedbiz.db.access import opened

    try:  # SQLite only: the file's own integrity check
        with opened(db_path) as db, db.reading() as conn:
            result = conn.exec_driver_sql("PRAGMA quick_check").scalar()
            tables = set(conn.exec_driver_sql(
                "SELECT name FROM sqlite_master WHERE type = 'table'").scalars())
    except (BookedBizError, sqlite3.DatabaseError) as exc:
        return [*out, Check("integrity", "error", str(exc),
                            "Restore the newest verified backup ('bookedbiz sync restore').")]
    if result == "ok":
        out.append(Check("integrity", "ok", "PRAGMA quick_check = ok"))
    else:
        out.append(Check("integrity", "error", f"quick_check: {result}",
                         "Stop the services and restore the newest verified backup."))
    return [*out, *_missing_tables(
        tables, "Point DATABASE_PATH at the real database or run 'bookedbiz init'.")]


def check_server_database(raw_url: str) -> list[Check]:
    """DATABASE_URL: the server answers, the schema is current, the tables are there."""
    from bookedbiz.db.migrate import current_version, head_version
    from bookedbiz.db.server import describe, parse_database_url, server_tables

    try:
        where = describe(parse_database_url(raw_url))
        version, tables = current_version(raw_url), server_tables(raw_url)
    except BookedBizError as exc:
        return [Check("database", "error", str(exc),
                      "Start the PostgreSQL server or correct DATABASE_URL.")]
    return [Check("database", "ok", f"PostgreSQL {where}"),
            _schema_check(version, head_version(),
                          "Run 'bookedbiz init' to create or upgrade the database schema."),
            *_missing_tables(tables, "Run 'bookedbiz init' against DATABASE_URL.")]


def check_freshness_items(db_path: Path | str, settings: Settings,
                          now: datetime) -> list[Check]:
    out = []
    for item in check_freshness(db_path, settings, now):
        if item.last_at is None:
            fix = ("Run the daily update ('bookedbiz jobs run daily-update')." if item.what ==
                   "import" else "Run a backup ('bookedbiz jobs run backup').")
            out.append(Check(f"last {item.what}", "warn", item.sentence(), fix))
        elif item.stale:
            fix = (f"Check 'bookedbiz jobs status' and the {item.what} log under "
                   f"{settings.resolved_data_path() / 'logs'}, then rerun the job.")
            out.append(Check(f"last {item.what}", "error", item.sentence(), fix))
        else:
            out.append(Check(f"last {item.what}", "ok", item.sentence()))
    for run in last_runs(db_path, 1):
        if run["status"] in ("failed", "timeout"):
            out.append(Check(f"job {run['job']}", "warn",
                             f"last run {run['started_at']} {run['status']}: {run['summary']}",
                             f"Read {settings.resolved_data_path() / 'logs'}/{run['job']}.log "
                             "and rerun the job once fixed."))
    return out


def check_paths(settings: Settings, db_path: Path | None,
                server_url: str | None = None, *, server_down: bool = False) -> list[Check]:
    data = settings.resolved_data_path()
    out = [Check("data dir", "ok" if data.is_dir() else "error", str(data),
                 "" if data.is_dir() else f"Create {data} owned by the service user.")]
    if data.is_dir() and not os.access(data, os.W_OK):
        out.append(Check("data dir writable", "error", f"{data} is not writable by this user",
                         "Run as the service user (sudo bookedbiz-admin ...) or fix ownership."))
    lock = job_lock_path(settings)
    try:
        if server_down:  # said once already, under "database"
            raise _NotChecked
        holder = lock_holder(settings, server_url or db_path)
        out.append(Check("job lock", "info" if holder else "ok",
                         f"{lock_label(settings, server_url or db_path)}: "
                         + (f"held by {holder}" if holder else "free")))
    except _NotChecked:
        out.append(Check("job lock", "info", "not checked: the database server cannot be read"))
    except BookedBizError as exc:
        out.append(Check("job lock", "error", str(exc),
                         "Start the PostgreSQL server or correct DATABASE_URL."))
    if server_url is None and str(lock).startswith(("/tmp/", "/var/tmp/")):
        out.append(Check("job lock dir", "warn", f"{lock.parent} is a temporary folder",
                         "Set JOB_LOCK_DIR or DATA_PATH to a persistent folder: units use "
                         "PrivateTmp, so a /tmp lock excludes nothing."))
    target = db_path.parent if db_path else data
    if target.exists():
        free = shutil.disk_usage(target).free
        need = max(MIN_FREE_BYTES, 2 * (db_path.stat().st_size if db_path else 0))
        level = "ok" if free >= need else "error"
        out.append(Check("free disk", level, f"{_mb(free)} free on {target}",
                         "" if level == "ok" else
                         f"Free at least {_mb(need)}: a backup snapshot needs the database's "
                         "size again."))
    env_file = os.environ.get(ENV_FILE_VARIABLE)
    if env_file and Path(env_file).is_file():
        mode = stat.S_IMODE(Path(env_file).stat().st_mode)
        if mode & 0o077:
            out.append(Check("env file mode", "warn", f"{env_file} has mode {mode:04o}",
                             f"Run 'chmod 0600 {env_file}': it holds secrets."))
    return out


def check_notify(settings: Settings) -> list[Check]:
    targets = [describe_url(url) for url in target_urls(settings)]
    if not targets:
        return [Check("notifications", "warn", "no targets configured",
                      "Set NOTIFY_URLS (e.g. ntfys://ntfy.sh/<secret-topic>) so failures alert "
                      "someone, then run 'bookedbiz notify test'.")]
    return [Check("notifications", "ok", ", ".join(targets))]


def check_versions() -> list[Check]:
    parts = [f"python {platform.python_version()}", f"sqlite {sqlite3.sqlite_version}"]
    missing = []
    for name in PACKAGES:
        try:
            parts.append(f"{name} {metadata.version(name)}")
        except metadata.PackageNotFoundError:
            missing.append(name)
    out = [Check("versions", "ok", ", ".join(parts))]
    if missing:
        out.append(Check("packages", "error", f"not installed: {', '.join(missing)}",
                         "Run 'bash scripts/setup.sh main' to install the locked dependencies."))
    return out


def check_web(url_host: str = "127.0.0.1", port: int = 8000, timeout: float = 2.0) -> Check:
    """The seeds' checklist: GET / answers 302 to /reports/. Not running is only a warning."""
    conn = http.client.HTTPConnection(url_host, port, timeout=timeout)
    try:
        conn.request("GET", "/")
        response = conn.getresponse()
        location = response.getheader("Location") or ""
    except OSError:
        return Check("web", "warn", f"nothing answers on {url_host}:{port}",
                     "Start it with 'systemctl start bookedbiz-web' if it should be running.")
    finally:
        conn.close()
    if response.status in (301, 302, 303, 307, 308) and location.rstrip("/").endswith("/reports"):
        return Check("web", "ok", f"{url_host}:{port} / -> {response.status} {location}")
    return Check("web", "warn", f"{url_host}:{port} / answered {response.status} {location}",
                 "Check that port 8000 belongs to bookedbiz-web ('ss -lptn').")


def check_exposure(settings: Settings, port: int = 8000) -> list[Check]:
    """Warn when the web app listens beyond loopback: it speaks plain HTTP itself, so the
    sign-in and the session cookie would cross the network unencrypted."""
    addresses = listening_addresses(port)
    if not addresses:
        return []
    exposed = [a for a in addresses if not is_loopback(a)]
    where = ", ".join(f"[{a}]:{port}" if ":" in a else f"{a}:{port}" for a in addresses)
    if not exposed:
        detail = f"listening on {where} (loopback only)"
        if not settings.behind_tls_proxy:
            return [Check("web exposure", "info", detail + "; BEHIND_TLS_PROXY is not set",
                          "Set BEHIND_TLS_PROXY=1 when Caddy (or 'tailscale serve') is in front.")]
        return [Check("web exposure", "ok", detail + ", behind the TLS proxy")]
    return [Check("web exposure", "warn",
                  f"the web app listens on {where} over plain HTTP (no TLS): passwords and "
                  "session cookies cross the network in clear text",
                  "Serve it on 127.0.0.1 behind the TLS proxy: 'bookedbiz deploy render' "
                  "renders the web unit and caddy/Caddyfile (docs/operations.md, TLS).")]


def run_doctor(settings: Settings, db_override: Path | None, *, web_port: int = 8000,
               check_http: bool = True, now: datetime | None = None) -> list[Check]:
    now = now or datetime.now(UTC)
    checks: list[Check] = []
    db_path: Path | None = None
    server_url: str | None = None
    try:
        target = (str(db_override) if is_server_url(str(db_override or "")) else
                  resolve_database_target(settings, db_override))
        if isinstance(target, Path):
            db_path = target
        else:
            server_url = target
    except BookedBizError as exc:
        checks.append(Check("database", "error", str(exc),
                            "Set DATABASE_PATH to the real database file, or create one with "
                            "'bookedbiz init'."))
    if server_url is not None:
        checks.extend(check_server_database(server_url))
    elif db_path is not None:
        checks.extend(check_database(db_path))
    if (server_url or db_path) is not None and not any(
            c.level == "error" and c.name in ("database", "integrity", "schema", "tables")
            for c in checks):
        checks.extend(check_freshness_items(server_url or db_path, settings, now))
    server_down = server_url is not None and any(
        c.level == "error" and c.name == "database" for c in checks)
    checks.extend(check_paths(settings, db_path, server_url, server_down=server_down))
    checks.extend(check_notify(settings))
    checks.extend(check_versions())
    checks.extend(check_exposure(settings, web_port))
    if check_http:
        checks.append(check_web(port=web_port))
    return checks


def doctor_exit_code(checks: list[Check]) -> int:
    return 1 if any(c.level == "error" for c in checks) else 0


def render_checks(checks: list[Check]) -> str:
    lines = []
    for c in checks:
        lines.append(f"{c.level.upper():<5} {c.name}: {c.detail}")
        if c.fix and c.level in ("warn", "error"):
            lines.append(f"      fix: {c.fix}")
    problems = sum(c.level == "error" for c in checks)
    warnings = sum(c.level == "warn" for c in checks)
    lines.append(f"\n{problems} problem(s), {warnings} warning(s).")
    return "\n".join(lines)


def checks_as_dicts(checks: list[Check]) -> list[dict[str, str]]:
    return [asdict(c) for c in checks]

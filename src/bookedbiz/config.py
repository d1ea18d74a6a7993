"""Typed settings read from the environment and an env file, validated at start-up.

One resolver (:func:`resolve_database_path`) decides which database every component uses, and
refuses a path that does not exist unless the caller is allowed to create one (``init``/``demo``).
"""

from __future__ import annotations

import copy
import dataclasses
import os
from functools import lru_cache
from pathlib import Path
from typing import Any

from bookedbiz.errors import ConfigError, NotFoundError

ENV_FILE_VARIABLE = "BOOKEDBIZ_ENV_FILE"


class SettingError(ValueError):
    """One setting's value is unusable; ``str()`` is the reason, worded as before."""

    def __init__(self, name: str, message: str):
        super().__init__(message)
        self.name = name


def Field(default: Any = None, *, ge: float | None = None, gt: float | None = None,  # noqa: N802
          le: float | None = None, lt: float | None = None, description: str = "") -> Any:
    """A setting with bounds (the pydantic spelling, so adding a setting reads the same)."""
    bounds = {k: v for k, v in (("ge", ge), ("gt", gt), ("le", le), ("lt", lt)) if v is not None}
    return dataclasses.field(default=default, metadata={"bounds": bounds,
                                                        "description": description})


_TRUE = {"1", "true", "t", "yes", "y", "on"}
_FALSE = {"0", "false", "f", "no", "n", "off"}
_BOUND_TEXT = {"ge": "greater than or equal to", "gt": "greater than",
               "le": "less than or equal to", "lt": "less than"}
_BOUND_OK = {"ge": lambda v, b: v >= b, "gt": lambda v, b: v > b,
             "le": lambda v, b: v <= b, "lt": lambda v, b: v < b}


def _convert(spec: dataclasses.Field, value: Any) -> Any:
    """The value as the field's type (strings from the environment or an env file)."""
    kind = str(spec.type).replace(" ", "")
    optional = kind.endswith("|None")
    kind = kind.removesuffix("|None")
    if value is None or (optional and isinstance(value, str) and not value.strip()):
        if optional:
            return None
        value = ""
    if kind == "Path":
        return Path(value)
    if kind == "str":
        return str(value)
    if kind == "bool":
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in _TRUE or text in _FALSE:
            return text in _TRUE
        raise SettingError(spec.name, "Input should be a valid boolean, unable to interpret input")
    if kind == "int":
        try:
            number: float = value if isinstance(value, int) and not isinstance(value, bool) \
                else int(str(value).strip())
        except ValueError:
            raise SettingError(spec.name, "Input should be a valid integer, unable to parse "
                                          "string as an integer") from None
    elif kind == "float":
        try:
            number = float(value if isinstance(value, int | float) else str(value).strip())
        except ValueError:
            raise SettingError(spec.name, "Input should be a valid number, unable to parse "
                                          "string as a number") from None
    else:  # pragma: no cover - a new setting of a type this loader does not know yet
        raise TypeError(f"setting {spec.name}: unsupported type {spec.type}")
    for bound, limit in spec.metadata.get("bounds", {}).items():
        if not _BOUND_OK[bound](number, limit):
            shown = int(limit) if float(limit).is_integer() else limit
            raise SettingError(spec.name, f"Input should be {_BOUND_TEXT[bound]} {shown}")
    return number


def _read_env_file(path: Path | str) -> dict[str, str]:
    from dotenv import dotenv_values  # only when there is an env file

    return {k.lower(): v for k, v in dotenv_values(path).items() if v is not None}


class _EnvSettings:
    """Environment variables (any case), an optional env file below them, explicit values
    above both; unknown names are ignored, every value converted and checked."""

    def __init__(self, _env_file: Path | str | None = None, **values: Any):
        specs = {spec.name: spec for spec in dataclasses.fields(self)}  # type: ignore[arg-type]
        raw: dict[str, Any] = _read_env_file(_env_file) if _env_file else {}
        raw.update({k.lower(): v for k, v in os.environ.items() if k.lower() in specs})
        raw.update(values)
        for name, spec in specs.items():
            value = _convert(spec, raw[name]) if name in raw else copy.copy(spec.default)
            object.__setattr__(self, name, value)
        self._check()

    def _check(self) -> None:
        """Rules across or beyond bounds (override to add one)."""

    def model_copy(self, update: dict[str, Any] | None = None) -> Any:
        """A copy with some values replaced (checked like the rest)."""
        clone = copy.copy(self)
        specs = {spec.name: spec for spec in dataclasses.fields(self)}  # type: ignore[arg-type]
        for name, value in (update or {}).items():
            setattr(clone, name, _convert(specs[name], value))
        clone._check()
        return clone


@dataclasses.dataclass(init=False)
class Settings(_EnvSettings):
    """Everything an operator can set; names match the seeds' environment files.

    A plain dataclass read by a small loader (pydantic-settings cost every command ~0.2 s of
    start-up); ``Settings(name=value)`` also reads the environment, like before."""

    database_path: Path | None = Field(default=None, description="SQLite database file")
    # PostgreSQL for a station group (SPEC §4): postgresql+psycopg://user:password@host:port/db
    # selects the server instead of DATABASE_PATH; it holds a password: secret
    database_url: str | None = Field(default=None, description="PostgreSQL server URL")
    data_path: Path | None = Field(default=None, description="data directory (raw logs, locks)")
    daily_update_data_file: Path | None = None
    daily_update_source: Path | None = None
    # Daily logs in DATA_PATH/raw/daily kept as they are this many days, then zipped by month
    daily_log_keep_days: int = Field(default=14, ge=1)
    secret_key: str | None = None
    # Web: mark session cookies Secure (set when the app is served over https)
    session_cookie_secure: bool = False
    # Behind the local TLS terminator (deploy render): Secure cookies, HSTS, and the client
    # address from X-Forwarded-For of loopback peers only (web/tls_proxy.py)
    behind_tls_proxy: bool = False
    web_upload_max_mib: int = Field(default=50, ge=1, le=1024)

    # Import behaviour
    broadcast_timezone: str = "America/Los_Angeles"
    # Each workbook is parsed in a child process held to these (SPEC §3 "Untrusted files")
    import_memory_mib: int = Field(default=1024, ge=64, le=65536)
    import_time_budget_seconds: float = Field(default=300.0, gt=0)
    # The station's own calendar: an import without --as-of or a dated file name is "today" here
    station_timezone: str = "America/Los_Angeles"
    # The station an import belongs to when --station is not given (SPEC §4: a station group
    # shares one database; a single station keeps the seeded MAIN)
    station_code: str = "MAIN"

    # Notifications (Apprise URLs, comma or space separated)
    notify_urls: str = ""
    ntfy_topic: str | None = None
    slack_webhook_url: str | None = None
    # Digests by e-mail: an Apprise mailto:// or mailtos:// URL of the mail server without
    # recipients (each user's own address is added per message); it holds a password: secret
    mail_url: str | None = None

    # Backup
    dropbox_app_key: str | None = None
    dropbox_app_secret: str | None = None
    dropbox_refresh_token: str | None = None
    dropbox_access_token: str | None = None
    dropbox_db_path: str = "/database.db"
    dropbox_backup_folder: str = "/backups"
    backup_local_dir: Path | None = None
    backup_keep_daily: int = Field(default=7, ge=1)
    backup_keep_weekly: int = Field(default=4, ge=0)
    backup_keep_monthly: int = Field(default=12, ge=0)
    backup_max_shrink: float = Field(default=0.2, ge=0.0, le=1.0)
    backup_chunk_mib: int = Field(default=8, ge=4, le=148)
    dropbox_ca_certs: Path | None = None  # CA bundle for the Dropbox SDK (tests, proxies)
    dropbox_timeout_seconds: float = Field(default=100.0, gt=0)
    backup_retries: int = Field(default=5, ge=0, le=20)
    backup_retry_seconds: float = Field(default=2.0, ge=0)

    # Jobs and monitoring
    heartbeat_max_age_hours: float = Field(default=26.0, gt=0)
    job_time_budget_seconds: int = Field(default=3600, gt=0)
    job_lock_dir: Path | None = Field(default=None, description="e.g. /run/bookedbiz")
    notify_timeout_seconds: float = Field(default=10.0, gt=0)
    notify_success: bool = True

    def _check(self) -> None:
        if self.backup_chunk_mib % 4:
            raise SettingError("backup_chunk_mib",
                               "Value error, BACKUP_CHUNK_MIB must be a multiple of 4")

    def resolved_data_path(self) -> Path:
        """The data directory: DATA_PATH, else the database's folder, else ./data."""
        if self.data_path is not None:
            return self.data_path.expanduser()
        if self.database_path is not None:
            return self.database_path.expanduser().resolve().parent
        return Path("data").resolve()


def _env_file() -> Path | None:
    explicit = os.environ.get(ENV_FILE_VARIABLE)
    if explicit:
        path = Path(explicit).expanduser()
        if not path.is_file():
            raise ConfigError(f"The env file {path} named by {ENV_FILE_VARIABLE} does not exist.")
        return path
    local = Path(".env")
    return local if local.is_file() else None


def load_settings(**overrides: object) -> Settings:
    """Read settings; a bad value becomes one ConfigError sentence naming the variable."""
    try:
        env_file = _env_file()
        values = {k: v for k, v in overrides.items() if v is not None}
        return Settings(_env_file=env_file, **values)  # type: ignore[call-arg]
    except SettingError as exc:
        raise ConfigError(
            f"Invalid configuration value for {exc.name.upper()}: {exc}."
        ) from None


@lru_cache(maxsize=1)
def cached_settings() -> Settings:
    return load_settings()


def resolve_database_target(
    settings: Settings, override: str | Path | None = None, *, must_exist: bool = True
) -> Path | str:
    """The database a command that runs on both uses: ``--db`` beats DATABASE_URL (a server
    URL, returned as text) beats DATABASE_PATH. ``--db`` may itself be a URL."""
    if isinstance(override, str) and "://" in override:
        return override
    if override is None and settings.database_url:
        if "://" not in settings.database_url:  # the rest is checked by db/server.py
            raise ConfigError("DATABASE_URL is not a database URL; write it as "
                              "postgresql+psycopg://user:password@host:5432/database.")
        return settings.database_url
    return resolve_database_path(settings, override, must_exist=must_exist)


def resolve_database_path(
    settings: Settings, override: str | Path | None = None, *, must_exist: bool = True
) -> Path:
    """The one database-path resolver: ``--db`` beats DATABASE_PATH; no silent new databases."""
    if override is None and settings.database_url:
        raise ConfigError("DATABASE_URL selects PostgreSQL, which this command does not support "
                          "yet (init and doctor do); pass --db PATH to use a SQLite file.")
    raw = override if override is not None else settings.database_path
    if raw is None or str(raw).strip() == "":
        raise ConfigError("No database configured: set DATABASE_PATH or pass --db PATH.")
    if "://" in str(raw) or str(raw).startswith(("postgresql", "postgres:")):
        # a URL (never echoed: it may hold a password) where only a file will do
        raise ConfigError("This command works on a SQLite file only; pass --db PATH.")
    path = Path(raw).expanduser()
    if must_exist:
        if path.is_dir():
            raise ConfigError(f"The database path {path} is a directory, not a database file.")
        if not path.is_file():
            raise NotFoundError(
                f"The database {path} does not exist; create it with 'bookedbiz init --db {path}'."
            )
    elif not path.parent.exists():
        raise NotFoundError(f"The folder {path.parent} for the database does not exist.")
    return path

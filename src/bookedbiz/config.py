"""Typed settings read from the environment and an env file, validated at start-up.

One resolver (:func:`resolve_database_path`) decides which database every component uses, and
refuses a path that does not exist unless the caller is allowed to create one (``init``/``demo``).
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from bookedbiz.errors import ConfigError, NotFoundError

ENV_FILE_VARIABLE = "BOOKEDBIZ_ENV_FILE"


class Settings(BaseSettings):
    """Everything an operator can set; names match the seeds' environment files."""

    model_config = SettingsConfigDict(extra="ignore", case_sensitive=False)

    database_path: Path | None = Field(default=None, description="SQLite database file")
    data_path: Path | None = Field(default=None, description="data directory (raw logs, locks)")
    daily_update_data_file: Path | None = None
    daily_update_source: Path | None = None
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

    # Notifications (Apprise URLs, comma or space separated)
    notify_urls: str = ""
    ntfy_topic: str | None = None
    slack_webhook_url: str | None = None

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

    @field_validator("backup_chunk_mib")
    @classmethod
    def _chunk_multiple_of_four(cls, value: int) -> int:
        if value % 4:
            raise ValueError("BACKUP_CHUNK_MIB must be a multiple of 4")
        return value

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
    except ValidationError as exc:
        first = exc.errors()[0]
        name = str(first["loc"][0]).upper() if first.get("loc") else "setting"
        raise ConfigError(f"Invalid configuration value for {name}: {first['msg']}.") from None


@lru_cache(maxsize=1)
def cached_settings() -> Settings:
    return load_settings()


def resolve_database_path(
    settings: Settings, override: str | Path | None = None, *, must_exist: bool = True
) -> Path:
    """The one database-path resolver: ``--db`` beats DATABASE_PATH; no silent new databases."""
    raw = override if override is not None else settings.database_path
    if raw is None or str(raw).strip() == "":
        raise ConfigError("No database configured: set DATABASE_PATH or pass --db PATH.")
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

"""Pieces every command shares: the --db option, settings, and error-to-exit-code handling."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from bookedbiz.config import Settings, load_settings, resolve_database_path
from bookedbiz.errors import EXIT_FAILURE, BookedBizError

F = TypeVar("F", bound=Callable[..., Any])


def db_option(func: F) -> F:
    """``--db PATH`` on every command; falls back to DATABASE_PATH."""
    return click.option(
        "--db",
        "db_path",
        type=click.Path(dir_okay=False, path_type=Path),
        default=None,
        help="SQLite database file (default: $DATABASE_PATH).",
    )(func)


def settings() -> Settings:
    ctx = click.get_current_context()
    root = ctx.find_root()
    cached = root.meta.get("bookedbiz.settings")
    if cached is None:
        cached = load_settings()
        root.meta["bookedbiz.settings"] = cached
    return cached


def database_path(db_path: Path | None, *, must_exist: bool = True) -> Path:
    """Resolve the database for a command (refusing a missing file unless ``must_exist=False``)."""
    return resolve_database_path(settings(), db_path, must_exist=must_exist)


def fail(message: str, code: int = EXIT_FAILURE) -> None:
    click.echo(f"Error: {message}", err=True)
    sys.exit(code)


def handle_errors(func: F) -> F:
    """Show a BookedBizError as one sentence on stderr and exit with its code; no tracebacks."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except BookedBizError as exc:
            fail(str(exc), exc.exit_code)
        except KeyboardInterrupt:
            fail("Interrupted; nothing was committed by the interrupted step.", 130)

    return wrapper  # type: ignore[return-value]

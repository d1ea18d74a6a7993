"""Errors that carry one clear sentence for the user and an exit code.

Every layer raises these instead of printing; the CLI and the web layer turn them into a message
and a status code, so the same failure reads the same everywhere.
"""

from __future__ import annotations

# Exit codes shared by every command (documented in docs/operations.md).
EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2
EXIT_VERIFY_FAILED = 3
EXIT_NOT_FOUND = 4
EXIT_LOCK_BUSY = 75


class BookedBizError(Exception):
    """A failure the user can act on; ``str(err)`` is the sentence to show."""

    exit_code = EXIT_FAILURE

    def __init__(self, message: str, *, exit_code: int | None = None):
        super().__init__(message)
        if exit_code is not None:
            self.exit_code = exit_code


class ConfigError(BookedBizError):
    exit_code = EXIT_USAGE


class NotFoundError(BookedBizError):
    exit_code = EXIT_NOT_FOUND


class DatabaseBusyError(BookedBizError):
    exit_code = EXIT_LOCK_BUSY


class WorkbookError(BookedBizError):
    """The file is not a usable commercial log (not xlsx, corrupt, wrong layout)."""


class ImportFailed(BookedBizError):
    """The import ran but must not be committed (strict rejects, every row rejected, ...)."""


class VerificationError(BookedBizError):
    exit_code = EXIT_VERIFY_FAILED

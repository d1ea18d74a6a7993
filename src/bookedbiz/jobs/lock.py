"""One exclusive lock for every scheduled job (and for restore), held with ``fcntl.flock``.

The lock file lives in a persistent, shared directory: the data directory's ``locks/`` folder,
or JOB_LOCK_DIR (e.g. ``/run/bookedbiz``). The system we replace locked a file in ``/tmp`` under
``PrivateTmp=yes``, so a manual run and the timer never saw the same file and nothing was
excluded. flock locks die with the process, so a crashed job never leaves a stale lock.
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import socket
from dataclasses import dataclass
from pathlib import Path

from bookedbiz.config import Settings
from bookedbiz.db.connection import utc_now
from bookedbiz.errors import EXIT_LOCK_BUSY, BookedBizError, ConfigError

LOCK_NAME = "bookedbiz-jobs.lock"


class LockBusyError(BookedBizError):
    exit_code = EXIT_LOCK_BUSY


def job_lock_path(settings: Settings) -> Path:
    """``<JOB_LOCK_DIR or data dir/locks>/bookedbiz-jobs.lock`` — the same path for every caller."""
    folder = settings.job_lock_dir or settings.resolved_data_path() / "locks"
    return Path(folder).expanduser() / LOCK_NAME


def lock_is_held(settings: Settings) -> bool:
    """True if some process holds the job lock right now (probe with LOCK_NB, then release)."""
    path = job_lock_path(settings)
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return False
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                return True
            raise
        fcntl.flock(fd, fcntl.LOCK_UN)
        return False
    finally:
        os.close(fd)


def lock_holder(settings: Settings) -> dict[str, object] | None:
    """What the current holder wrote into the lock file (job, pid, host, since), if held."""
    if not lock_is_held(settings):
        return None
    try:
        return json.loads(job_lock_path(settings).read_text() or "{}")
    except (OSError, ValueError):
        return {}


@dataclass
class JobLock:
    """``with JobLock(settings, "backup"):`` — raises LockBusyError at once if another holds it."""

    settings: Settings
    owner: str
    _fd: int | None = None

    @property
    def path(self) -> Path:
        return job_lock_path(self.settings)

    def acquire(self) -> None:
        path = self.path
        if os.environ.get("INVOCATION_ID") and str(path).startswith(("/tmp/", "/var/tmp/")):
            # INVOCATION_ID is set by systemd: with PrivateTmp=yes this /tmp is ours alone
            raise ConfigError(
                f"The job lock {path} is in a temporary folder that systemd makes private to "
                "this unit, so it would exclude nothing; set DATA_PATH or JOB_LOCK_DIR to a "
                "persistent folder."
            )
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o664)
        except OSError as exc:
            raise BookedBizError(
                f"Cannot open the job lock file {path} ({exc.strerror}); make its folder "
                "writable for the service user."
            ) from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            os.close(fd)
            if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                raise LockBusyError(
                    f"Another job holds the lock {path}; {self.owner} was skipped."
                ) from None
            raise
        info = {"job": self.owner, "pid": os.getpid(), "host": socket.gethostname(),
                "since": utc_now()}
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(info).encode(), 0)
        self._fd = fd

    def release(self) -> None:
        if self._fd is None:
            return
        try:
            os.ftruncate(self._fd, 0)
            fcntl.flock(self._fd, fcntl.LOCK_UN)
        finally:
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> JobLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()

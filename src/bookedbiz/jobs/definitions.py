"""What each scheduled job runs: a list of subprocess steps, or an in-process check.

Steps run as ``python -m bookedbiz ...`` subprocesses so a crash, a hang or a leaked thread in a
step cannot take the runner (which must record and alert) down with it. The registry is a plain
dict so tests and future jobs can add definitions.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from bookedbiz.config import Settings
from bookedbiz.errors import ConfigError


@dataclass(frozen=True)
class Step:
    name: str
    argv: tuple[str, ...]
    # Run even if an earlier step failed (a dated backup is still worth having after a failed
    # upload); steps without it (prune) never run after a failure.
    run_after_failure: bool = False


@dataclass
class JobContext:
    settings: Settings
    db_path: Path | str  # the SQLite file, or the DATABASE_URL (never print it)
    data_dir: Path
    log_dir: Path
    emit: Callable[[str], None] = field(default=print)


StepBuilder = Callable[[JobContext, tuple[str, ...]], list[Step]]
InProcess = Callable[[JobContext, tuple[str, ...]], int]


@dataclass(frozen=True)
class JobDefinition:
    name: str
    description: str
    steps: StepBuilder | None = None
    in_process: InProcess | None = None
    uses_lock: bool = True


def bookedbiz_step(name: str, *args: str, run_after_failure: bool = False) -> Step:
    """A step that runs this installation's CLI with the same interpreter."""
    return Step(name, (sys.executable, "-m", "bookedbiz", *args), run_after_failure)


def _no_extra(job: str, extra: tuple[str, ...]) -> None:
    if extra:
        raise ConfigError(f"The {job} job takes no extra options (got {' '.join(extra)}).")


def _daily_update(ctx: JobContext, extra: tuple[str, ...]) -> list[Step]:
    # The command's own detailed log goes to a separate file: the runner's daily-update.log
    # holds the redacted console output, and two writers on one file interleave and duplicate.
    detail = ctx.log_dir / "daily-update.detail.log"
    return [
        bookedbiz_step(
            "daily-update",
            "daily-update", "--auto-setup", "--unattended", "--log-file", str(detail), *extra,
        ),
        # Older logs into their month's zip (never deleted: 'history backfill' needs them).
        bookedbiz_step("archive-logs", "jobs", "archive-logs", run_after_failure=True),
        # Last, so its one line (what changed on the books since the previous import, largest
        # first) is the summary the success alert carries. Skipped after a failure.
        bookedbiz_step("changes", "report", "changes", "--format", "alert"),
    ]


def _backup(ctx: JobContext, extra: tuple[str, ...]) -> list[Step]:
    _no_extra("backup", extra)
    return [
        bookedbiz_step("upload", "sync", "upload"),
        bookedbiz_step("backup", "sync", "backup", run_after_failure=True),
        bookedbiz_step("prune", "sync", "prune"),
        # The daily logs too, so the booking history can be rebuilt after a disaster.
        bookedbiz_step("logs", "sync", "logs", run_after_failure=True),
    ]


def _heartbeat_check(ctx: JobContext, extra: tuple[str, ...]) -> int:
    from bookedbiz.jobs.heartbeat import check_freshness, heartbeat_report

    _no_extra("heartbeat-check", extra)
    code, text = heartbeat_report(check_freshness(ctx.db_path, ctx.settings))
    for line in text.splitlines():
        ctx.emit(line)
    return code


JOBS: dict[str, JobDefinition] = {}


def register_job(definition: JobDefinition) -> None:
    JOBS[definition.name] = definition


register_job(JobDefinition(
    "daily-update",
    "import today's commercial log and assign languages (exit 1 if any required step failed)",
    steps=_daily_update,
))
register_job(JobDefinition(
    "backup", "upload a verified snapshot, keep a dated copy, then prune", steps=_backup,
))
register_job(JobDefinition(
    "heartbeat-check",
    "alert when the last import or backup is older than HEARTBEAT_MAX_AGE_HOURS",
    in_process=_heartbeat_check,
    uses_lock=False,  # read-only; must not be skipped while a long backup holds the lock
))

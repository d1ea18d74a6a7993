"""Run one scheduled job so that it can never fail silently.

resolve and validate configuration → take the job lock (busy: exit 75, status 'skipped') → run
the steps as subprocesses within a time budget (overrun: killed, status 'timeout', exit 124) →
append the redacted output to ``<data>/logs/<job>.log`` → record the outcome in ``job_runs``
and ``<data>/heartbeats/<job>.json`` → notify (a failed notification is logged, never changes
the result) → return the job's own exit code. Every failure path, including bad configuration,
reaches the notify step.
"""

from __future__ import annotations

import collections
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from bookedbiz.config import Settings, resolve_database_target
from bookedbiz.db.connection import utc_now
from bookedbiz.db.server import is_server_url
from bookedbiz.errors import BookedBizError, ConfigError
from bookedbiz.jobs import records
from bookedbiz.jobs.definitions import JOBS, JobContext, JobDefinition, Step
from bookedbiz.jobs.lock import JobLock, LockBusyError
from bookedbiz.notify import Level, Message, Redactor, failure_body, send_message, tail_lines

EXIT_TIMEOUT = 124
EXIT_TERMINATED = 143  # 128 + SIGTERM
SKIPPED_LINE = "skipped: another job holds the lock"
KILL_GRACE_SECONDS = 5.0


class _Terminated(Exception):  # noqa: N818 - a signal, not an error
    """SIGTERM (systemctl stop, TimeoutStartSec): record and alert before exiting."""


def _raise_terminated(signum: int, frame: object) -> None:
    raise _Terminated()


@dataclass
class RunResult:
    job: str
    status: str
    exit_code: int
    summary: str
    started_at: str
    finished_at: str = ""
    run_id: int | None = None
    notes: list[str] = field(default_factory=list)


class _Output:
    """Every line goes through redaction, then to the log file and the console."""

    def __init__(self, redactor: Redactor, console: TextIO, log_path: Path | None):
        self.redactor = redactor
        self.console = console
        self.log_path = log_path
        self.lines: collections.deque[str] = collections.deque(maxlen=200)
        self._file: TextIO | None = None
        self._guard = threading.Lock()
        if log_path is not None:
            try:
                log_path.parent.mkdir(parents=True, exist_ok=True)
                self._file = open(log_path, "a", encoding="utf-8")  # noqa: SIM115
            except OSError as exc:
                self.console.write(f"warning: cannot write the log {log_path}: {exc.strerror}\n")

    def line(self, text: str, *, runner: bool = False) -> None:
        clean = self.redactor(text.rstrip("\n"))
        stamped = f"[{utc_now()} jobs] {clean}" if runner else clean
        with self._guard:
            if not runner:
                self.lines.append(clean)  # the job's own output: summary and alert tail
            if self._file is not None:
                self._file.write(stamped + "\n")
                self._file.flush()
            self.console.write(clean + "\n")
            self.console.flush()

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


def _run_step(step: Step, env: dict[str, str], out: _Output, remaining: float) -> int | None:
    """Run one subprocess; returns its exit code, or None if it overran and was killed."""
    out.line(f"step {step.name}: {' '.join(step.argv[1:])}", runner=True)
    proc = subprocess.Popen(  # noqa: S603 - argv built from our own definitions
        list(step.argv),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env=env,
        text=True,
        errors="replace",
        bufsize=1,
        start_new_session=True,  # one process group, so an overrun kills the step's children
    )

    def pump() -> None:
        assert proc.stdout is not None
        for raw in proc.stdout:
            out.line(raw)

    reader = threading.Thread(target=pump, daemon=True)
    reader.start()
    try:
        code = proc.wait(timeout=max(0.1, remaining))
    except subprocess.TimeoutExpired:
        _kill_group(proc)
        reader.join(2)
        return None
    except BaseException:
        _kill_group(proc)  # terminated ourselves: never leave the step running unrecorded
        raise
    reader.join(5)
    return code


def _kill_group(proc: subprocess.Popen[str]) -> None:
    for sig, wait in ((signal.SIGTERM, KILL_GRACE_SECONDS), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue


def _summary(result: RunResult, out: _Output, failed_step: str | None) -> str:
    last = next((line for line in reversed(out.lines) if line.strip()), "")
    if result.status == "success":
        return (last or "completed")[:500]
    if result.status == "timeout":
        return f"step '{failed_step}' overran the time budget and was killed"
    prefix = f"step '{failed_step}' exited with {result.exit_code}" if failed_step else ""
    return "; ".join(part for part in (prefix, last[:400]) if part) or "failed"


def run_job(
    name: str,
    extra: tuple[str, ...] = (),
    *,
    settings: Settings,
    db_override: str | Path | None = None,
    budget_seconds: float | None = None,
    console: TextIO | None = None,
    notifier: Callable[[Message, Settings], object] = send_message,
) -> RunResult:
    """Run job ``name`` end to end and return its outcome (never raises a BookedBizError)."""
    console = console or sys.stdout
    redactor = Redactor(settings)
    started = utc_now()
    result = RunResult(name, "failed", 1, "", started)
    out: _Output | None = None
    lock: JobLock | None = None
    data_dir: Path | None = None
    db_path: Path | str | None = None  # the SQLite file or the DATABASE_URL
    in_main = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _raise_terminated) if in_main else None
    try:
        definition = JOBS.get(name)
        if definition is None:
            raise ConfigError(f"Unknown job {name!r}; choose one of {', '.join(sorted(JOBS))}.")
        db_path = (str(db_override) if is_server_url(str(db_override or "")) else
                   resolve_database_target(settings, db_override))
        data_dir = settings.resolved_data_path()
        log_dir = data_dir / "logs"
        out = _Output(redactor, console, log_dir / f"{name}.log")
        out.line(f"=== {name} started on {socket.gethostname()} (pid {os.getpid()}) ===",
                 runner=True)
        if definition.uses_lock:
            lock = JobLock(settings, name, database=db_path)
            lock.acquire()
        ctx = JobContext(settings, db_path, data_dir, log_dir, emit=out.line)
        try:
            result.run_id = records.start_run(
                db_path, name, started, abandon_running=definition.uses_lock
            )
        except BookedBizError as exc:
            out.line(f"warning: could not record the start in the database: {exc}", runner=True)
        _execute(definition, ctx, extra, result, out, budget_seconds or
                 settings.job_time_budget_seconds)
    except LockBusyError as exc:
        result.status, result.exit_code = "skipped", exc.exit_code
        result.summary = f"{SKIPPED_LINE} ({exc})"
        assert out is not None  # the lock is taken after the log is opened
        out.line(SKIPPED_LINE)
    except BookedBizError as exc:
        result.exit_code = exc.exit_code
        result.summary = redactor(str(exc))
        message = f"error: {result.summary}"
        if out is not None:
            out.line(message, runner=True)
        else:
            console.write(message + "\n")
    except _Terminated:
        result.status, result.exit_code = "failed", EXIT_TERMINATED
        result.summary = "terminated by SIGTERM (service stopped or systemd timeout)"
        console.write(f"error: {result.summary}\n")
    except Exception as exc:  # noqa: BLE001 - the runner itself must still record and alert
        result.exit_code = 1
        result.summary = redactor(f"the job runner crashed: {type(exc).__name__}: {exc}")
        console.write(f"error: {result.summary}\n")
    finally:
        if in_main:
            signal.signal(signal.SIGTERM, previous)
        result.finished_at = utc_now()
        try:
            _record(result, settings, db_path, data_dir, out)
        finally:
            if lock is not None:
                lock.release()
    _notify(result, settings, out, notifier, console)
    if out is not None:
        out.line(f"=== {name} finished: {result.status} (exit {result.exit_code}) ===",
                 runner=True)
        out.close()
    return result


def _execute(definition: JobDefinition, ctx: JobContext, extra: tuple[str, ...],
             result: RunResult, out: _Output, budget: float) -> None:
    deadline = time.monotonic() + budget
    if definition.in_process is not None:
        code = definition.in_process(ctx, extra)
        result.status, result.exit_code = ("success" if code == 0 else "failed"), code
        result.summary = _summary(result, out, None if code == 0 else definition.name)
        return
    assert definition.steps is not None
    steps = definition.steps(ctx, extra)
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "BOOKEDBIZ_JOB": definition.name}
    if isinstance(ctx.db_path, Path):
        env["DATABASE_PATH"] = str(ctx.db_path)
        env.pop("DATABASE_URL", None)  # --db PATH beats the configured server for every step
    else:
        env["DATABASE_URL"] = str(ctx.db_path)
    failed_step: str | None = None
    first_code = 0
    for step in steps:
        if failed_step and not step.run_after_failure:
            out.line(f"step {step.name}: not run because step '{failed_step}' failed",
                     runner=True)
            continue
        remaining = deadline - time.monotonic()
        code = _run_step(step, env, out, remaining) if remaining > 0 else None
        if code is None:
            out.line(f"step {step.name}: killed after the {budget:g} s budget", runner=True)
            result.status, result.exit_code = "timeout", EXIT_TIMEOUT
            result.summary = _summary(result, out, step.name)
            return
        out.line(f"step {step.name}: exit {code}", runner=True)
        if code != 0 and failed_step is None:
            failed_step, first_code = step.name, code
    result.exit_code = first_code
    result.status = "success" if failed_step is None else "failed"
    result.summary = _summary(result, out, failed_step)


def _record(result: RunResult, settings: Settings, db_path: Path | str | None,
            data_dir: Path | None, out: _Output | None) -> None:
    """Write job_runs and the heartbeat file; a failure to record is reported, not hidden."""
    note = (out.line if out else lambda text, **_: None)
    if db_path is not None and (not isinstance(db_path, Path) or db_path.is_file()):
        try:
            result.run_id = records.finish_run(
                db_path, result.run_id, result.job, result.started_at, result.finished_at,
                result.status, result.exit_code, result.summary,
            )
        except BookedBizError as exc:
            result.notes.append(f"could not record the outcome in the database: {exc}")
            note(f"warning: {result.notes[-1]}", runner=True)
    folder = data_dir or settings.resolved_data_path()
    try:
        records.write_heartbeat(folder, result.job, {
            "job": result.job, "status": result.status, "exit_code": result.exit_code,
            "started_at": result.started_at, "finished_at": result.finished_at,
            "summary": result.summary, "run_id": result.run_id,
            "host": socket.gethostname(), "pid": os.getpid(),
        })
    except OSError as exc:
        result.notes.append(f"could not write the heartbeat file in {folder}: {exc.strerror}")
        note(f"warning: {result.notes[-1]}", runner=True)


def build_message(result: RunResult, settings: Settings, log_lines: list[str]) -> Message | None:
    host = socket.gethostname()
    when = f"started {result.started_at}, ended {result.finished_at}"
    extra = "".join(f"\n{note}" for note in result.notes)
    if result.status == "success":
        if not settings.notify_success:
            return None
        return Message(f"BookedBiz {result.job} OK on {host}",
                       f"{result.summary}\n{when}{extra}", Level.SUCCESS)
    if result.status == "skipped":
        return Message(f"BookedBiz {result.job} skipped on {host}",
                       f"{result.summary}\n{when}{extra}", Level.WARNING, priority="low")
    summary = (f"{result.job} {result.status.upper()} (exit {result.exit_code}) on {host}: "
               f"{result.summary}\n{when}{extra}")
    return Message(f"BookedBiz {result.job} FAILED on {host}",
                   failure_body(summary, tail_lines(log_lines)), Level.FAILURE)


def _notify(result: RunResult, settings: Settings, out: _Output | None,
            notifier: Callable[[Message, Settings], object], console: TextIO) -> None:
    message = build_message(result, settings, list(out.lines) if out else [])
    if message is None:
        return
    say = (lambda text: out.line(text, runner=True)) if out else (
        lambda text: console.write(text + "\n"))
    try:
        deliveries = notifier(message, settings) or []
    except Exception as exc:  # noqa: BLE001 - never let alerting change the job's result
        say(f"notification failed: {type(exc).__name__}: {exc}")
        return
    if not deliveries:
        say("notification: no targets configured (set NOTIFY_URLS)")
    for delivery in deliveries:  # type: ignore[attr-defined]
        state = "delivered" if delivery.ok else f"FAILED: {delivery.detail}"
        say(f"notification to {delivery.target}: {state}")

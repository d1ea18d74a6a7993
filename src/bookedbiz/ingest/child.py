"""Parsing an untrusted workbook in a child process with a memory limit and a time budget.

The readers are native code that trusts the file (a hostile sheet once made one allocate 512 GB
and abort the whole web server). So every import (CLI, daily job, web upload) reads its workbook
in a child: the guard's checks and the parse run there under ``RLIMIT_AS`` (address space above
what the child started with) and ``RLIMIT_CPU``, and the parent stops waiting after a wall-clock
budget. Rows come back in pickled batches through a pipe while the parent writes them, so the
database work and its one-transaction guarantee stay in the parent, and a file that kills the
child costs that child only: the parent gets one clear sentence.

The child is a plain ``fork()`` when the parent has one thread (the CLI: no interpreter start-up),
else a fresh interpreter started with ``posix_spawn`` (the web server has threads, and forking a
threaded process can inherit a lock held by another thread).
"""

from __future__ import annotations

import datetime
import json
import logging
import os
import pickle
import resource
import select
import signal
import struct
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

from bookedbiz.errors import BookedBizError, WorkbookError
from bookedbiz.ingest.guard import DEFAULT_LIMITS, GuardLimits, inspect_workbook

log = logging.getLogger("bookedbiz.ingest")

BATCH_ROWS = 2_000
FIRST_BATCH_ROWS = 200
MAX_FRAME_BYTES = 64 << 20
_FRAME = struct.Struct("<I")
_EXIT_OK, _EXIT_MEMORY, _EXIT_CRASH = 0, 3, 4
_PIPE_BYTES = 1 << 20
_SETPIPE_SZ = 1031  # fcntl.F_SETPIPE_SZ (Linux), absent from fcntl before Python 3.10 builds


@dataclass(frozen=True)
class ParseLimits:
    """What reading one workbook may cost: memory above the child's start, wall-clock seconds
    spent waiting for it, and the guard's limits on the file itself."""

    memory_mib: int = 1024
    seconds: float = 300.0
    guard: GuardLimits = field(default=DEFAULT_LIMITS)
    # Consecutive empty rows inside a sheet's data (padding a reader invents for a far cell).
    max_blank_run: int = 20_000
    # A batch of a real log is ~0.1-0.3 MB; one this large is refused rather than held.
    max_frame_bytes: int = MAX_FRAME_BYTES

    def to_json(self) -> str:
        """The limits as one argument for a spawned child, so it obeys exactly what a forked
        child inherits (the guard's limits included)."""
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> ParseLimits:
        values = json.loads(text)
        return cls(**{**values, "guard": GuardLimits(**values["guard"])})


def default_limits() -> ParseLimits:
    """The limits from the settings (IMPORT_MEMORY_MIB, IMPORT_TIME_BUDGET_SECONDS)."""
    from bookedbiz.config import load_settings

    config = load_settings()
    return ParseLimits(memory_mib=config.import_memory_mib,
                       seconds=float(config.import_time_budget_seconds))


# --- the child side ------------------------------------------------------------------------


def _vm_size() -> int:
    try:
        with open("/proc/self/statm", "rb") as handle:
            return int(handle.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0


def _apply_limits(limits: ParseLimits) -> None:
    """Address space: what the child already maps plus the budget (a forked child inherits the
    parent's mappings). CPU: the wall-clock budget, as a backstop the parent does not need."""
    _lower_limit(resource.RLIMIT_AS, _vm_size() + limits.memory_mib * (1 << 20), 0)
    _lower_limit(resource.RLIMIT_CPU, int(limits.seconds) + 1, 5)


def _lower_limit(which: int, soft: int, slack: int) -> None:
    """Set a limit, never above one the service manager already imposes (raising it fails)."""
    _current, hard = resource.getrlimit(which)
    new_hard = soft + slack
    if hard != resource.RLIM_INFINITY:
        soft, new_hard = min(soft, hard), min(new_hard, hard)
    resource.setrlimit(which, (soft, new_hard))


class _Sender:
    def __init__(self, fd: int, max_frame_bytes: int = MAX_FRAME_BYTES):
        self.fd = fd
        self.max_frame_bytes = max_frame_bytes

    def send(self, message: tuple) -> None:
        data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
        if len(data) > self.max_frame_bytes:  # the parent must never hold a giant batch
            raise WorkbookError("The workbook's rows are far larger than a commercial log's "
                                f"({len(data) >> 20:,} MB for {BATCH_ROWS:,} rows); it is "
                                "refused as damaged or hostile.")
        view = memoryview(_FRAME.pack(len(data)) + data)
        while view:
            view = view[os.write(self.fd, view):]


# Cell types shared by identity within a batch: costly to rebuild, and no value of one type
# equals a value of another (numbers stay out: 1.0 == 1 == True).
_SHARED_TYPES = frozenset({str, datetime.date, datetime.datetime, datetime.time,
                           datetime.timedelta})


def _is_blank_row(cells: list[object]) -> bool:
    return all(c is None or (isinstance(c, str) and not c.strip()) for c in cells)


def _serve(path: Path, fd: int, limits: ParseLimits) -> int:
    """Check, open and stream ``path`` to ``fd``; every failure is sent as one sentence."""
    from bookedbiz.ingest.reader import parse_sheets

    out = _Sender(fd, limits.max_frame_bytes)
    try:
        kind = inspect_workbook(path, limits.guard).kind
        sheets = parse_sheets(path, kind)
        out.send(("sheets", [name for name, _rows in sheets]))
        guard = limits.guard
        # Equal values in a batch become one object, so pickle sends each once and the parent
        # rebuilds each once (a log repeats its dates, names and rates thousands of times).
        memo: dict[object, object] = {}
        share, shared = memo.setdefault, _SHARED_TYPES
        max_columns, max_blank_run = guard.max_columns, limits.max_blank_run
        batch_rows = FIRST_BATCH_ROWS  # a small first batch: the parent starts work sooner
        for index, (name, rows) in enumerate(sheets):
            batch: list[tuple[int, list[object]]] = []
            blank_run = 0
            for number, cells in rows:
                if len(cells) > max_columns:
                    raise WorkbookError(
                        f"Sheet '{name}' of {path.name} has a row {len(cells):,} cells wide; a "
                        "commercial log has 29, so it is refused as damaged or hostile."
                    )
                if not any(cells) and _is_blank_row(cells):
                    blank_run += 1
                    if blank_run > max_blank_run or number > guard.max_rows:
                        raise WorkbookError(
                            f"Sheet '{name}' of {path.name} has more than "
                            f"{max_blank_run:,} empty rows in a row before row "
                            f"{number:,}; it is refused as damaged or hostile."
                        )
                    continue
                blank_run = 0
                batch.append((number, [share(c, c) if c.__class__ in shared else c
                                       for c in cells]))
                if len(batch) >= batch_rows:
                    out.send(("rows", batch))
                    batch = []
                    memo.clear()
                    batch_rows = BATCH_ROWS
            if batch:
                out.send(("rows", batch))
            out.send(("end", index))
        out.send(("done",))
        return _EXIT_OK
    except MemoryError:
        return _EXIT_MEMORY  # the parent words it; sending might need memory we do not have
    except BookedBizError as exc:
        out.send(("error", str(exc)))
        return _EXIT_OK
    except Exception as exc:  # noqa: BLE001 - the readers raise many types for damaged files
        out.send(("error", f"{path.name} cannot be read as an Excel workbook (damaged or not "
                           f".xlsx): {exc}"))
        return _EXIT_OK


def _child_signals() -> None:
    import faulthandler
    import gc

    # The child makes no reference cycles; a collector walking (and so copying) every object
    # inherited from the parent would only cost time.
    gc.disable()
    gc.freeze()

    faulthandler.disable()  # its dump of a native abort is noise; the parent words the failure
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGPIPE):
        signal.signal(sig, signal.SIG_DFL)
    # No death signal from the parent: if it dies, the child's next write fails (it writes every
    # few thousand rows) and RLIMIT_CPU ends a child busy without writing.


def _forked_child(path: Path, fd: int, limits: ParseLimits) -> None:
    """Runs in the forked child and never returns (os._exit: no parent cleanup runs twice)."""
    code = _EXIT_CRASH
    try:
        _child_signals()
        devnull = os.open(os.devnull, os.O_RDWR)
        os.dup2(devnull, 0)
        os.dup2(devnull, 2)  # a native abort message must not reach the user's terminal
        _apply_limits(limits)
        code = _serve(path, fd, limits)
    except MemoryError:
        code = _EXIT_MEMORY
    except BaseException:  # noqa: BLE001 - whatever happens, the child ends here
        code = _EXIT_CRASH
    finally:
        os._exit(code)


def main(argv: list[str]) -> None:
    """Entry point of the spawned child: ``python -m bookedbiz.ingest.child PATH LIMITS_JSON``;
    the frames go to the inherited standard output."""
    path, limits = Path(argv[0]), ParseLimits.from_json(argv[1])
    out_fd = os.dup(1)
    devnull = os.open(os.devnull, os.O_RDWR)
    os.dup2(devnull, 1)  # stray prints must not corrupt the frames
    _child_signals()
    code = _EXIT_CRASH
    try:
        _apply_limits(limits)
        code = _serve(path, out_fd, limits)
    except MemoryError:
        code = _EXIT_MEMORY
    finally:
        os._exit(code)


# --- the parent side -----------------------------------------------------------------------


def _widen_pipe(fd: int) -> None:
    try:
        import fcntl

        fcntl.fcntl(fd, getattr(fcntl, "F_SETPIPE_SZ", _SETPIPE_SZ), _PIPE_BYTES)
    except OSError:
        pass  # a smaller pipe only means more wake-ups


def _start(path: Path, limits: ParseLimits) -> tuple[int, int]:
    """(pid, read fd) of a child parsing ``path``."""
    read_fd, write_fd = os.pipe()
    _widen_pipe(write_fd)
    try:
        if threading.active_count() == 1 and hasattr(os, "fork"):
            pid = os.fork()
            if pid == 0:  # pragma: no cover - the child (coverage cannot follow os._exit)
                os.close(read_fd)
                _forked_child(path, write_fd, limits)
        else:
            devnull = os.open(os.devnull, os.O_RDWR)
            try:
                pid = os.posix_spawn(
                    sys.executable,
                    [sys.executable, "-m", "bookedbiz.ingest.child", str(path),
                     limits.to_json()],
                    dict(os.environ),
                    file_actions=[(os.POSIX_SPAWN_DUP2, write_fd, 1),
                                  (os.POSIX_SPAWN_DUP2, devnull, 0),
                                  (os.POSIX_SPAWN_DUP2, devnull, 2)],
                )
            finally:
                os.close(devnull)
    except BaseException:
        os.close(read_fd)
        raise
    finally:
        os.close(write_fd)
    return pid, read_fd


class ChildParse:
    """The parent's end: the sheet names, then each sheet's (row number, cells) in order."""

    def __init__(self, path: Path, limits: ParseLimits | None = None):
        self.path = Path(path)
        self.limits = limits or default_limits()
        self.pid, self.fd = _start(self.path, self.limits)
        self.peak_rss_kb = 0
        self.exit_status: int | None = None
        self._buffer = bytearray()
        self._poll = select.poll()
        self._poll.register(self.fd, select.POLLIN | select.POLLHUP | select.POLLERR)
        self._waited = 0.0
        self._finished = False
        try:
            kind, *payload = self._receive()
            if kind == "error":
                raise WorkbookError(payload[0])
            if kind != "sheets":
                raise self._failure(f"unexpected message {kind!r}")
            self.sheet_names: list[str] = payload[0]
        except BaseException:
            self.close()
            raise

    def rows(self, index: int) -> Iterator[tuple[int, list[object]]]:
        """The data rows of sheet ``index``; sheets must be read in order."""
        while True:
            kind, *payload = self._receive()
            if kind == "rows":
                yield from payload[0]
            elif kind == "end":
                if payload[0] != index:
                    raise self._failure("sheets read out of order")
                if index == len(self.sheet_names) - 1:
                    self._expect_done()
                return
            elif kind == "error":
                self.close()
                raise WorkbookError(payload[0])
            else:
                raise self._failure(f"unexpected message {kind!r}")

    def _expect_done(self) -> None:
        kind, *_ = self._receive()
        if kind != "done":
            raise self._failure(f"unexpected message {kind!r}")
        self._finished = True
        self.close()

    # framing ---------------------------------------------------------------------------------
    def _receive(self) -> tuple:
        size = _FRAME.unpack(self._read_exact(_FRAME.size))[0]
        if size > self.limits.max_frame_bytes:
            raise self._failure(f"a batch of {size:,} bytes")
        return pickle.loads(self._read_exact(size))

    def _read_exact(self, size: int) -> bytes:
        buffer = self._buffer
        while len(buffer) < size:
            self._fill()
        data = bytes(buffer[:size])
        del buffer[:size]
        return data

    def _fill(self) -> None:
        if self.fd < 0:
            raise self._failure("the reader was already stopped")
        remaining = self.limits.seconds - self._waited
        started = time.monotonic()
        ready = self._poll.poll(max(remaining, 0.0) * 1000)  # poll: fds above 1024 are fine
        self._waited += time.monotonic() - started
        if not ready:
            self._kill()
            raise WorkbookError(
                f"Reading {self.path.name} took longer than the import's time budget "
                f"({self.limits.seconds:g} s); it was stopped and nothing was imported."
            )
        chunk = os.read(self.fd, _PIPE_BYTES)
        if not chunk:
            self.close()
            raise self._failure(None)
        self._buffer += chunk

    # the end ---------------------------------------------------------------------------------
    def _failure(self, detail: str | None) -> WorkbookError:
        self._kill()
        status = self.exit_status
        memory = f"{self.limits.memory_mib:,} MB of memory"
        if status is not None and os.WIFEXITED(status) and os.WEXITSTATUS(status) == _EXIT_MEMORY:
            reason = f"it needs more than the import's {memory}"
        elif status is not None and os.WIFSIGNALED(status):
            name = signal.Signals(os.WTERMSIG(status)).name
            reason = (f"the reader stopped ({name}) within the import's limits ({memory}, "
                      f"{self.limits.seconds:g} s)")
        else:
            reason = f"the reader stopped unexpectedly ({detail or 'no more data'})"
        return WorkbookError(
            f"{self.path.name} cannot be read as an Excel workbook: {reason}; it is refused as "
            "damaged or hostile and nothing was imported."
        )

    def _kill(self) -> None:
        if self.exit_status is None:
            try:
                os.kill(self.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.close()

    def close(self) -> None:
        """Stop the child if it still runs, reap it and note its peak memory."""
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1
        if self.exit_status is None:
            if not self._finished:
                try:
                    os.kill(self.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            try:
                _pid, status, usage = os.wait4(self.pid, 0)
            except ChildProcessError:
                status, usage = 0, None
            self.exit_status = status
            self.peak_rss_kb = usage.ru_maxrss if usage else 0
            log.debug("parse child %s of %s: status %s, peak RSS %s MB, waited %.2f s",
                      self.pid, self.path.name, status, self.peak_rss_kb // 1024, self._waited)

    def __del__(self) -> None:
        if getattr(self, "exit_status", 0) is None:
            self.close()


if __name__ == "__main__":  # pragma: no cover - the spawned child
    main(sys.argv[1:])

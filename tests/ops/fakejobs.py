"""Fake job definitions for the runner tests: real subprocesses, no bookedbiz step needed."""

from __future__ import annotations

import sys

from bookedbiz.jobs.definitions import JobDefinition, Step, register_job


def py(name: str, code: str, run_after_failure: bool = False) -> Step:
    return Step(name, (sys.executable, "-c", code), run_after_failure)


FAKE = {
    "fake-ok": [py("ok", "print('all good: 12 rows')")],
    "fake-partial": [py("daily", "print('import ok; language assignment failed'); "
                                 "raise SystemExit(1)")],
    "fake-fail": [py("fail", "import sys\nfor i in range(8): print(f'line {i}')\n"
                             "sys.exit(3)")],
    "fake-sleep": [py("sleep", "import os, time; time.sleep(float(os.environ.get("
                               "'FAKE_SLEEP', '2'))); print('slept')")],
    "fake-hang": [py("hang", "import time, subprocess, sys; "
                             "subprocess.Popen([sys.executable, '-c', 'import time; "
                             "time.sleep(60)']); print('hanging', flush=True); time.sleep(60)")],
    "fake-secrets": [py("leak", "import os\nfor k in sorted(os.environ):\n"
                                "    if k.startswith(('DROPBOX_', 'NTFY_', 'SLACK_', 'NOTIFY_', "
                                "'SECRET_')): print(k, '=', os.environ[k])\n"
                                "raise SystemExit(2)")],
}


def _steps(name):  # noqa: ANN001, ANN202
    return lambda ctx, extra: FAKE[name] + (
        [py("extra", f"print('extra args: {' '.join(extra)}')")] if extra else []
    )


for _name in FAKE:
    register_job(JobDefinition(_name, f"test job {_name}", steps=_steps(_name)))


def chain(marker_dir: str) -> list[Step]:
    """upload fails, backup still runs (run_after_failure), prune must not run."""
    touch = "import pathlib, sys; pathlib.Path(sys.argv[1]).touch()"
    return [
        Step("upload", (sys.executable, "-c", "raise SystemExit(5)")),
        Step("backup", (sys.executable, "-c", touch, f"{marker_dir}/backup"), True),
        Step("prune", (sys.executable, "-c", touch, f"{marker_dir}/prune")),
    ]

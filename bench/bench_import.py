"""Import speed and memory.

1. Daily update of a 10,000-row log, end to end (`bookedbiz daily-update` as a process, so
   start-up and the parse child are included), median of several runs, against a bare
   python-calamine read of the same file in its own process, runs interleaved.
   Targets: ≤ 1.0 s and ≤ 4× the bare read.
2. Historical import of a 500,000-row recap vs python-calamine alone reading the same file,
   each in its own process, medians; peak RSS of the import.  Target: ≤ 2× calamine, ≤ 400 MB.

    .venv/bin/python bench/bench_import.py [--recap-rows 500000] [--runs 3]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

OUT = Path(__file__).resolve().parent / "out"
PY = sys.executable

CALAMINE_ONLY = """
import sys, time, python_calamine
t = time.perf_counter()
book = python_calamine.CalamineWorkbook.from_path(sys.argv[1])
n = 0
for name in book.sheet_names:
    for row in book.get_sheet_by_name(name).iter_rows():
        n += 1
print(time.perf_counter() - t, n)
"""


# Byte-compiled modules are written (a warm-up run makes them), as on an installed system;
# a developer shell's PYTHONDONTWRITEBYTECODE would add recompiling the edited modules.
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def run_timed(args: list[str]) -> tuple[float, int, str]:
    """Wall time, peak RSS (MB) of the child, stdout."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    started = time.perf_counter()
    proc = subprocess.run(args, capture_output=True, text=True, check=False, env=ENV)
    elapsed = time.perf_counter() - started
    if proc.returncode != 0:
        raise SystemExit(f"failed: {' '.join(args)}\n{proc.stdout}\n{proc.stderr}")
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return elapsed, max(peak, before) // 1024, proc.stdout


def wall_and_cpu(args: list[str]) -> tuple[float, float]:
    """Wall seconds and CPU seconds (user + system, the reaped parse child included)."""
    started = time.perf_counter()
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=ENV)
    _pid, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode:
        raise SystemExit(f"failed ({proc.returncode}): {' '.join(args)}")
    return time.perf_counter() - started, usage.ru_utime + usage.ru_stime


def peak_rss_mb(args: list[str]) -> int:
    """Peak RSS of one child, measured with GNU time when available."""
    if shutil.which("/usr/bin/time"):
        proc = subprocess.run(["/usr/bin/time", "-f", "%M", *args], capture_output=True,
                              text=True, check=False)
        return int(proc.stderr.strip().splitlines()[-1]) // 1024
    return run_timed(args)[1]


def bookedbiz(*args: str) -> list[str]:
    return [PY, "-m", "bookedbiz", *args]


def ensure_workbook(path: Path, kind: str, start: str, months: int, per_month: int) -> Path:
    if not path.exists():
        OUT.mkdir(exist_ok=True)
        print(f"generating {path.name} …", flush=True)
        subprocess.run(bookedbiz("generate-log", str(path), "--start", start, "--months",
                                 str(months), "--rows-per-month", str(per_month), "--kind",
                                 kind), check=True, capture_output=True)
    return path


def bench_daily(runs: int) -> dict[str, object]:
    log = ensure_workbook(OUT / "daily-10k.xlsx", "daily", "2026-10", 5, 2000)
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "b.db"

        def setup(*args: str) -> None:
            subprocess.run(bookedbiz(*args, "--db", str(db)), check=True, capture_output=True,
                           env=ENV)

        setup("init")
        setup("import", str(log), "--mode", "historical", "--closed-by", "x",
              "--as-of", "2026-11-19")
        for month in ("Nov-26", "Dec-26", "Jan-27", "Feb-27"):
            setup("months", "reopen", month, "--by", "x", "--reason", "b")
        daily = bookedbiz("daily-update", str(log), "--unattended", "--auto-setup",
                          "--as-of", "2026-11-20", "--db", str(db))
        bare = [PY, "-c", CALAMINE_ONLY, str(log)]
        wall_and_cpu(daily)  # warm-up: byte-compiled modules, page cache
        wall_and_cpu(bare)
        times, calamine, daily_cpu, bare_cpu = [], [], [], []
        for _ in range(runs):  # interleaved, so both see the same machine load
            wall, cpu = wall_and_cpu(daily)
            times.append(wall)
            daily_cpu.append(cpu)
            wall, cpu = wall_and_cpu(bare)
            calamine.append(wall)
            bare_cpu.append(cpu)
    daily_median, bare_median = statistics.median(times), statistics.median(calamine)
    cpu_daily, cpu_bare = statistics.median(daily_cpu), statistics.median(bare_cpu)
    return {"daily_update_10k_median_s": round(daily_median, 3),
            "bare_calamine_read_process_median_s": round(bare_median, 3),
            "ratio_daily_update_to_bare_read": round(daily_median / bare_median, 2),
            "cpu_daily_update_median_s (process + parse child)": round(cpu_daily, 3),
            "cpu_bare_read_median_s": round(cpu_bare, 3),
            "cpu_ratio": round(cpu_daily / cpu_bare, 2),
            "load_average": os.getloadavg(),
            "daily_update_10k_runs": [round(t, 3) for t in times],
            "bare_calamine_runs": [round(t, 3) for t in calamine]}


def bench_recap(rows: int, runs: int) -> dict[str, object]:
    per_month = rows // 12
    recap = ensure_workbook(OUT / f"recap-{rows}.xlsx", "recap", "2025-01", 12, per_month)
    calamine, imports, peaks = [], [], []
    for _ in range(runs):
        out = run_timed([PY, "-c", CALAMINE_ONLY, str(recap)])[2]
        calamine.append(float(out.split()[0]))
        with tempfile.TemporaryDirectory() as tmp:
            db = Path(tmp) / "r.db"
            subprocess.run(bookedbiz("init", "--db", str(db)), check=True, capture_output=True,
                           env=ENV)
            args = bookedbiz("import", str(recap), "--mode", "historical", "--closed-by", "x",
                             "--json", "--db", str(db))
            elapsed, _peak, out = run_timed(args)
            imports.append(json.loads(out)["seconds"])
        with tempfile.TemporaryDirectory() as tmp:
            db = Path(tmp) / "r.db"
            subprocess.run(bookedbiz("init", "--db", str(db)), check=True, capture_output=True)
            peaks.append(peak_rss_mb(bookedbiz("import", str(recap), "--mode", "historical",
                                               "--closed-by", "x", "--db", str(db))))
    calamine_median = statistics.median(calamine)
    import_median = statistics.median(imports)
    calamine_peak = peak_rss_mb([PY, "-c", CALAMINE_ONLY, str(recap)])
    return {
        "recap_rows": rows,
        "calamine_read_median_s": round(calamine_median, 2),
        "import_median_s": round(import_median, 2),
        "ratio_import_to_calamine": round(import_median / calamine_median, 2),
        "import_peak_rss_mb": max(peaks),
        "calamine_alone_peak_rss_mb": calamine_peak,
        "runs": {"calamine": calamine, "import": imports},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--recap-rows", type=int, default=500_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--skip-recap", action="store_true")
    args = parser.parse_args()
    results: dict[str, object] = bench_daily(args.runs + 2)
    print(json.dumps(results, indent=2), flush=True)
    if not args.skip_recap:
        recap = bench_recap(args.recap_rows, args.runs)
        print(json.dumps(recap, indent=2))


if __name__ == "__main__":
    main()

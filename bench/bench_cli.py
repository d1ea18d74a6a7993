"""Command-line start-up: what an operator waits for on a Pi.

Whole processes, medians of several interleaved runs, each beside the bare interpreter
(``python -c pass``) and a bare python-calamine import measured in the same run:

1. ``bookedbiz --help``                       target ≤ 0.3 s
2. ``bookedbiz report revenue`` on a small database   target ≤ 0.6 s

    .venv/bin/python bench/bench_cli.py [--runs 9]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

PY = sys.executable

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_import import ENV, wall_and_cpu  # noqa: E402  (the same clock for every bench)


def bookedbiz(*args: str) -> list[str]:
    return [PY, "-m", "bookedbiz", *args]


def small_database(folder: Path) -> Path:
    db, log = folder / "small.db", folder / "small.xlsx"
    subprocess.run(bookedbiz("generate-log", str(log), "--start", "2025-01", "--months", "3",
                             "--rows-per-month", "500", "--kind", "recap"),
                   check=True, capture_output=True, env=ENV)
    subprocess.run(bookedbiz("init", "--db", str(db)), check=True, capture_output=True, env=ENV)
    subprocess.run(bookedbiz("import", str(log), "--mode", "historical", "--closed-by", "x",
                             "--as-of", "2025-04-01", "--db", str(db)),
                   check=True, capture_output=True, env=ENV)
    return db


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=9)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        db = small_database(Path(tmp))
        commands = {
            "python -c pass": [PY, "-c", "pass"],
            "python -c 'import python_calamine'": [PY, "-c", "import python_calamine"],
            "bookedbiz --help": bookedbiz("--help"),
            "bookedbiz report revenue": bookedbiz("report", "revenue", "--db", str(db)),
        }
        for argv in commands.values():
            wall_and_cpu(argv)  # warm-up
        walls: dict[str, list[float]] = {name: [] for name in commands}
        cpus: dict[str, list[float]] = {name: [] for name in commands}
        for _ in range(args.runs):
            for name, argv in commands.items():
                wall, cpu = wall_and_cpu(argv)
                walls[name].append(wall)
                cpus[name].append(cpu)
    medians = {name: round(statistics.median(values), 3) for name, values in walls.items()}
    cpu_medians = {name: round(statistics.median(values), 3) for name, values in cpus.items()}
    bare = medians["python -c pass"]
    print(json.dumps({
        "wall_medians_s": medians,
        "cpu_medians_s": cpu_medians,
        "wall_over_bare_interpreter": {name: round(value / bare, 1)
                                       for name, value in medians.items()},
        "targets_s": {"bookedbiz --help": 0.3, "bookedbiz report revenue": 0.6},
        "load_average": os.getloadavg(),
        "wall_runs": {name: [round(t, 3) for t in values] for name, values in walls.items()},
    }, indent=2))


if __name__ == "__main__":
    main()

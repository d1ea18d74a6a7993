"""Build a production-sized benchmark database (default 1.2 M spots over five years).

    .venv/bin/python bench/build_bench_db.py bench/out/bench-1x.db            # ~1.2 M spots
    .venv/bin/python bench/build_bench_db.py bench/out/bench-5x.db --scale 5  # ~6 M spots
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from bookedbiz.synth.bulk import build_large_database


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("db", type=Path)
    parser.add_argument("--scale", type=int, default=1, help="1 = 1.2 M spots, 5 = 6 M")
    parser.add_argument("--years", type=int, default=5)
    args = parser.parse_args()
    if args.db.exists():
        print(f"{args.db} exists; delete it to rebuild")
        return
    args.db.parent.mkdir(parents=True, exist_ok=True)
    per_month = 20_000 * args.scale
    started = time.perf_counter()
    total = build_large_database(args.db, args.years, per_month, echo=print)
    print(f"built {args.db}: {total:,} spots in {time.perf_counter() - started:.0f} s, "
          f"{args.db.stat().st_size / 1e6:.0f} MB")


if __name__ == "__main__":
    main()

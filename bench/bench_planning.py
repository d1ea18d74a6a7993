"""Planning benchmark: the planning page, the management report and the feeds, cold, plus the
all-history revenue feed's time and peak memory.

    .venv/bin/python bench/build_bench_db.py bench/out/bench-1x.db     # once (~1.2 M spots)
    .venv/bin/python bench/bench_planning.py [bench/out/bench-1x.db] [--runs 20]

Runs on a copy of the database in a temporary directory (it adds a user, a token, budgets for
every AE × month of two years and forecasts); ``--in-place`` skips the copy. Cold = the report
cache and the footer cache cleared before every timed request (the first view after an import,
a close or a plan change), as in bench/bench_web.py. The revenue feed is pulled in a child
process (CSV and JSON, the whole history, every chunk consumed) so its peak RSS is its own.
Targets (issue 12): planning page and management report cold p95 ≤ 150 ms; the revenue feed
under 10 s with peak memory under 200 MB.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_web import USER, bench_test_client, percentile, setup  # noqa: E402

PAGE_TARGET_MS = 150.0
FEED_TARGET_S = 10.0
FEED_TARGET_MB = 200.0


def seed_plans(db: Path, year: int) -> tuple[int, int]:
    """Budgets for every AE × month of ``year`` and the next (through the real budget path,
    one transaction) and a forecast for every AE × month of the next year. The next year's
    months from April are reopened, and the booking history (recorded by the bench builder on
    one day) is dated two years back, so the page reads the same time last year for them."""
    from sqlalchemy import create_engine

    from bookedbiz.db import schema
    from bookedbiz.planning.budget_file import BudgetLine
    from bookedbiz.planning.budgets import apply_budgets

    engine = create_engine(f"sqlite:///{db}")
    schema.metadata.create_all(engine)  # tables a bench file built before them lacks
    for index in schema.booking_history.indexes:  # and revision 0009's index
        if index.name == "ix_booking_history_plan":
            index.create(engine, checkfirst=True)
    engine.dispose()
    conn = sqlite3.connect(db)
    aes = [r[0] for r in conn.execute("SELECT name FROM aes ORDER BY ae_id")]
    conn.close()
    months = [f"{y}-{m:02d}" for y in (year, year + 1) for m in range(1, 13)]
    lines = [BudgetLine(0, ae, month, 150_000_000_000 + i * 1_000_000_000)
             for i, ae in enumerate(aes) for month in months]
    apply_budgets(db, lines, by="bench", source="bench")
    conn = sqlite3.connect(db)
    with conn:
        conn.execute("DELETE FROM forecasts")
        conn.executemany(
            "INSERT INTO forecasts (ae_id, broadcast_month, gross_micros, updated_at, "
            "updated_by, note) SELECT ae_id, ?, ?, '2026-01-01T00:00:00Z', 'bench', NULL "
            "FROM aes", [(m, 140_000_000_000) for m in months[12:]])
        conn.execute("DELETE FROM month_closures WHERE broadcast_month >= ?", (f"{year + 1}-04",))
        first = conn.execute("SELECT MIN(as_of) FROM history_records").fetchone()[0]
        back = f"{int(first[:4]) - 2}{first[4:]}"
        conn.execute("UPDATE booking_history SET valid_from = ? WHERE valid_from = ?",
                     (back, first))
        conn.execute("INSERT INTO history_records (as_of, kind, months, recorded_at) "
                     "VALUES (?, 'backfill', '[]', ?)", (back, back))
    conn.close()
    return len(lines), len(aes) * 12


FEED_CHILD = r"""
import json, resource, sys, time
from bookedbiz.web import create_app
db, token, fmt = sys.argv[1], sys.argv[2], sys.argv[3]
app = create_app({"DATABASE_PATH": db, "SECRET_KEY": "bench-" + "z" * 32})
client = app.test_client()
client.get("/health")
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
started = time.perf_counter()
response = client.get("/api/v1/feed/revenue", query_string={"format": fmt},
                      headers={"Authorization": f"Bearer {token}"}, buffered=False)
size = lines = 0
first_byte = None
for chunk in response.response:
    if first_byte is None:
        first_byte = time.perf_counter() - started
    size += len(chunk)
    lines += chunk.count(b"\n") if fmt == "csv" else chunk.count(b'{"row_key"')
response.close()
elapsed = time.perf_counter() - started
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"format": fmt, "status": response.status_code, "seconds": elapsed,
                  "first_byte_s": first_byte, "bytes": size, "rows": lines - (fmt == "csv"),
                  "peak_mb": peak, "baseline_mb": base}))
"""


def bench_feed(db: Path, token: str, fmt: str) -> dict:
    out = subprocess.run([sys.executable, "-c", FEED_CHILD, str(db), token, fmt],
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("db", type=Path, nargs="?", default=Path("bench/out/bench-1x.db"))
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--in-place", action="store_true")
    args = parser.parse_args()
    if not args.db.is_file():
        sys.exit(f"{args.db} does not exist; build it with bench/build_bench_db.py")
    with tempfile.TemporaryDirectory(prefix="bench-planning-") as folder:
        db = args.db
        if not args.in_place:
            db = Path(folder) / "bench.db"
            shutil.copyfile(args.db, db)
        year, _customer, token = setup(db)
        budgets, forecasts = seed_plans(db, year)
        conn = sqlite3.connect(db)
        spots = conn.execute("SELECT COUNT(*) FROM spots").fetchone()[0]
        history = conn.execute("SELECT COUNT(*) FROM booking_history").fetchone()[0]
        ae = conn.execute("SELECT a.name FROM spot_summary s JOIN aes a USING (ae_id) "
                          "GROUP BY a.name ORDER BY SUM(s.gross_micros) DESC").fetchone()[0]
        conn.close()
        print(f"{db.name}: {spots:,} spots, {history:,} booking-history rows, year {year}, "
              f"{budgets:,} budgets, {forecasts:,} forecasts; user {USER}")
        urls = [
            f"/planning/?year={year}",
            f"/planning/?year={year + 1}",
            f"/planning/management?year={year + 1}",
            f"/planning/?year={year}&ae={ae.replace(' ', '+')}",
            f"/planning/?year={year}&format=csv&table=rows",
            f"/planning/management?year={year}",
            f"/planning/management?year={year}&format=xlsx",
            f"/api/v1/feed/planning?year={year}",
            f"/api/v1/pacing?by=ae&from={year}-01&to={year}-12",
        ]
        times = bench_test_client(db, urls, args.runs, token, cold=True)
        ok = True
        print(f"\nServer time, cold, {args.runs} runs (ms):   p50     p95")
        for url, samples in times.items():
            p95 = percentile(samples, 95)
            gated = url.startswith(("/planning/?", "/planning/management"))
            passed = p95 <= PAGE_TARGET_MS or not gated
            ok &= passed
            mark = ("PASS" if passed else "FAIL") if gated else ""
            print(f"  {url:58s} {statistics.median(samples):7.1f} {p95:7.1f}  {mark}")
        print("\nRevenue feed, all history (child process):")
        for fmt in ("csv", "json"):
            result = bench_feed(db, token, fmt)
            passed = (result["seconds"] <= FEED_TARGET_S and result["peak_mb"] <= FEED_TARGET_MB
                      and result["status"] == 200)
            ok &= passed
            print(f"  {fmt}: {result['rows']:,} rows, {result['bytes'] / 1e6:.1f} MB in "
                  f"{result['seconds']:.2f} s (first bytes after {result['first_byte_s']:.2f} s)"
                  f", peak RSS {result['peak_mb']:.0f} MB (app alone {result['baseline_mb']:.0f}"
                  f" MB)  {'PASS' if passed else 'FAIL'}")
        print("\nPASS" if ok else "\nFAIL")


if __name__ == "__main__":
    main()

"""Benchmark: verified backup vs. a plain ``cp`` plus the transfer, and the unchanged skip.

Usage::

    .venv/bin/python bench/bench_backup.py [--db PATH] [--spots 1200000] [--runs 3]
        [--chunk-mib 48] [--keep]

Without ``--db`` it builds an initialised BookedBiz database with ``--spots`` synthetic spots
(customers, AEs and an import batch first, for the foreign keys). The fake Dropbox server of
the test-suite runs in a separate process (so it does not share our GIL) over real TLS; the
real ``dropbox`` SDK talks to it. For each run it measures:

* baseline: ``cp`` of the database file + uploading that copy (same SDK, same chunking);
* backup: ``bookedbiz sync upload`` logic (online-backup snapshot, sanity gate, content hash,
  upload with integrity_check running alongside, commit, server hash check) after deleting
  the remote copy so the bytes really travel;
* unchanged: the same upload again with nothing changed (snapshot + hash + metadata; skipped).
* verify: ``sync verify --name current``: download, content hash against the target's and
  against the hash recorded when the copy was made, integrity check.

It prints the median of each and the ratios the issue asks for (backup <= 1.5 x baseline,
unchanged <= 1 s + hashing time).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SERVER = r"""
import sys, pathlib
sys.path.insert(0, sys.argv[1])
from fake_dropbox import FakeDropbox
fake = FakeDropbox(pathlib.Path(sys.argv[2]))
fake.state.bandwidth = float(sys.argv[3]) or None
print(fake.host, fake.ca_path, flush=True)
sys.stdin.read()
fake.stop()
"""


def build_database(path: Path, spots: int) -> None:
    """An initialised BookedBiz database with ``spots`` synthetic rows, built with SQL."""
    from bookedbiz.db.connection import connect, utc_now
    from bookedbiz.db.migrate import init_database

    init_database(path)
    conn = connect(path)
    now = utc_now()
    conn.execute("BEGIN IMMEDIATE")
    batch = conn.execute(
        "INSERT INTO import_batches (mode, source_file, started_at, finished_at, status) "
        "VALUES ('historical', 'synthetic.xlsx', ?, ?, 'completed')", (now, now)).lastrowid
    conn.execute("INSERT INTO aes (name, name_key, created_at) VALUES ('AE One', 'ae one', ?)",
                 (now,))
    conn.executemany(
        "INSERT INTO customers (name, name_key, created_at) VALUES (?, ?, ?)",
        [(f"Agency:Customer {i}", f"agency:customer {i}", now) for i in range(500)])
    conn.execute(
        """WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < ?)
        INSERT INTO spots (import_batch_id, bill_code, air_date, broadcast_month, ae_id,
            customer_id, language_category, gross_rate_micros, station_net_micros, spot_type,
            revenue_type, market_code, time_in, time_out, length_text, comments, media)
        SELECT ?, 'Agency:Customer ' || (i % 500), printf('2025-%02d-%02d', 1 + i % 12,
            1 + i % 28), printf('2025-%02d', 1 + i % 12), 1, 1 + i % 500, 'default_english',
            (i % 997) * 1000000, (i % 991) * 850000, 'COM', 'Internal Ad Sales', 'SEA',
            '06:00:00', '06:00:30', ':30', 'synthetic ' || hex(randomblob(8)), 'TV'
        FROM s""", (spots, batch))
    conn.execute("COMMIT")
    conn.close()


def start_server(workdir: Path, bandwidth: float = 0.0) -> tuple[subprocess.Popen[str], str, str]:
    proc = subprocess.Popen(
        [sys.executable, "-c", SERVER, str(ROOT / "tests" / "backup"), str(workdir),
         str(bandwidth)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    host, ca = proc.stdout.readline().split()
    return proc, host, ca


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", type=Path, help="use this database instead of building one")
    parser.add_argument("--spots", type=int, default=1_200_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--chunk-mib", type=int, default=48)
    parser.add_argument("--keep", action="store_true", help="keep the work folder")
    parser.add_argument("--uplink-mbit", type=float, default=0.0,
                        help="throttle the fake server to this uplink (0 = unthrottled)")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="bench-backup-"))
    for name in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):
        os.environ.pop(name, None)
    server, host, ca = start_server(work / "server", args.uplink_mbit * 1e6 / 8)
    for var in ("DROPBOX_API_HOST", "DROPBOX_API_CONTENT_HOST", "DROPBOX_API_NOTIFY_HOST"):
        os.environ[var] = host  # before the SDK is imported (below)
    try:
        run(args, work, ca)
    finally:
        assert server.stdin is not None
        server.stdin.close()
        server.wait(timeout=30)
        if not args.keep:
            subprocess.run(["rm", "-rf", str(work)], check=False)


def run(args: argparse.Namespace, work: Path, ca: str) -> None:
    from bookedbiz.backup.content_hash import file_content_hash
    from bookedbiz.backup.service import SyncService
    from bookedbiz.backup.upload import RetryPolicy, upload_file
    from bookedbiz.config import Settings

    if args.db:
        db = args.db
    else:
        db = work / "data" / "bench.db"
        db.parent.mkdir(parents=True)
        started = time.perf_counter()
        build_database(db, args.spots)
        print(f"built {args.spots} spots in {time.perf_counter() - started:.1f}s")
    if args.uplink_mbit:
        print(f"fake server throttled to {args.uplink_mbit:g} Mbit/s")
    size = db.stat().st_size
    print(f"database: {db} ({size / 2**20:.0f} MiB), chunk {args.chunk_mib} MiB, "
          f"{args.runs} runs")
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None, database_path=db, dropbox_app_key="fake-app-key",
        dropbox_app_secret="fake-app-secret-value",
        dropbox_refresh_token="fake-refresh-token-value", dropbox_ca_certs=Path(ca),
        backup_chunk_mib=args.chunk_mib, data_path=db.parent)
    service = SyncService(settings, target="dropbox")
    target = service.target
    client = target.client  # type: ignore[attr-defined]
    target.check()  # token refresh + TLS handshake outside the timings
    copy = db.parent / "cp-copy.db"

    baseline, backup, unchanged, hashing, verify = [], [], [], [], []
    for i in range(args.runs):
        copy.unlink(missing_ok=True)
        t0 = time.perf_counter()
        subprocess.run(["cp", str(db), str(copy)], check=True)
        upload_file(client, copy, f"/baseline-{i}.db", chunk_bytes=args.chunk_mib * 2**20,
                    policy=RetryPolicy(3, 1.0))
        baseline.append(time.perf_counter() - t0)

        if target.metadata(service.remote_db) is not None:
            target.delete(service.remote_db)
        t0 = time.perf_counter()
        outcome = service.upload()
        backup.append(time.perf_counter() - t0)
        assert outcome.data["status"] == "uploaded", outcome.data

        t0 = time.perf_counter()
        outcome = service.upload()
        unchanged.append(time.perf_counter() - t0)
        assert outcome.data["status"] == "unchanged", outcome.data

        t0 = time.perf_counter()
        file_content_hash(copy)
        hashing.append(time.perf_counter() - t0)

        t0 = time.perf_counter()
        outcome = service.verify("current")
        verify.append(time.perf_counter() - t0)
        assert outcome.data["matches_record"] is True, outcome.data
        print(f"run {i + 1}: cp+transfer {baseline[-1]:.2f}s  backup {backup[-1]:.2f}s  "
              f"unchanged {unchanged[-1]:.2f}s  hash {hashing[-1]:.2f}s  "
              f"verify {verify[-1]:.2f}s")
        target.delete(f"/baseline-{i}.db")

    med = statistics.median
    b, k, u, h = med(baseline), med(backup), med(unchanged), med(hashing)
    print(f"median cp+transfer: {b:.2f}s")
    print(f"median verified backup (snapshot+gate+hash+upload+integrity): {k:.2f}s "
          f"= {k / b:.2f} x baseline (target <= 1.5) -> {'OK' if k <= 1.5 * b else 'MISSED'}")
    print(f"median unchanged skip: {u:.2f}s; hashing alone {h:.2f}s; skip - hashing = "
          f"{u - h:.2f}s (target <= 1 s) -> {'OK' if u - h <= 1.0 else 'MISSED'}")
    print(f"median verify against the recorded hash (download+hashes+integrity): "
          f"{med(verify):.2f}s")


if __name__ == "__main__":
    main()

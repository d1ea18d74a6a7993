"""Web benchmark: server time of every report page, cold and warm, and overview throughput.

    .venv/bin/python bench/bench_web.py                       # bench/out/bench-1x.db (1.2 M spots)
    .venv/bin/python bench/bench_web.py /tmp/bench-5x.db      # 6 M spots (target 400 ms)
    .venv/bin/python bench/bench_web.py postgresql+psycopg://…  # a PostgreSQL database (issue 14)

The benchmark adds a user and an API token, so it runs on a copy of the database in a temporary
directory (``--in-place`` skips the copy; never use it on a shared benchmark file). A
DATABASE_URL is benchmarked in place (bench/bench_data.py makes a throwaway copy on a
throwaway server; bench/bench_databases.py compares both databases side by side).

1. Server time (Flask test client), per page, median (p50) and p95:
   - cold: the report cache and the footer cache are cleared before every request, which is the
     first view of a page after an import, a merge or a month close (they change the data
     version, so nothing cached is used);
   - warm: the per-process report cache on, the usual case between imports.
2. Real HTTP through uvicorn (2 workers, loopback): the same pages, sequentially (warm).
3. Load: ``--clients`` concurrent clients on the overview page for ``--requests`` requests;
   requests per second and errors.
Targets (issue 3): every page p95 ≤ 150 ms on 1.2 M spots and ≤ 400 ms on 6 M (cold and warm),
≥ 200 requests/s with no errors. PASS needs all of them.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bookedbiz import users
from bookedbiz.db.access import open_database
from bookedbiz.errors import BookedBizError
from bookedbiz.reports.revenue import available_years

USER, PASSWORD = "bench-user", "bench-password-0123"


def pages(year: int, customer_id: int) -> list[str]:
    return [
        f"/reports/?year={year}",
        f"/reports/?year={year}&measure=net&market=SEA",
        f"/reports/customers/?year={year}",
        f"/reports/customers/?year={year}&sort=total_desc&q=a",
        f"/reports/aes/?year={year}",
        f"/reports/breakdowns/market?year={year}",
        f"/reports/breakdowns/language?year={year}",
        f"/reports/breakdowns/revenue-type?year={year}",
        f"/reports/breakdowns/agency?year={year}",
        f"/reports/breakdowns/spot-type?year={year}",
        f"/reports/customers/{customer_id}?year={year}",
        "/months/",
        "/imports/",
        "/imports/1",
        f"/api/v1/revenue?by=customer&year={year}",
    ]


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(pct / 100 * len(ordered) + 0.5) - 1))
    return ordered[index]


def setup(db: Path | str) -> tuple[int, int, str]:
    try:
        users.create_user(db, USER, PASSWORD, "viewer")
    except BookedBizError:
        users.set_password(db, USER, PASSWORD)
    _, token = users.create_token(db, USER, "bench")
    database = open_database(db)
    with database.reading() as conn:
        years = available_years(conn)
        from sqlalchemy import text

        customer = conn.execute(text(
            "SELECT customer_id FROM spot_summary GROUP BY customer_id "
            "ORDER BY SUM(spots) DESC LIMIT 1")).scalar_one()
    database.dispose()
    year = years[-2] if len(years) > 1 else years[-1]
    return year, customer, token


def bench_test_client(db: Path | str, urls: list[str], runs: int, token: str,
                      cold: bool) -> dict[str, list[float]]:
    """Server time of each page; ``cold`` clears the caches before every timed request."""
    from bookedbiz.web import create_app

    where = "DATABASE_URL" if is_url(db) else "DATABASE_PATH"
    app = create_app({where: str(db), "SECRET_KEY": "bench-" + "z" * 32})
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    assert client.post("/login", data={"username": USER, "password": PASSWORD,
                                       "csrf_token": csrf}).status_code == 302
    headers = {"Authorization": f"Bearer {token}"}
    caches = [app.extensions["bookedbiz.report_cache"], app.extensions["bookedbiz.freshness"]]
    times: dict[str, list[float]] = {}
    for url in urls:
        for _ in range(2):  # compile templates, open pooled connections, fill the cache
            client.get(url, headers=headers)
        samples = []
        for _ in range(runs):
            if cold:
                for cache in caches:
                    cache.clear()
            started = time.perf_counter()
            response = client.get(url, headers=headers)
            samples.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200, (url, response.status_code)
        times[url] = samples
    return times


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def is_url(db: Path | str) -> bool:
    return isinstance(db, str) and "://" in db


def start_server(db: Path | str, workers: int) -> tuple[subprocess.Popen, str]:
    port = free_port()
    where = {"DATABASE_URL": db} if is_url(db) else {"DATABASE_PATH": str(Path(db).resolve())}
    env = dict(os.environ, **where, SECRET_KEY="bench-" + "z" * 32)
    proc = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "bookedbiz.web.asgi:app", "--host", "127.0.0.1",
         "--port", str(port), "--workers", str(workers), "--log-level", "warning",
         "--no-access-log"],
        env=env,
    )
    base = f"http://127.0.0.1:{port}"
    import httpx

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(base + "/health", timeout=2).status_code == 200:
                return proc, base
        except httpx.HTTPError:
            time.sleep(0.3)
    proc.kill()
    raise RuntimeError("uvicorn did not start")


def http_login(client, base: str) -> None:  # noqa: ANN001
    page = client.get(base + "/login").text
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    response = client.post(base + "/login", data={"username": USER, "password": PASSWORD,
                                                  "csrf_token": csrf})
    assert response.status_code == 302, response.text[:300]


def bench_http(base: str, urls: list[str], runs: int, token: str) -> dict[str, list[float]]:
    import httpx

    times: dict[str, list[float]] = {}
    with httpx.Client(timeout=30, headers={"Authorization": f"Bearer {token}"}) as client:
        http_login(client, base)
        for url in urls:
            client.get(base + url)
            samples = []
            for _ in range(runs):
                started = time.perf_counter()
                response = client.get(base + url)
                samples.append((time.perf_counter() - started) * 1000)
                assert response.status_code == 200, (url, response.status_code)
            times[url] = samples
    return times


async def load(base: str, url: str, clients: int, total: int) -> tuple[float, int, int]:
    import httpx

    done = errors = 0
    counter = iter(range(total))

    async def worker(client) -> None:  # noqa: ANN001
        nonlocal done, errors
        for _ in counter:
            try:
                response = await client.get(base + url)
                if response.status_code != 200:
                    errors += 1
            except httpx.HTTPError:
                errors += 1
            done += 1

    async with httpx.AsyncClient(timeout=30, limits=httpx.Limits(max_connections=clients)) as c:
        page = (await c.get(base + "/login")).text
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
        await c.post(base + "/login", data={"username": USER, "password": PASSWORD,
                                            "csrf_token": csrf})
        for _ in range(20):
            await c.get(base + url)
        started = time.perf_counter()
        await asyncio.gather(*(worker(c) for _ in range(clients)))
        elapsed = time.perf_counter() - started
    return done / elapsed, done, errors


def report(title: str, columns: dict[str, dict[str, list[float]]], target: float) -> bool:
    """Print p50/p95 per page for each set of timings; True when every p95 meets ``target``."""
    print(f"\n{title}")
    header = "".join(f" {name + ' p50':>11} {name + ' p95':>11}" for name in columns)
    print(f"{'page':<52}{header}")
    ok = True
    urls = next(iter(columns.values())).keys()
    for url in urls:
        cells, over = [], []
        for name, times in columns.items():
            p95 = percentile(times[url], 95)
            cells.append(f" {statistics.median(times[url]):9.1f}ms {p95:9.1f}ms")
            if p95 > target:
                over.append(name)
        ok = ok and not over
        flag = f"  OVER TARGET ({', '.join(over)})" if over else ""
        print(f"{url[:52]:<52}{''.join(cells)}{flag}")
    return ok


def copy_database(db: Path, workdir: Path) -> Path:
    """Copy the database (and a WAL file if one is there) so the benchmark writes no shared file."""
    dest = workdir / db.name
    shutil.copyfile(db, dest)
    wal = db.with_name(db.name + "-wal")
    if wal.exists():
        shutil.copyfile(wal, dest.with_name(dest.name + "-wal"))
    return dest


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("db", nargs="?", default="bench/out/bench-1x.db",
                        help="a SQLite file or a DATABASE_URL")
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--cold-runs", type=int, default=20)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--target-ms", type=float, default=None,
                        help="p95 target; default 150 ms up to 3 M spots, else 400 ms")
    parser.add_argument("--target-rps", type=float, default=200.0)
    parser.add_argument("--in-place", action="store_true",
                        help="benchmark the file itself (it gains a user and a token)")
    args = parser.parse_args()
    if is_url(args.db):  # a server database: benchmarked in place
        ok = run(args.db, args)
        print("RESULT:", "PASS" if ok else "FAIL")
        sys.exit(0 if ok else 1)
    args.db = Path(args.db)
    if not args.db.exists():
        sys.exit(f"{args.db} does not exist; build it with bench/build_bench_db.py")
    with tempfile.TemporaryDirectory(prefix="bench-web-", dir=args.db.parent) as workdir:
        db = args.db if args.in_place else copy_database(args.db, Path(workdir))
        ok = run(db, args)
    print("RESULT:", "PASS" if ok else "FAIL")
    sys.exit(0 if ok else 1)


def run(db: Path | str, args: argparse.Namespace) -> bool:
    year, customer, token = setup(db)
    urls = pages(year, customer)
    database = open_database(db)
    with database.reading() as conn:
        from sqlalchemy import text

        spots = conn.execute(text("SELECT COUNT(*) FROM spots")).scalar_one()
        indexes = conn.execute(text(
            "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'spot_summary' "
            "ORDER BY name" if database.is_sqlite else
            "SELECT indexname FROM pg_indexes WHERE tablename = 'spot_summary' "
            "ORDER BY indexname")).scalars().all()
    database.dispose()
    target = args.target_ms or (150.0 if spots <= 3_000_000 else 400.0)
    print(f"database {database.describe()}: {spots:,} spots; year {year}; customer #{customer}; "
          f"target p95 ≤ {target:.0f} ms")
    print(f"spot_summary indexes: {', '.join(indexes)}")
    cold = bench_test_client(db, urls, args.cold_runs, token, cold=True)
    warm = bench_test_client(db, urls, args.runs, token, cold=False)
    ok = report("Server time (Flask test client): cold = caches cleared before each request "
                "(first view after a data change), warm = report cache on",
                {"cold": cold, "warm": warm}, target)
    proc, base = start_server(db, args.workers)
    try:
        ok = report(f"Real HTTP (uvicorn, {args.workers} workers, loopback; warm)",
                    {"http": bench_http(base, urls, max(10, args.runs // 2), token)},
                    target) and ok
        rps, done, errors = asyncio.run(load(base, urls[0], args.clients, args.requests))
    finally:
        proc.terminate()
        proc.wait(timeout=20)
    print(f"\nLoad: {args.clients} concurrent clients on {urls[0]}: {done} requests, "
          f"{errors} errors, {rps:.0f} requests/s (target ≥ {args.target_rps:.0f})")
    return ok and errors == 0 and rps >= args.target_rps


if __name__ == "__main__":
    main()

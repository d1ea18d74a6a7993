"""Web benchmark: server time of every report page, and overview throughput under load.

    .venv/bin/python bench/bench_web.py                       # bench/out/bench-1x.db (1.2 M spots)
    .venv/bin/python bench/bench_web.py bench/out/bench-5x.db --target-ms 400

1. Flask test client (server time only): each page ``--runs`` times; median and p95.
2. Real HTTP through uvicorn (2 workers, loopback): the same pages, sequentially.
3. Load: ``--clients`` concurrent clients on the overview page for ``--requests`` requests;
   requests per second and errors.
Targets (issue 3): p95 ≤ 150 ms per page on 1.2 M spots, ≥ 200 req/s with no errors.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

from bookedbiz import users
from bookedbiz.db.connection import create_db_engine
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


def setup(db: Path) -> tuple[int, int, str]:
    try:
        users.create_user(db, USER, PASSWORD, "viewer")
    except BookedBizError:
        users.set_password(db, USER, PASSWORD)
    _, token = users.create_token(db, USER, "bench")
    engine = create_db_engine(db, readonly=True)
    with engine.connect() as conn:
        years = available_years(conn)
        from sqlalchemy import text

        customer = conn.execute(text(
            "SELECT customer_id FROM spot_summary GROUP BY customer_id "
            "ORDER BY SUM(spots) DESC LIMIT 1")).scalar_one()
    engine.dispose()
    year = years[-2] if len(years) > 1 else years[-1]
    return year, customer, token


def bench_test_client(db: Path, urls: list[str], runs: int, token: str,
                      cache: bool = True) -> dict[str, list[float]]:
    from bookedbiz.web import create_app

    app = create_app({"DATABASE_PATH": str(db), "SECRET_KEY": "bench-" + "z" * 32,
                      "REPORT_CACHE": cache})
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    assert client.post("/login", data={"username": USER, "password": PASSWORD,
                                       "csrf_token": csrf}).status_code == 302
    headers = {"Authorization": f"Bearer {token}"}
    times: dict[str, list[float]] = {}
    for url in urls:
        for _ in range(2):
            client.get(url, headers=headers)
        samples = []
        for _ in range(runs):
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


def start_server(db: Path, workers: int) -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = dict(os.environ, DATABASE_PATH=str(db.resolve()), SECRET_KEY="bench-" + "z" * 32)
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


def report(title: str, times: dict[str, list[float]], target: float) -> bool:
    print(f"\n{title}")
    print(f"{'page':<58} {'median':>8} {'p95':>8}")
    ok = True
    for url, samples in times.items():
        p95 = percentile(samples, 95)
        flag = "" if p95 <= target else "  OVER TARGET"
        ok = ok and p95 <= target
        print(f"{url[:58]:<58} {statistics.median(samples):7.1f}ms {p95:7.1f}ms{flag}")
    return ok


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("db", type=Path, nargs="?", default=Path("bench/out/bench-1x.db"))
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--target-ms", type=float, default=150.0)
    parser.add_argument("--target-rps", type=float, default=200.0)
    args = parser.parse_args()
    if not args.db.exists():
        sys.exit(f"{args.db} does not exist; build it with bench/build_bench_db.py")
    year, customer, token = setup(args.db)
    urls = pages(year, customer)
    engine = create_db_engine(args.db, readonly=True)
    with engine.connect() as conn:
        from sqlalchemy import text

        spots = conn.execute(text("SELECT COUNT(*) FROM spots")).scalar_one()
    engine.dispose()
    print(f"database {args.db}: {spots:,} spots; year {year}; customer #{customer}")
    # Informational: the first view of a page after an import (or a merge/close) computes it.
    report("Server time, report cache off (first view after the data changed; Flask test client)",
           bench_test_client(args.db, urls, max(5, args.runs // 3), token, cache=False),
           args.target_ms)
    ok = report("Server time, report cache on (Flask test client)",
                bench_test_client(args.db, urls, args.runs, token), args.target_ms)
    proc, base = start_server(args.db, args.workers)
    try:
        ok = report(f"Real HTTP (uvicorn, {args.workers} workers, loopback)",
                    bench_http(base, urls, max(10, args.runs // 2), token),
                    args.target_ms) and ok
        rps, done, errors = asyncio.run(load(base, urls[0], args.clients, args.requests))
    finally:
        proc.terminate()
        proc.wait(timeout=20)
    print(f"\nLoad: {args.clients} concurrent clients on {urls[0]}: {done} requests, "
          f"{errors} errors, {rps:.0f} requests/s (target ≥ {args.target_rps:.0f})")
    ok = ok and errors == 0 and rps >= args.target_rps
    print("RESULT:", "PASS" if ok else "FAIL")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()

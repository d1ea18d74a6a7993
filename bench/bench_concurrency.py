"""Concurrent readers (issue 14 "Speed"): ``--clients`` signed-in clients against ``--apps`` app
processes that share one database, PostgreSQL and (for comparison) one SQLite file.

    .venv/bin/python bench/bench_concurrency.py --per-month 800 --seconds 10   # small, quick
    .venv/bin/python bench/bench_concurrency.py --scale 1 --seconds 60         # 1.2 M spots

Each app process is ``bookedbiz serve`` (uvicorn, one worker) on its own loopback port, as two
boxes behind a balancer would be; both get the same SECRET_KEY. Client *i* talks to app
*i mod apps* and signs in as demo user *i mod 5* (``ensure_demo_users``: admin, manager,
finance, an AE who sees only their book, viewer). Every client then fetches the main report
pages in turn for ``--seconds``, a round; the databases take turns for ``--rounds`` rounds (all
apps started once), so both see the same spread of load. The answer is requests per second,
p50/p95/p99 latency as the client sees it (HTTP included), and the error count (any answer but
200, or no answer within 30 s; a page a role may not see, 403/404 at warm-up, is dropped for
that client and listed). The bar is 0 errors.

The data are the page benchmark's (bench_data.py: the built SQLite file, copied row for row into
a throwaway PostgreSQL, pg_server.py); the report cache is on, as served, so after the first
view of a page most answers come from each process's cache keyed by the data version (one
query a request). The clients run in this one process (asyncio, httpx) on the same machine as
the apps and the database, so they take CPU from them: the figures are for the whole box.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench_data import OUT, copy_to_postgres, spot_count, sqlite_bench_db, working_copy
from bench_databases import BASE_ENV, LoadMonitor, one_line, percentile, year_and_customer
from pg_server import PgServer, free_port

PY = sys.executable
SECRET = "bench-concurrency-" + "k" * 32


def main_pages(year: int, customer: int) -> list[str]:
    return [
        f"/reports/?year={year}",
        f"/reports/customers/?year={year}",
        f"/reports/aes/?year={year}",
        f"/reports/breakdowns/market?year={year}",
        f"/reports/breakdowns/language?year={year}",
        f"/reports/customers/{customer}?year={year}",
        "/months/",
        "/imports/",
    ]


class App:
    """One ``bookedbiz serve`` process on its own port; its output kept in a file."""

    def __init__(self, target: str, workdir: Path, number: str, *, direct: bool = False) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = workdir / f"app-{number}.log"
        argv = [PY, "-m", "bookedbiz", "serve", "--host", "127.0.0.1", "--port",
                str(self.port), "--workers", "1"]
        if direct:  # what serve runs, for when serve itself does not take the database yet
            argv = [PY, "-m", "uvicorn", "bookedbiz.web.asgi:app", "--host", "127.0.0.1",
                    "--port", str(self.port), "--no-server-header"]
        env = dict(BASE_ENV, SECRET_KEY=SECRET)
        if "://" in target:
            env["DATABASE_URL"] = target
        elif direct:
            env["DATABASE_PATH"] = target
        else:
            argv += ["--db", target]
        with self.log.open("wb") as out:
            self.proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, env=env)

    def wait_ready(self, seconds: float = 90) -> None:
        import httpx

        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"bookedbiz serve exited: {self.last_lines()}")
            try:
                if httpx.get(self.base + "/health", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        raise RuntimeError(f"bookedbiz serve did not answer /health: {self.last_lines()}")

    def last_lines(self) -> str:
        lines = self.log.read_text(errors="replace").strip().splitlines()
        return " / ".join(lines[-2:]) if lines else "no output"

    def errors_logged(self) -> list[str]:
        text = self.log.read_text(errors="replace").splitlines()
        return [line for line in text if "Error" in line or "Traceback" in line][:5]

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


async def sign_in(client, base: str, username: str, password: str) -> None:  # noqa: ANN001
    page = (await client.get(base + "/login")).text
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page)
    if not csrf:
        raise RuntimeError("the sign-in page has no form")
    answer = await client.post(base + "/login", data={"username": username,
                                                      "password": password,
                                                      "csrf_token": csrf.group(1)})
    if answer.status_code != 302:
        raise RuntimeError(f"signing in as {username} answered HTTP {answer.status_code}")


async def drive(apps: list[App], logins: list, urls: list[str], clients: int,
                seconds: float) -> dict:
    """Every client signs in, views each page once (a 403 or 404 for its role or book drops
    that page for it), then fetches its pages in turn until the time is up. The raw
    latencies (ms), the errors, the pages dropped and the seconds measured."""
    import httpx

    latencies: list[float] = []
    errors: list[str] = []
    skipped: set[str] = set()
    warmed = [0]

    async def client_loop(number: int, stop_at: list[float], ready: asyncio.Event) -> None:
        app = apps[number % len(apps)]
        login = logins[number % len(logins)]
        async with httpx.AsyncClient(timeout=30) as client:
            try:
                await sign_in(client, app.base, login.username, login.password)
                mine = []
                for url in urls:
                    answer = await client.get(app.base + url)
                    if answer.status_code in (403, 404):  # not this role's, or not its book
                        skipped.add(f"{login.role}: {url} (HTTP {answer.status_code})")
                        continue
                    if answer.status_code != 200:
                        errors.append(f"warm-up {url} as {login.role}: "
                                      f"HTTP {answer.status_code}")
                    mine.append(url)
            finally:
                warmed[0] += 1
            await ready.wait()
            turn = number
            while time.perf_counter() < stop_at[0]:
                url = mine[turn % len(mine)]
                turn += 1
                started = time.perf_counter()
                try:
                    answer = await client.get(app.base + url)
                    if answer.status_code != 200:
                        errors.append(f"{url} as {login.role}: HTTP {answer.status_code}")
                except httpx.HTTPError as exc:
                    errors.append(f"{url} as {login.role}: {one_line(exc)}")
                latencies.append((time.perf_counter() - started) * 1000)

    ready = asyncio.Event()
    stop_at = [float("inf")]
    tasks = [asyncio.create_task(client_loop(n, stop_at, ready)) for n in range(clients)]
    # Let the warm-ups finish (they share the apps), then start the clock for everyone.
    while warmed[0] < clients and not any(t.done() for t in tasks):
        await asyncio.sleep(0.1)
    started = time.perf_counter()
    stop_at[0] = started + seconds
    ready.set()
    await asyncio.gather(*tasks)
    return {"latencies": latencies, "errors": errors, "skipped": skipped,
            "seconds": time.perf_counter() - started}


def summarise(rounds: list[dict]) -> dict:
    """All rounds of one database together; requests/s per round as well."""
    latencies = [v for r in rounds for v in r["latencies"]]
    errors = [e for r in rounds for e in r["errors"]]
    seconds = sum(r["seconds"] for r in rounds)
    return {"requests": len(latencies), "seconds": round(seconds, 1),
            "requests_per_s": round(len(latencies) / seconds, 1),
            "requests_per_s_by_round": [round(len(r["latencies"]) / r["seconds"], 1)
                                        for r in rounds],
            "p50_ms": round(statistics.median(latencies), 1) if latencies else None,
            "p95_ms": round(percentile(latencies, 95), 1) if latencies else None,
            "p99_ms": round(percentile(latencies, 99), 1) if latencies else None,
            "errors": len(errors), "first_errors": errors[:5],
            "pages_dropped_for_a_role": sorted({p for r in rounds for p in r["skipped"]}),
            "load_by_round": [r["load"] for r in rounds]}


def start_apps(name: str, target: str, workdir: Path, count: int) -> tuple[list[App], str]:
    """``count`` app processes on ``target``: ``bookedbiz serve``, or uvicorn itself (what
    serve runs) when serve refuses the database; how they were started."""
    apps = [App(target, workdir, f"{name}-{n}") for n in range(count)]
    try:
        for app in apps:
            app.wait_ready()
        return apps, "bookedbiz serve --workers 1"
    except RuntimeError as exc:
        for app in apps:
            app.stop()
        refused = one_line(exc)
    apps = [App(target, workdir, f"{name}-direct-{n}", direct=True) for n in range(count)]
    try:
        for app in apps:
            app.wait_ready()
    except RuntimeError:
        for app in apps:
            app.stop()
        raise
    return apps, f"uvicorn bookedbiz.web.asgi:app (bookedbiz serve refused: {refused})"


def run_rounds(sides: list[tuple[str, str]], workdir: Path, logins: list, urls: list[str],
               args: argparse.Namespace) -> dict:
    """Start every side's apps once, then alternate the databases round by round, so both
    see the same spread of machine load."""
    started: dict[str, tuple[list[App], str]] = {}
    results: dict[str, dict] = {}
    rounds: dict[str, list[dict]] = {name: [] for name, _ in sides}
    try:
        for name, target in sides:
            try:
                started[name] = start_apps(name, target, workdir, args.apps)
                print(f"{name}: {args.apps} app processes: {started[name][1]}", flush=True)
            except Exception as exc:  # noqa: BLE001 - say what failed, measure the other
                results[name] = {"not_measured": one_line(exc)}
        for number in range(args.rounds):
            for name, (apps, _how) in started.items():
                if name in results:
                    continue
                try:
                    with LoadMonitor(every=2.0) as load:
                        measured = asyncio.run(drive(apps, logins, urls, args.clients,
                                                     args.seconds))
                except Exception as exc:  # noqa: BLE001
                    results[name] = {"not_measured": one_line(exc)}
                    continue
                measured["load"] = load.summary()
                rounds[name].append(measured)
                print(f"  round {number + 1} {name}: {len(measured['latencies'])} requests, "
                      f"{len(measured['errors'])} errors (load {measured['load']})", flush=True)
        for name, (apps, how) in started.items():
            if name not in results:
                results[name] = summarise(rounds[name])
                results[name]["served_by"] = how
                results[name]["logged_errors"] = [line for app in apps
                                                  for line in app.errors_logged()]
    finally:
        for apps, _how in started.values():
            for app in apps:
                app.stop()
    return results


def describe(name: str, result: dict, args: argparse.Namespace) -> str:
    if "not_measured" in result:
        return f"{name}: not measured: {result['not_measured']}"
    text = (f"{name}: {args.clients} clients, {args.apps} app processes, "
            f"{result['seconds']} s: {result['requests']} requests, "
            f"{result['requests_per_s']} requests/s {result['requests_per_s_by_round']}, "
            f"p50 {result['p50_ms']} ms, p95 {result['p95_ms']} ms, p99 {result['p99_ms']} ms, "
            f"{result['errors']} errors (load {', '.join(result['load_by_round'])})")
    for line in result["first_errors"]:
        text += f"\n    {line}"
    return text


def main() -> None:
    from bookedbiz.synth.demo_setup import ensure_demo_users

    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", type=int, default=None, help="1 = 1.2 M spots, 5 = 6 M")
    parser.add_argument("--per-month", type=int, default=800)
    parser.add_argument("--years", type=int, default=5)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--apps", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=30, help="a round, per database")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--only", choices=["sqlite", "postgresql"], default=None)
    args = parser.parse_args()
    per_month = 20_000 * args.scale if args.scale else args.per_month
    source = sqlite_bench_db(per_month, args.years)
    results: dict = {"started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                     "clients": args.clients, "apps": args.apps, "seconds": args.seconds,
                     "rounds": args.rounds, "pages": []}
    with tempfile.TemporaryDirectory(prefix="bench-conc-", dir=OUT) as work, \
            PgServer(parent=OUT) as server:
        db = working_copy(source, Path(work))
        logins = ensure_demo_users(db)
        results["spots"] = spot_count(db)
        year, customer = year_and_customer(db)
        urls = results["pages"] = main_pages(year, customer)
        results["postgresql_server"] = server.describe()
        print(f"{results['spots']:,} spots; {server.describe()}", flush=True)
        sides = [] if args.only == "postgresql" else [("sqlite", str(db))]
        if args.only != "sqlite":
            sides.append(("postgresql", copy_to_postgres(db, server, "concurrency")))
        results.update(run_rounds(sides, Path(work), logins, urls, args))
        for name, _target in sides:
            print(describe(name, results[name], args), flush=True)
    lite, pg = results.get("sqlite", {}), results.get("postgresql", {})
    if lite.get("requests_per_s") and pg.get("requests_per_s"):
        results["ratio_requests_per_s"] = round(pg["requests_per_s"] / lite["requests_per_s"], 2)
        results["ratio_p95"] = round(pg["p95_ms"] / lite["p95_ms"], 2)
        print(f"PostgreSQL / SQLite: requests/s ×{results['ratio_requests_per_s']}, "
              f"p95 ×{results['ratio_p95']}")
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime())
    out = OUT / f"bench_concurrency-{stamp}.json"
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"written {out}")
    sys.exit(0 if all(r.get("errors") == 0 for r in (lite, pg) if r) else 1)


if __name__ == "__main__":
    os.environ.pop("DATABASE_URL", None)
    main()

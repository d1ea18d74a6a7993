"""Markdown tables from the side-by-side results, for docs/benchmarks.md.

    .venv/bin/python bench/side_by_side_markdown.py bench/out/bench_databases-*.json \\
        bench/out/bench_concurrency-*.json
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def fmt(value: float | None, digits: int = 0) -> str:
    return "—" if value is None else f"{value:,.{digits}f}"


def ratio(value: float | None) -> str:
    if value is None:
        return "—"
    text = f"{value:.2f}×"
    return f"**{text}**" if value > 1.5 else text


def side(cell: dict, key: str, digits: int = 0) -> str:
    if "not_measured" in cell:
        return f"not measured ({cell['not_measured']})"
    return fmt(cell.get(key), digits)


def imports_table(results: list[dict]) -> list[str]:
    lines = ["| measure | SQLite, median (runs) | PostgreSQL, median (runs) | PG / SQLite | load |",
             "|---|---|---|---|---|"]
    for result in results:
        for key in ("recap", "daily"):
            row = result.get(key)
            if not row:
                continue
            cells = []
            for name in ("sqlite", "postgresql"):
                cell = row[name]
                runs = ", ".join(f"{v:.2f}" for v in cell["runs"])
                cells.append(f"{side(cell, 'median', 2)} s ({runs})"
                             if "not_measured" not in cell else side(cell, "median"))
            lines.append(f"| {row['measure'].replace(' (s)', '')} | {cells[0]} | {cells[1]} | "
                         f"{ratio(row['ratio'])} | {row['load']} |")
    return lines


def pages_table(results: list[dict]) -> list[str]:
    scales = [p for r in results for p in r.get("pages", [])]
    if not scales:
        return []
    header = "| page |" + "".join(
        f" {s['spots'] / 1e6:.1f} M: SQLite p50 / p95 | PG p50 / p95 | PG/SQLite p95 |"
        for s in scales)
    lines = [header, "|---|" + "---|---|---|" * len(scales)]
    for index, page in enumerate(scales[0]["pages"]):
        cells = []
        for scale in scales:
            row = scale["pages"][index]
            lite, pg = row["sqlite"], row["postgresql"]
            cells.append(f" {side(lite, 'p50')} / {side(lite, 'p95')} ms | "
                         f"{side(pg, 'p50')} / {side(pg, 'p95')} ms | {ratio(row['ratio_p95'])} |")
        lines.append(f"| `{page['page']}` |" + "".join(cells))
    notes = [f"{s['spots']:,} spots: {s['cold_runs']} cold runs a page, load {s['load']}, "
             f"API JSON identical on both: {s['api_revenue_identical']}, one `SELECT 1` / one "
             f"read transaction: {s.get('round_trips')}" for s in scales]
    return [*lines, "", *[f"- {n}" for n in notes]]


def concurrency_table(results: list[dict]) -> list[str]:
    lines = ["| database | requests | requests/s (by round) | p50 | p95 | p99 | errors | load |",
             "|---|---|---|---|---|---|---|---|"]
    for result in results:
        for name in ("sqlite", "postgresql"):
            cell = result.get(name)
            if not cell:
                continue
            if "not_measured" in cell:
                lines.append(f"| {name} | not measured: {cell['not_measured']} |||||||")
                continue
            rounds = ", ".join(fmt(v) for v in cell["requests_per_s_by_round"])
            lines.append(f"| {name} ({result['spots']:,} spots) | {cell['requests']:,} | "
                         f"{fmt(cell['requests_per_s'])} ({rounds}) | {fmt(cell['p50_ms'])} ms | "
                         f"{fmt(cell['p95_ms'])} ms | {fmt(cell['p99_ms'])} ms | "
                         f"{cell['errors']} | {', '.join(cell['load_by_round'])} |")
    return lines


def main() -> None:
    loaded = [json.loads(Path(p).read_text()) for p in sys.argv[1:]]
    databases = [r for r in loaded if "pages" in r and "clients" not in r]
    concurrency = [r for r in loaded if "clients" in r]
    for part in (imports_table(databases), pages_table(databases),
                 concurrency_table(concurrency)):
        if len(part) > 2:
            print("\n".join(part) + "\n")


if __name__ == "__main__":
    main()

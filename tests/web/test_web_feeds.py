"""The management workbook's feeds: token auth and scope, rows that add up to the revenue
report, row keys stable across calls and across an unrelated import, streamed responses."""

from __future__ import annotations

import csv
import io
import json
import sqlite3
from collections import defaultdict
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner
from tests.web.conftest import YEAR, ae_of_user, make_app

from bookedbiz import users
from bookedbiz.cli.main import cli
from bookedbiz.ingest.service import import_workbook
from bookedbiz.synth.generator import LogSpec
from bookedbiz.synth.writer import write_log


@pytest.fixture()
def feed_db(db_copy: Path) -> Path:
    conn = sqlite3.connect(db_copy)
    with conn:  # broker fees on some spots (the demo log has none)
        conn.execute("UPDATE spots SET broker_fees_micros = gross_rate_micros * 15 / 100 "
                     "/ 10000 * 10000 WHERE spot_id % 3 = 0")  # whole cents: sums are exact
    conn.close()
    return db_copy


def pull(db: Path, role: str, path: str, **query: object):  # noqa: ANN201
    _, token = users.create_token(db, role, "workbook")
    client = make_app(db).test_client()
    response = client.get(path, query_string=query, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    assert response.is_streamed
    return response


def feed_rows(db: Path, role: str = "viewer", **query: object) -> list[dict[str, str]]:
    response = pull(db, role, "/api/v1/feed/revenue", format="csv", **query)
    return list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))


def cli_json(*args: str) -> list[dict]:
    result = CliRunner().invoke(cli, list(args))
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_feed_needs_a_token(db_copy: Path) -> None:
    client = make_app(db_copy).test_client()
    assert client.get("/api/v1/feed/revenue").status_code == 401
    assert client.get("/api/v1/feed/planning").status_code == 401


def test_revenue_feed_adds_up_to_the_revenue_report(feed_db: Path) -> None:
    rows = feed_rows(feed_db)
    by_month: dict[str, list[Decimal]] = defaultdict(lambda: [Decimal(0)] * 3)
    for row in rows:
        sums = by_month[row["month"]]
        sums[0] += Decimal(row["gross"])
        sums[1] += Decimal(row["net"])
        sums[2] += int(row["spots"])
    report = cli_json("report", "revenue", "--by", "month", "--format", "json", "--db",
                      str(feed_db))
    assert len(report) == len(by_month) > 12
    for month in report:
        assert by_month[month["month"]] == [Decimal(str(month["gross"])),
                                            Decimal(str(month["net"])), month["spots"]]
    conn = sqlite3.connect(feed_db)
    fees = dict(conn.execute("SELECT broadcast_month, SUM(broker_fees_micros) FROM spots "
                             "WHERE is_trade = 0 GROUP BY 1"))
    conn.close()
    fee_sums: dict[str, Decimal] = defaultdict(Decimal)
    for row in rows:
        fee_sums[row["month"]] += Decimal(row["broker_fees"])
    assert fee_sums == {m: Decimal(v or 0) / 1_000_000 for m, v in fees.items() if m in fee_sums}
    keys = [r["row_key"] for r in rows]
    assert len(set(keys)) == len(keys)
    assert set(rows[0]) == {"row_key", "month", "customer", "agency", "ae", "market",
                            "revenue_type", "sector", "revenue_class", "gross", "net", "spots",
                            "broker_fees"}


def test_json_equals_csv_and_an_ae_token_sees_only_their_book(feed_db: Path) -> None:
    body = json.loads(pull(feed_db, "viewer", "/api/v1/feed/revenue", year=YEAR).data)
    as_csv = feed_rows(feed_db, year=YEAR)
    assert [r["row_key"] for r in body["data"]] == [r["row_key"] for r in as_csv]
    assert {r["month"][:4] for r in body["data"]} == {str(YEAR)}
    own = feed_rows(feed_db, "ae", year=YEAR)
    assert {r["ae"] for r in own} == {ae_of_user(feed_db)}
    total = cli_json("report", "revenue", "--by", "ae", "--year", str(YEAR), "--ae",
                     ae_of_user(feed_db), "--format", "json", "--db", str(feed_db))
    assert sum(Decimal(r["gross"]) for r in own) == Decimal(str(total[0]["gross"]))


def test_row_keys_are_stable_across_calls_and_an_unrelated_import(feed_db: Path,
                                                                  tmp_path: Path) -> None:
    first = feed_rows(feed_db)
    second = feed_rows(feed_db)
    assert first == second
    log = tmp_path / "Commercial Log.xlsx"
    month = "2028-06"  # a month the demo has no spots in
    write_log(LogSpec(month, 1, 60, seed=21, kind="daily"), log)
    import_workbook(feed_db, log, auto_setup=True)
    after = {r["row_key"]: r for r in feed_rows(feed_db)}
    assert any(r["month"] == month for r in after.values())  # the import landed
    for row in first:  # same key, same figures; a name may only change its spelling
        again = after[row["row_key"]]
        for name in ("customer", "agency", "ae"):
            assert again.pop(name).casefold() == row[name].casefold()
        assert again == {k: v for k, v in row.items() if k not in ("customer", "agency", "ae")}


def test_planning_feed_equals_the_planning_table(feed_db: Path) -> None:
    CliRunner().invoke(cli, ["forecast", "set", "--ae", ae_of_user(feed_db), "--month",
                             f"{YEAR}-11", "--gross", "123456.78", "--by", "t", "--db",
                             str(feed_db)])
    body = json.loads(pull(feed_db, "manager", "/api/v1/feed/planning", year=YEAR).data)
    table = cli_json("planning", "show", "--year", str(YEAR), "--format", "json", "--db",
                     str(feed_db))
    assert len(body["data"]) == len(table) > 0
    for feed, row in zip(body["data"], table, strict=True):
        for key in ("budget", "forecast", "booked", "pipeline", "variance", "last_year"):
            assert feed[key] == row[key], (key, feed, row)
        assert (feed["ae"], feed["month"]) == (row["ae"], f"{YEAR}-{_month_number(row)}")
    own = json.loads(pull(feed_db, "ae", "/api/v1/feed/planning", year=YEAR).data)["data"]
    assert {r["ae"] for r in own} == {ae_of_user(feed_db)}
    text = pull(feed_db, "manager", "/api/v1/feed/planning", year=YEAR,
                format="csv").get_data(as_text=True)
    assert text.splitlines()[0].startswith("row_key,ae,month,status,budget")


def _month_number(row: dict) -> str:
    names = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
    return f"{names.index(row['label'][:3]) + 1:02d}"


def test_feed_rounding_equals_the_money_module() -> None:
    import random

    from bookedbiz.money import micros_to_dollars
    from bookedbiz.reports.feeds import _cents

    rng = random.Random(12)
    amounts = [0, None, 5_000, 15_000, -5_000, -15_000, -4_999, 25_000, 10**15 + 5_000]
    amounts += [rng.randint(-10**12, 10**12) for _ in range(20_000)]
    amounts += [rng.randint(-30_000, 30_000) for _ in range(20_000)]
    for micros in amounts:
        assert str(_cents(micros)) == str(micros_to_dollars(micros)), micros


@pytest.mark.parametrize("count", [0, 1, 2, 3, 5])
def test_streamed_json_and_csv_are_whole_at_any_chunk_boundary(count: int) -> None:
    from bookedbiz.reports.feeds import as_csv, as_json

    columns = ("a", "b")
    rows = [(i, None if i % 2 else f"x{i}") for i in range(count)]
    body = json.loads("".join(as_json(iter(rows), columns, chunk_rows=2, year=2026)))
    assert body["data"] == [{"a": a, "b": b} for a, b in rows] and body["year"] == 2026
    lines = list(csv.reader(io.StringIO("".join(as_csv(iter(rows), columns, chunk_rows=2)))))
    assert lines == [["a", "b"]] + [[str(a), b or ""] for a, b in rows]

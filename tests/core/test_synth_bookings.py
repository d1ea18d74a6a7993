"""The booking-curve generator: deterministic, consistent from one log to the next, with a
realistic booking curve, advertiser churn, agency mix, AE spread and a pacing story."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta
from pathlib import Path

import pytest

from bookedbiz import broadcast_calendar as bc
from bookedbiz.db.migrate import init_database
from bookedbiz.ingest.service import import_workbook
from bookedbiz.synth.advertisers import HOUSE
from bookedbiz.synth.bookings import STORY_AE, STORY_MARKET, BookingModel
from bookedbiz.synth.logs import log_months, log_rows, log_spots, recap_rows, write_daily_log
from bookedbiz.synth.plan import demo_plan
from bookedbiz.vocab import name_key, split_bill_code

FIRST, LAST, STORY = "2024-01", "2027-06", "2026-01"


@pytest.fixture(scope="module")
def model() -> BookingModel:
    return BookingModel(5, FIRST, LAST, 250, story_from=STORY)


def _money(cell: object) -> float:
    if isinstance(cell, float):
        return cell
    if isinstance(cell, str) and cell.startswith("$"):
        return float(cell[1:].replace(",", ""))
    return 0.0


def _booked(model: BookingModel, month: str, as_of: date, **match: str) -> float:
    """Gross on the books for ``month`` as of ``as_of``, from the spots themselves."""
    total = 0.0
    for spot in model.by_month[month]:
        if spot.on_books(as_of) and spot.cells[23] != "Trade":
            if all(str(spot.cells[{"ae": 22, "market": 28}[k]]).casefold() == v.casefold()
                   for k, v in match.items()):
                total += _money(spot.cells[15])
    return total


def _final(model: BookingModel, month: str) -> float:
    return _booked(model, month, date(2099, 1, 1))


def _flat(rows_by_sheet) -> list[list[object]]:
    return [row for _name, rows in rows_by_sheet for row in rows if row[0]]


def test_same_seed_same_logs_and_another_seed_other_logs(model: BookingModel) -> None:
    as_of = date(2026, 3, 11)
    again = BookingModel(5, FIRST, LAST, 250, story_from=STORY)
    assert _flat(log_rows(model, as_of)) == _flat(log_rows(again, as_of))
    other = BookingModel(6, FIRST, LAST, 250, story_from=STORY)
    assert _flat(log_rows(model, as_of)) != _flat(log_rows(other, as_of))


def test_a_log_holds_the_current_month_and_twelve_ahead(model: BookingModel) -> None:
    as_of = date(2025, 6, 18)
    current = bc.broadcast_month_of(as_of)
    assert log_months(model, as_of) == [bc.shift_month(current, i) for i in range(13)]
    months = {bc.parse_month(r[18]) for r in _flat(log_rows(model, as_of))}
    assert current in months and bc.shift_month(current, 13) not in months
    assert len(months) >= 6  # business booked months ahead
    # the last days of a calendar month still list the broadcast month that just ended
    assert log_months(model, date(2025, 8, 31))[0] == "2025-08"


def test_consecutive_logs_agree_an_order_persists_unless_cancelled(model: BookingModel) -> None:
    orders = {o.contract: o for o in model.orders}
    for first, gap in ((date(2025, 9, 2), 1), (date(2025, 10, 7), 7), (date(2026, 2, 3), 7)):
        second = first + timedelta(days=gap)
        later_months = set(log_months(model, second))
        before = log_spots(model, first)
        after = {id(s) for spots in log_spots(model, second).values() for s in spots}
        codes: dict[str, set[object]] = defaultdict(set)
        gone = kept = 0
        for spots in before.values():
            for spot in spots:
                codes[spot.cells[27]].add(name_key(str(spot.cells[0]).split(" (")[0]))
                if spot.month not in later_months:
                    continue
                if id(spot) in after:
                    kept += 1
                    continue
                gone += 1
                order = orders[str(spot.cells[27])] if spot.cells[27] != "0" else None
                changed = [d for d in ((order.cancelled, order.reduced) if order else ())
                           if d is not None and first < d <= second]
                assert spot.removed is not None and first < spot.removed <= second
                assert order is None or changed, spot.cells
        assert kept > 10 * max(gone, 1)
        # a contract number always means the same order: one bill code (tags aside)
        assert all(len(v) == 1 for k, v in codes.items() if k != "0")


def test_booking_curve_most_booked_two_to_eight_weeks_out_some_late(model: BookingModel) -> None:
    months = [bc.shift_month("2025-01", i) for i in range(12)]
    final = sum(_final(model, m) for m in months)
    def at(weeks: int) -> float:
        return sum(_booked(model, m, bc.broadcast_month_start(m) - timedelta(weeks=weeks))
                   for m in months)
    assert at(8) < 0.45 * final
    assert at(2) - at(8) > 0.35 * final
    assert 0.75 * final < at(0) < 0.97 * final  # some booked late, inside the month
    cancelled = [o for o in model.orders if o.cancelled]
    reduced = [o for o in model.orders if o.reduced]
    added = [o for o in model.orders if o.increased]
    total = len(model.orders)
    assert 0.02 < len(cancelled) / total < 0.1
    assert 0.04 < len(reduced) / total < 0.15 and 0.04 < len(added) / total < 0.15


def test_recap_is_the_final_state(model: BookingModel) -> None:
    rows = recap_rows(model, ["2025-05"])
    assert round(sum(_money(r[15]) for r in rows if r[23] != "Trade"), 2) == round(
        _final(model, "2025-05"), 2)


def _customers_by_year(model: BookingModel) -> dict[int, set[str]]:
    years: dict[int, set[str]] = defaultdict(set)
    for month, spots in model.by_month.items():
        for spot in spots:
            agencies, customer = split_bill_code(str(spot.cells[0]))
            if agencies[:1] != ["WorldLink"] and spot.removed is None:
                years[int(month[:4])].add(name_key(customer))
    return years


def test_customers_persist_with_about_fifteen_percent_churn(model: BookingModel) -> None:
    years = _customers_by_year(model)
    for year in (2024, 2025):
        lost = years[year] - years[year + 1]
        new = years[year + 1] - years[year]
        assert 0.07 <= len(lost) / len(years[year]) <= 0.25, (year, len(lost))
        assert len(new) >= 0.07 * len(years[year])
    assert 80 <= len(years[2025]) <= 200


def test_advertisers_buy_through_several_agencies_and_direct(model: BookingModel) -> None:
    routes: dict[str, set[tuple[str, ...]]] = defaultdict(set)
    spellings: dict[str, set[str]] = defaultdict(set)
    forms = {0: 0, 1: 0, 2: 0}
    tags = {"prod": 0, "broker": 0}
    for spots in model.by_month.values():
        for spot in spots:
            raw = str(spot.cells[0])
            agencies, customer = split_bill_code(raw)
            if agencies[:1] == ["WorldLink"]:
                continue
            forms[min(len(agencies), 2)] += 1
            routes[name_key(customer)].add(tuple(name_key(a) for a in agencies))
            spellings[name_key(customer)].add(raw.split(":")[-1])
            tags["prod"] += raw.endswith(" PROD")
            tags["broker"] += "(Broker Fees - DO NOT INVOICE)" in raw
    rows = sum(forms.values())
    assert 0.1 < forms[0] / rows < 0.45 and forms[1] / rows > 0.45 and forms[2] / rows > 0.01
    several = [c for c, r in routes.items() if len(r) > 1]
    assert 0.1 < len(several) / len(routes) < 0.45
    assert any(() in routes[c] for c in several)  # an agency client that also buys direct
    assert sum(len(s) > 1 for s in spellings.values()) > 0.1 * len(spellings)  # casing drift
    assert tags["prod"] > 0 and tags["broker"] > 0


def test_no_ae_holds_most_of_the_revenue(model: BookingModel) -> None:
    for year in ("2025", "2026"):
        books: dict[str, float] = defaultdict(float)
        for month, spots in model.by_month.items():
            if month.startswith(year):
                for spot in spots:
                    if spot.removed is None and spot.cells[22] != HOUSE:
                        books[str(spot.cells[22]).casefold()] += _money(spot.cells[15])
        total = sum(books.values())
        assert 5 <= len(books) <= 8
        assert max(books.values()) / total < 0.3


@pytest.mark.parametrize("as_of", [date(2026, 3, 4), date(2026, 12, 2)])
def test_this_year_paces_ahead_except_one_ae_and_one_market(as_of: date) -> None:
    """At the demo's scale and seed: ahead of last year over the next four months, the story
    AE and market behind."""
    current = bc.broadcast_month_of(as_of)
    plan = demo_plan(as_of, years=3)
    model = BookingModel(7, plan.first_month, plan.last_month, 1500, story_from=plan.story_from)
    months = [bc.shift_month(current, i) for i in range(4)]

    def pace(**match: str) -> float:
        booked = sum(_booked(model, m, as_of, **match) for m in months)
        stly = sum(_booked(model, bc.shift_month(m, -12), as_of - timedelta(days=364), **match)
                   for m in months)
        return booked / stly

    assert pace() > 1.05
    assert pace(ae=STORY_AE) < 0.95
    assert pace(market=STORY_MARKET) < 0.95


def test_a_written_daily_log_imports_every_row(model: BookingModel, tmp_path: Path) -> None:
    as_of = date(2026, 4, 14)
    path = write_daily_log(model, as_of, tmp_path)
    assert path.name == "Commercial Log 260414.xlsx"
    db = tmp_path / "b.db"
    init_database(db)
    result = import_workbook(db, path, mode="weekly", auto_setup=True,
                             include_previous_month=True)
    assert result.rows_rejected == 0
    assert result.rows_inserted == len(_flat(log_rows(model, as_of)))

"""The broadcast calendar against published calendars (2023–2028) and its defining properties."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bookedbiz import broadcast_calendar as bc

# Published standard broadcast calendars: (month, first day, last day).
PUBLISHED = [
    ("2023-01", date(2022, 12, 26), date(2023, 1, 29)),
    ("2023-12", date(2023, 11, 27), date(2023, 12, 31)),
    ("2024-01", date(2024, 1, 1), date(2024, 1, 28)),
    ("2024-12", date(2024, 11, 25), date(2024, 12, 29)),
    ("2025-01", date(2024, 12, 30), date(2025, 1, 26)),
    ("2025-02", date(2025, 1, 27), date(2025, 2, 23)),
    ("2025-03", date(2025, 2, 24), date(2025, 3, 30)),
    ("2025-04", date(2025, 3, 31), date(2025, 4, 27)),
    ("2025-05", date(2025, 4, 28), date(2025, 5, 25)),
    ("2025-06", date(2025, 5, 26), date(2025, 6, 29)),
    ("2025-07", date(2025, 6, 30), date(2025, 7, 27)),
    ("2025-08", date(2025, 7, 28), date(2025, 8, 31)),
    ("2025-09", date(2025, 9, 1), date(2025, 9, 28)),
    ("2025-10", date(2025, 9, 29), date(2025, 10, 26)),
    ("2025-11", date(2025, 10, 27), date(2025, 11, 30)),
    ("2025-12", date(2025, 12, 1), date(2025, 12, 28)),
    ("2026-01", date(2025, 12, 29), date(2026, 1, 25)),
    ("2026-02", date(2026, 1, 26), date(2026, 2, 22)),
    ("2026-03", date(2026, 2, 23), date(2026, 3, 29)),
    ("2026-04", date(2026, 3, 30), date(2026, 4, 26)),
    ("2026-05", date(2026, 4, 27), date(2026, 5, 31)),
    ("2026-06", date(2026, 6, 1), date(2026, 6, 28)),
    ("2026-07", date(2026, 6, 29), date(2026, 7, 26)),
    ("2026-08", date(2026, 7, 27), date(2026, 8, 30)),
    ("2026-09", date(2026, 8, 31), date(2026, 9, 27)),
    ("2026-10", date(2026, 9, 28), date(2026, 10, 25)),
    ("2026-11", date(2026, 10, 26), date(2026, 11, 29)),
    ("2026-12", date(2026, 11, 30), date(2026, 12, 27)),
    ("2027-01", date(2026, 12, 28), date(2027, 1, 31)),
    ("2027-12", date(2027, 11, 29), date(2027, 12, 26)),
    ("2028-01", date(2027, 12, 27), date(2028, 1, 30)),
    ("2028-02", date(2028, 1, 31), date(2028, 2, 27)),
    ("2028-12", date(2028, 11, 27), date(2028, 12, 31)),
]
YEAR_WEEKS = {2023: 53, 2024: 52, 2025: 52, 2026: 52, 2027: 52, 2028: 53}


@pytest.mark.parametrize(("month", "first", "last"), PUBLISHED)
def test_published_month_boundaries(month: str, first: date, last: date) -> None:
    assert bc.broadcast_month_start(month) == first
    assert bc.broadcast_month_end(month) == last
    assert bc.broadcast_month_of(first) == month
    assert bc.broadcast_month_of(last) == month
    assert bc.broadcast_month_of(first - timedelta(days=1)) != month
    assert bc.broadcast_month_of(last + timedelta(days=1)) != month
    assert bc.broadcast_weeks(month) == ((last - first).days + 1) // 7


@pytest.mark.parametrize(("year", "weeks"), sorted(YEAR_WEEKS.items()))
def test_broadcast_year_weeks(year: int, weeks: int) -> None:
    assert bc.broadcast_year_weeks(year) == weeks
    assert sum(bc.broadcast_weeks(m) for m in bc.months_of_year(year)) == weeks


@given(st.dates(min_value=date(1990, 1, 1), max_value=date(2090, 12, 31)))
def test_every_day_lies_inside_its_month(day: date) -> None:
    month = bc.broadcast_month_of(day)
    assert bc.broadcast_month_start(month) <= day <= bc.broadcast_month_end(month)
    assert bc.broadcast_year_of(day) == int(month[:4])


@given(st.integers(min_value=1990 * 12, max_value=2090 * 12))
def test_months_are_contiguous_whole_weeks(index: int) -> None:
    month = bc.month_key(index // 12, index % 12 + 1)
    start, end = bc.broadcast_month_start(month), bc.broadcast_month_end(month)
    assert start.weekday() == 0 and end.weekday() == 6
    assert bc.broadcast_weeks(month) in (4, 5)
    assert end.month == int(month[5:]) and (end + timedelta(days=7)).month != end.month
    assert bc.broadcast_month_start(bc.shift_month(month, 1)) == end + timedelta(days=1)


@given(st.dates(min_value=date(1990, 1, 1), max_value=date(2090, 12, 31)))
def test_calendar_billing_uses_calendar_month(day: date) -> None:
    assert bc.month_of(day, "Calendar") == f"{day.year:04d}-{day.month:02d}"
    assert bc.month_of(day, "Broadcast") == bc.broadcast_month_of(day)
    assert bc.month_of(day, None) == bc.broadcast_month_of(day)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Jan-25", "2025-01"), ("jan-25", "2025-01"), ("Nov 24", "2024-11"),
        ("November 2024", "2024-11"), ("Sept-26", "2026-09"), ("2025-01", "2025-01"),
        ("2024-11-01 00:00:00", "2024-11"), ("11/1/2024", "2024-11"), ("1/2025", "2025-01"),
        ("Dec-99", "1999-12"), ("", None), ("Total", None), ("13/2025", None), ("Foo-25", None),
    ],
)
def test_parse_month(text: str, expected: str | None) -> None:
    assert bc.parse_month(text) == expected


@given(st.integers(min_value=1990, max_value=2069), st.integers(min_value=1, max_value=12))
def test_label_round_trip(year: int, month: int) -> None:
    key = bc.month_key(year, month)
    assert bc.parse_month(bc.label(key)) == key
    assert bc.parse_month(key) == key

"""Cell conversion and bill-code parsing, with property tests for money and bill codes."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bookedbiz import vocab
from bookedbiz.ingest import cells
from bookedbiz.languages.category import language_category
from bookedbiz.money import micros_to_dollars

cents = st.integers(min_value=-10**11, max_value=10**11)


@given(cents)
def test_money_text_forms_are_exact(amount_cents: int) -> None:
    value = Decimal(amount_cents) / 100
    expected = amount_cents * 10_000
    plain = f"{abs(value):,.2f}"
    sign = "-" if amount_cents < 0 else ""
    assert cells.money_micros(f"{sign}${plain}") == expected
    assert cells.money_micros(f"${sign}{plain}") == expected
    assert cells.money_micros(f" {sign}{plain} ") == expected
    if amount_cents < 0:
        assert cells.money_micros(f"(${plain})") == expected
    assert cells.money_micros(float(value)) == expected
    assert micros_to_dollars(expected) == value.quantize(Decimal("0.01"))


def test_money_unrounded_gross_up_keeps_fractions() -> None:
    gross = 300 / 0.85
    assert cells.money_micros(gross) == 352_941_176
    assert cells.money_micros(None) is None
    assert cells.money_micros("  ") is None
    assert cells.money_micros(12) == 12_000_000
    assert cells.money_micros(" $ -   ") == 0
    assert cells.money_micros("$(1,234.50)") == -1_234_500_000
    assert cells.money_micros("1,234.50-") == -1_234_500_000


@pytest.mark.parametrize("bad", ["abc", "$", "1.2.3", "12,34,5x", "--5", True, date(2024, 1, 1)])
def test_money_rejects_garbage(bad: object) -> None:
    with pytest.raises(cells.CellError):
        cells.money_micros(bad)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (date(2024, 11, 25), date(2024, 11, 25)),
        (datetime(2024, 11, 25, 13, 0), date(2024, 11, 25)),
        ("11/25/2024", date(2024, 11, 25)),
        ("2024-11-25", date(2024, 11, 25)),
        ("2024-11-25 00:00:00", date(2024, 11, 25)),
        (45621.0, date(2024, 11, 25)),
        ("", None),
    ],
)
def test_dates(value: object, expected: date | None) -> None:
    assert cells.to_date(value) == expected


@pytest.mark.parametrize("bad", ["yesterday", "13/45/2024", True])
def test_bad_dates(bad: object) -> None:
    with pytest.raises(cells.CellError):
        cells.to_date(bad)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (time(7, 0), "07:00:00"), ("7:00:00 AM", "07:00:00"), ("7:00:00 PM", "19:00:00"),
        ("12:00:00 AM", "00:00:00"), ("6:00:00", "06:00:00"), ("23:59", "23:59:00"),
        (0.75, "18:00:00"), (timedelta(hours=6), "06:00:00"), ("24:00:00", "23:59:59"),
    ],
)
def test_times(value: object, expected: str) -> None:
    assert cells.to_time_text(value) == expected


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("0:00:30", 30), (":30", 30), ("0:01:00", 60), (timedelta(seconds=15), 15),
        (time(0, 0, 30), 30), (30 / 86400, 30), (30, 30), ("1:00:00", 3600), ("0:28:30", 1710),
    ],
)
def test_lengths(value: object, seconds: int) -> None:
    assert cells.to_seconds(value) == seconds
    assert cells.seconds_text(seconds).count(":") == 2


@pytest.mark.parametrize(
    ("revenue", "spot", "category"),
    [
        ("Internal Ad Sales", "COM", "language_required"),
        ("Local", "BNS", "language_required"),
        ("Internal Ad Sales", "PKG", "review"),
        ("Internal Ad Sales", "BB", "review"),
        ("Direct Response Sales", "COM", "default_english"),
        ("Paid Programming", "PRG", "default_english"),
        ("Branded Content", "PRD", "default_english"),
        ("Other", "SVC", "default_english"),
        ("Other", "COM", "review"),
        ("", "", "review"),
    ],
)
def test_language_category(revenue: str, spot: str, category: str) -> None:
    assert language_category(revenue, spot) == category


@pytest.mark.parametrize(
    ("raw", "canonical"),
    [("A&O", "Internal Ad Sales"), ("a & o", "Internal Ad Sales"),
     ("internal ad sales", "Internal Ad Sales"), ("Direct Response", "Direct Response Sales"),
     ("TRADE", "Trade")],
)
def test_revenue_types(raw: str, canonical: str) -> None:
    assert vocab.revenue_type(raw) == (canonical, True)


def test_spot_types() -> None:
    assert vocab.spot_type("Com") == "COM"
    assert vocab.spot_type("Bonus") == "BNS"
    assert vocab.spot_type("Spot") == "COM"
    assert vocab.spot_type("XX") == ""

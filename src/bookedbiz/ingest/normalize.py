"""Turning one positional log row into typed spot values, or a list of reasons to reject it.

Conversions of repeated values (bill codes, dates, months, times) are memoised per run: a daily
log repeats a few hundred distinct values across ten thousand rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from bookedbiz import broadcast_calendar
from bookedbiz.ingest import vocab
from bookedbiz.ingest.cells import (
    CellError,
    is_blank,
    money_micros,
    seconds_text,
    text,
    to_date,
    to_int,
    to_seconds,
    to_time_text,
)
from bookedbiz.ingest.layout import COLUMNS, HEADERS_2024, INDEX, MONEY_COLUMNS

_I = INDEX
_MONEY = tuple((name, _I[name]) for name in MONEY_COLUMNS)
_TEXT_FIELDS = ("day_of_week", "media", "comments", "format", "estimate", "make_good")


@dataclass
class Reject:
    column: str | None
    value: str | None
    reason: str


@dataclass
class NormalRow:
    values: dict[str, object]
    warnings: list[str] = field(default_factory=list)


@dataclass
class RowCounters:
    blank: int = 0
    footer: int = 0
    month_derived: int = 0
    month_mismatch: int = 0
    unknown_spot_types: dict[str, int] = field(default_factory=dict)
    unknown_revenue_types: dict[str, int] = field(default_factory=dict)
    bad_cells: dict[str, int] = field(default_factory=dict)


def column_label(name: str) -> str:
    """Column name as users see it in the workbook, e.g. 'Unit rate Gross (P)'."""
    index = _I[name]
    letter = chr(ord("A") + index) if index < 26 else "A" + chr(ord("A") + index - 26)
    return f"{HEADERS_2024[index]} ({letter})"


def _cache_key(value: object) -> tuple[type, object]:
    return type(value), value


class RowNormalizer:
    """Stateful per import run: memoises conversions and counts soft problems."""

    def __init__(self) -> None:
        self.counters = RowCounters()
        self._dates: dict[tuple[type, object], date | None | CellError] = {}
        self._months: dict[tuple[type, object], str | None] = {}
        self._times: dict[tuple[type, object], str | None] = {}
        self._lengths: dict[tuple[type, object], int | None] = {}
        self._derived: dict[tuple[date, str | None], str] = {}

    def _date(self, value: object) -> date | None:
        key = _cache_key(value)
        cached = self._dates.get(key, _MISSING)
        if cached is _MISSING:
            try:
                cached = to_date(value)
            except CellError as exc:
                cached = exc
            self._dates[key] = cached
        if isinstance(cached, CellError):
            raise cached
        return cached  # type: ignore[return-value]

    def _soft(self, converter, cache: dict, value: object, column: str):
        key = _cache_key(value)
        if key in cache:
            return cache[key]
        try:
            result = converter(value)
        except CellError:
            result = None
            self.counters.bad_cells[column] = self.counters.bad_cells.get(column, 0) + 1
        cache[key] = result
        return result

    def normalize(self, cells: list[object]) -> NormalRow | list[Reject] | None:
        """A NormalRow, a list of Rejects, or None for a blank or totals/footer row."""
        bill_raw = cells[0]
        air_raw = cells[1]
        if is_blank(bill_raw) and is_blank(air_raw):
            if all(is_blank(c) for c in cells):
                self.counters.blank += 1
            else:
                self.counters.footer += 1
            return None
        bill_code = text(bill_raw)
        if bill_code and is_blank(air_raw) and bill_code.lower().startswith(("total", "grand")):
            self.counters.footer += 1
            return None
        rejects: list[Reject] = []
        if not bill_code:
            rejects.append(Reject(column_label("bill_code"), None, "missing bill code"))
        air_date = None
        if is_blank(air_raw):
            rejects.append(Reject(column_label("air_date"), None, "missing air date"))
        else:
            try:
                air_date = self._date(air_raw)
            except CellError:
                rejects.append(Reject(column_label("air_date"), text(air_raw), "unreadable date"))
        money: dict[str, int | None] = {}
        for name, index in _MONEY:
            try:
                money[name] = money_micros(cells[index])
            except CellError:
                rejects.append(
                    Reject(column_label(name), text(cells[index]), "unparseable money")
                )
        if rejects:
            return rejects
        assert air_date is not None and bill_code is not None

        billing = vocab.billing_type(text(cells[_I["billing_type"]]))
        month_raw = cells[_I["broadcast_month"]]
        month_key = _cache_key(month_raw)
        month = self._months.get(month_key, _MISSING)
        if month is _MISSING:
            month = broadcast_calendar.parse_month(month_raw)
            if month is None and isinstance(month_raw, int | float) and not is_blank(month_raw):
                try:
                    serial = to_date(month_raw)
                    month = broadcast_calendar.calendar_month_of(serial) if serial else None
                except CellError:
                    month = None
            self._months[month_key] = month
        derived_key = (air_date, billing)
        computed = self._derived.get(derived_key)
        if computed is None:
            computed = broadcast_calendar.month_of(air_date, billing)
            self._derived[derived_key] = computed
        month_derived = month is None
        if month_derived:
            month = computed
            self.counters.month_derived += 1
        elif month != computed:
            self.counters.month_mismatch += 1

        end_date = None
        if not is_blank(cells[2]):
            try:
                end_date = self._date(cells[2])
            except CellError:
                self.counters.bad_cells["end_date"] = self.counters.bad_cells.get("end_date", 0) + 1
        length_seconds = self._soft(to_seconds, self._lengths, cells[6], "length")
        spot_raw = text(cells[_I["spot_type"]])
        spot_type = vocab.spot_type(spot_raw)
        if spot_raw and not spot_type:
            bucket = self.counters.unknown_spot_types
            bucket[spot_raw] = bucket.get(spot_raw, 0) + 1
        revenue_raw = text(cells[_I["revenue_type"]])
        revenue, known = vocab.revenue_type(revenue_raw)
        if not known:
            bucket = self.counters.unknown_revenue_types
            bucket[revenue] = bucket.get(revenue, 0) + 1
        values: dict[str, object] = {
            "bill_code": bill_code,
            "air_date": air_date.isoformat(),
            "end_date": end_date.isoformat() if end_date else None,
            "time_in": self._soft(to_time_text, self._times, cells[4], "time_in"),
            "time_out": self._soft(to_time_text, self._times, cells[5], "time_out"),
            "length_seconds": length_seconds,
            "length_text": seconds_text(length_seconds),
            "language_code": text(cells[_I["language_code"]]),
            "spot_type": spot_type,
            "spot_type_raw": spot_raw,
            "broadcast_month": month,
            "month_derived": month_derived,
            "sales_person": text(cells[_I["sales_person"]]),
            "revenue_type": revenue,
            "is_trade": revenue == vocab.TRADE,
            "billing_type": billing,
            "agency_flag": vocab.agency_flag(text(cells[_I["agency_flag"]])),
            "affidavit_flag": vocab.affidavit_flag(text(cells[_I["affidavit_flag"]])),
            "contract": vocab.contract(text(cells[_I["contract"]])),
            "market_code": (text(cells[_I["market"]]) or "").upper(),
            "gross_rate_micros": money["gross_rate"],
            "spot_value_micros": money["spot_value"],
            "broker_fees_micros": money["broker_fees"],
            "station_net_micros": money["station_net"],
            "language_category": vocab.language_category(revenue, spot_type),
        }
        for name in _TEXT_FIELDS:
            values[name] = text(cells[_I[name]])
        for name in ("units", "line_number", "priority"):
            try:
                values[name] = to_int(cells[_I[name]])
            except CellError:
                values[name] = None
                self.counters.bad_cells[name] = self.counters.bad_cells.get(name, 0) + 1
        return NormalRow(values)


_MISSING = object()
assert len(COLUMNS) == 29

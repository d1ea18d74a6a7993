"""Turning one positional log row into typed spot values, or a list of reasons to reject it.

Every column has a memoised converter: a daily log repeats a few hundred distinct values across
ten thousand rows (and a recap a few thousand across half a million), so after the first sight
of a value its conversion is a dictionary lookup. The row comes out as a list in the order of
``VALUE_COLUMNS``, ready for the INSERT.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from bookedbiz import broadcast_calendar, vocab
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
from bookedbiz.ingest.layout import HEADERS_2024, INDEX
from bookedbiz.languages.category import language_category

# Spot columns filled from the row, in INSERT order (the service adds batch and source fields).
VALUE_COLUMNS = (
    "bill_code", "air_date", "end_date", "day_of_week", "time_in", "time_out", "length_text",
    "length_seconds", "media", "comments", "language_code", "format", "units", "line_number",
    "spot_type", "spot_type_raw", "estimate", "gross_rate_micros", "make_good",
    "spot_value_micros", "broadcast_month", "month_derived", "broker_fees_micros", "priority",
    "station_net_micros", "sales_person", "ae_id", "revenue_type", "is_trade", "billing_type",
    "agency_flag", "affidavit_flag", "contract", "market_code", "customer_id", "agency_id",
    "language_category",
)
V = {name: i for i, name in enumerate(VALUE_COLUMNS)}
_I = INDEX
_ERROR = object()


@dataclass
class Reject:
    column: str | None
    value: str | None
    reason: str


@dataclass
class RowCounters:
    blank: int = 0
    footer: int = 0
    repeated_headers: int = 0
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


def _memo(convert: Callable[[object], object]) -> Callable[[object], object]:
    """Memoise a converter; failures are memoised as ``_ERROR``. Booleans bypass the cache
    (True == 1 would share a dictionary slot with the number 1)."""
    cache: dict[object, object] = {}

    def converted(value: object) -> object:
        if value.__class__ is bool:
            try:
                return convert(value)
            except CellError:
                return _ERROR
        try:
            return cache[value]
        except KeyError:
            try:
                result = convert(value)
            except CellError:
                result = _ERROR
            cache[value] = result
            return result

    converted.cache = cache  # type: ignore[attr-defined] - read inline on the hottest cells
    return converted


_MISS = object()


def _spot_type(raw: object) -> tuple[str, str | None]:
    label = text(raw)
    return vocab.spot_type(label), label


def _market(raw: object) -> str:
    return (text(raw) or "").upper()


class RowNormalizer:
    """Stateful per import run: memoised converters and counters of soft problems."""

    def __init__(self) -> None:
        self.counters = RowCounters()
        self._text = [_memo(text) for _ in range(29)]
        self._date = _memo(to_date)
        self._month = _memo(_month_cell)
        self._time = _memo(to_time_text)
        self._length = _memo(to_seconds)
        self._length_text = _memo(seconds_text)
        self._int = _memo(to_int)
        self._money = _memo(money_micros)
        self._spot = _memo(_spot_type)
        self._revenue = _memo(lambda raw: vocab.revenue_type(text(raw)))
        self._billing = _memo(lambda raw: vocab.billing_type(text(raw)))
        self._agency_flag = _memo(lambda raw: vocab.agency_flag(text(raw)))
        self._affidavit = _memo(lambda raw: vocab.affidavit_flag(text(raw)))
        self._contract = _memo(lambda raw: vocab.contract(text(raw)))
        self._market = _memo(_market)
        self._derived: dict[tuple[object, str | None], str] = {}
        self._category: dict[tuple[str, str], str] = {}

    def _bad(self, column: str) -> None:
        self.counters.bad_cells[column] = self.counters.bad_cells.get(column, 0) + 1

    def normalize(self, cells: list[object]) -> list[object] | list[Reject] | None:
        """Values in VALUE_COLUMNS order, a list of Rejects, or None for a blank/footer row."""
        bill_code = self._text[0](cells[0])
        air_raw = cells[1]
        air_blank = air_raw == "" or air_raw is None
        if bill_code is None and air_blank:
            if all(is_blank(c) for c in cells):
                self.counters.blank += 1
            else:
                self.counters.footer += 1
            return None
        if bill_code is not None and air_blank and bill_code.lower().startswith(("total",
                                                                                 "grand")):
            self.counters.footer += 1
            return None
        rejects: list[Reject] | None = None
        if bill_code is None:
            rejects = [Reject(column_label("bill_code"), None, "missing bill code")]
        air = None if air_blank else self._date(air_raw)
        if air_blank:
            rejects = (rejects or []) + [Reject(column_label("air_date"), None,
                                                "missing air date")]
        elif air is _ERROR:
            rejects = (rejects or []) + [Reject(column_label("air_date"), text(air_raw),
                                                "unreadable date")]
        # The four money cells, looked up in the memo inline (booleans never hit the cache).
        money, cached = self._money, self._money.cache
        amounts = []
        for cell in (cells[15], cells[17], cells[19], cells[21]):
            amount = cached.get(cell, _MISS) if cell.__class__ is not bool else _MISS
            amounts.append(money(cell) if amount is _MISS else amount)
        gross, value, broker, net = amounts
        if gross is _ERROR or value is _ERROR or broker is _ERROR or net is _ERROR:
            rejects = rejects or []
            for name, index, result in (("gross_rate", 15, gross), ("spot_value", 17, value),
                                        ("broker_fees", 19, broker), ("station_net", 21, net)):
                if result is _ERROR:
                    rejects.append(Reject(column_label(name), text(cells[index]),
                                          "unparseable money"))
        if rejects:
            return rejects

        billing = self._billing(cells[24])
        month = self._month(cells[18])
        derived_key = (air, billing)
        computed = self._derived.get(derived_key)
        if computed is None:
            computed = self._derived[derived_key] = broadcast_calendar.month_of(air, billing)
        month_derived = month is None or month is _ERROR
        if month_derived:
            month = computed
            self.counters.month_derived += 1
        elif month != computed:
            self.counters.month_mismatch += 1

        end = cells[2]
        end_date = None
        if not (end == "" or end is None):
            end_date = self._date(end)
            if end_date is _ERROR:
                end_date = None
                self._bad("end_date")
        times = []
        for index, name in ((4, "time_in"), (5, "time_out")):
            converted = self._time(cells[index])
            if converted is _ERROR:
                converted = None
                self._bad(name)
            times.append(converted)
        seconds = self._length(cells[6])
        if seconds is _ERROR:
            seconds = None
            self._bad("length")
        spot_type, spot_raw = self._spot(cells[13])
        if spot_raw and not spot_type:
            bucket = self.counters.unknown_spot_types
            bucket[spot_raw] = bucket.get(spot_raw, 0) + 1
        revenue, known = self._revenue(cells[23])
        if not known:
            bucket = self.counters.unknown_revenue_types
            bucket[revenue] = bucket.get(revenue, 0) + 1
        category_key = (revenue, spot_type)
        category = self._category.get(category_key)
        if category is None:
            category = self._category[category_key] = language_category(revenue, spot_type)
        ints = []
        for index, name in ((11, "units"), (12, "line_number"), (20, "priority")):
            converted = self._int(cells[index])
            if converted is _ERROR:
                converted = None
                self._bad(name)
            ints.append(converted)
        # Free-text columns: a plain string needs only a strip, inline (this runs per cell).
        t = self._text
        v3, v7, v8, v9, v10, v14, v16, v22 = (cells[3], cells[7], cells[8], cells[9], cells[10],
                                              cells[14], cells[16], cells[22])
        return [
            bill_code, air.isoformat(), end_date.isoformat() if end_date else None,
            (v3.strip() or None) if v3.__class__ is str else t[3](v3),
            times[0], times[1], self._length_text(seconds), seconds,
            (v7.strip() or None) if v7.__class__ is str else t[7](v7),
            (v8.strip() or None) if v8.__class__ is str else t[8](v8),
            (v9.strip() or None) if v9.__class__ is str else t[9](v9),
            (v10.strip() or None) if v10.__class__ is str else t[10](v10),
            ints[0], ints[1], spot_type, spot_raw,
            (v14.strip() or None) if v14.__class__ is str else t[14](v14),
            gross,
            (v16.strip() or None) if v16.__class__ is str else t[16](v16),
            value, month, month_derived, broker, ints[2], net,
            (v22.strip() or None) if v22.__class__ is str else t[22](v22),
            None, revenue, revenue == vocab.TRADE, billing, self._agency_flag(cells[25]),
            self._affidavit(cells[26]), self._contract(cells[27]), self._market(cells[28]),
            None, None, category,
        ]


def _month_cell(value: object) -> str | None:
    """The Month column: a date cell, text like ``Nov-24``, or an Excel serial number."""
    month = broadcast_calendar.parse_month(value)
    if month is None and isinstance(value, int | float) and not isinstance(value, bool):
        serial = to_date(value)
        month = broadcast_calendar.calendar_month_of(serial) if serial else None
    return month

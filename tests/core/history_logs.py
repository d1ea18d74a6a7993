"""A sequence of daily logs with a known booking curve, and an independent reading of it.

Orders are booked weeks to months before their month, some grow later, some are cancelled, one
is Trade; the log of day D holds every order booked by D and not yet cancelled, for the months
from last calendar month on (as a traffic system exports them). The independent side reads the
written workbooks back with openpyxl and applies SPEC §1.3/§1.4 in plain Python: month M as of X
is month M of the newest log dated on or before X that holds month M and does not skip it as the
previous calendar month. No code is shared with bookedbiz's importer or history.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from pathlib import Path

import openpyxl
import xlsxwriter

from bookedbiz.ingest.layout import HEADERS_2024 as HEADERS

ABBR = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
CUSTOMERS = ["Acme Foods", "Agency One:Blue Sky Travel", "Golden Dragon Restaurant",
             "Agency One:Pho Saigon", "Lotus Insurance", "Agency Two:Maple Dental",
             "Sunrise Realty", "Agency Two:Harbor Bank"]
AES = ["Alice Tran", "Bob Ortiz", "Chen Wei"]
MARKETS = ["SEA", "LAX", "SFO"]
LANGUAGES = ["M", "C", "V", "E", ""]
REVENUE = ["Internal Ad Sales", "Internal Ad Sales", "Direct Response Sales"]


def month_key(year: int, month: int) -> str:
    return f"{year:04d}-{month:02d}"


def shift(key: str, delta: int) -> str:
    y, m = int(key[:4]), int(key[5:])
    index = y * 12 + (m - 1) + delta
    return month_key(index // 12, index % 12 + 1)


def month_start(key: str) -> date:
    """Broadcast month start: the Monday on or before the 1st of the calendar month."""
    first = date(int(key[:4]), int(key[5:]), 1)
    return first - timedelta(days=first.weekday())


@dataclass
class Order:
    contract: str
    bill_code: str
    ae: str
    market: str
    revenue: str
    language: str
    month: str
    booked: date
    rows: list[tuple[float, float]]
    cancelled: date | None = None
    extra_on: date | None = None
    extra_rows: list[tuple[float, float]] = field(default_factory=list)

    def rows_on(self, day: date) -> list[tuple[float, float]]:
        if day < self.booked or (self.cancelled is not None and day >= self.cancelled):
            return []
        if self.extra_on is not None and day >= self.extra_on:
            return self.rows + self.extra_rows
        return list(self.rows)


def make_orders(first: str, last: str, seed: int = 7, per_month: int = 6) -> list[Order]:
    rng = random.Random(seed)
    orders: list[Order] = []
    month, number = first, 1000
    while month <= last:
        start = month_start(month)
        for i in range(per_month + rng.randint(0, 3)):
            number += 1
            booked = start - timedelta(days=rng.randint(-20, 150))
            rows = []
            for _ in range(rng.randint(1, 4)):
                gross = round(rng.uniform(50, 900), 2)
                rows.append((gross, round(gross * 0.85, 4)))  # fractions of a cent, as agencies
            order = Order(
                contract="0" if i % 5 == 4 else ("" if i % 7 == 6 else str(number)),
                bill_code=rng.choice(CUSTOMERS), ae=rng.choice(AES), market=rng.choice(MARKETS),
                revenue="Trade" if i == 0 and month.endswith(("3", "9")) else rng.choice(REVENUE),
                language=rng.choice(LANGUAGES), month=month, booked=booked, rows=rows,
            )
            roll = rng.random()
            if roll < 0.2:
                order.cancelled = booked + timedelta(days=rng.randint(5, 90))
            elif roll < 0.4:
                order.extra_on = booked + timedelta(days=rng.randint(5, 60))
                order.extra_rows = [(round(rng.uniform(20, 400), 2), 0.0)]
                order.extra_rows = [(g, round(g * 0.85, 4)) for g, _ in order.extra_rows]
            orders.append(order)
        month = shift(month, 1)
    return orders


def months_in_log(day: date) -> tuple[str, str]:
    """A log of ``day`` holds last calendar month through twelve months ahead."""
    current = month_key(day.year, day.month)
    return shift(current, -1), shift(current, 12)


def write_daily_log(orders: list[Order], day: date, folder: Path) -> Path:
    path = folder / f"Commercial Log {day:%y%m%d}.xlsx"
    book = xlsxwriter.Workbook(str(path))
    sheet = book.add_worksheet("Commercials")
    sheet.write_row(0, 0, HEADERS)
    low, high = months_in_log(day)
    r = 0
    for order in orders:
        if not low <= order.month <= high:
            continue
        for line, (gross, net) in enumerate(order.rows_on(day), start=1):
            r += 1
            air = month_start(order.month) + timedelta(days=7 + line)
            cells = [""] * 29
            cells[0] = order.bill_code
            cells[1] = air.strftime("%m/%d/%Y")
            cells[2] = cells[1]
            cells[4], cells[5], cells[6] = "7:00:00 AM", "7:00:30 AM", "0:00:30"
            cells[9] = order.language
            cells[12] = line
            cells[13] = "COM"
            cells[15] = gross
            cells[17] = gross
            cells[18] = f"{ABBR[int(order.month[5:]) - 1]}-{order.month[2:4]}"
            cells[21] = net
            cells[22] = order.ae
            cells[23] = order.revenue
            cells[24] = "Broadcast"
            cells[25] = "Agency" if ":" in order.bill_code else "Non-agency"
            cells[27] = order.contract
            cells[28] = order.market
            for c, value in enumerate(cells):
                if value != "":
                    sheet.write(r, c, value)
    book.close()
    return path


def log_days(first: date, last: date, step_days: int) -> list[date]:
    days, day = [], first
    while day <= last:
        days.append(day)
        day += timedelta(days=step_days)
    return days


# --- the independent side ------------------------------------------------------------------

def _money(value: object) -> Decimal:
    return Decimal(repr(value)) if isinstance(value, int | float) else Decimal(0)


def _month(text: str) -> str:
    mon, yy = text.split("-")
    return f"20{yy}-{ABBR.index(mon) + 1:02d}"


def read_log(path: Path) -> dict[str, dict[str, dict[str, Decimal]]]:
    """month → ae → {gross, net} of one written log (Trade excluded), with openpyxl."""
    book = openpyxl.load_workbook(path, read_only=True)
    out: dict[str, dict[str, dict[str, Decimal]]] = {}
    months_seen: set[str] = set()
    for row in book["Commercials"].iter_rows(min_row=2, values_only=True):
        month = _month(str(row[18]))
        months_seen.add(month)
        by_ae = out.setdefault(month, {})
        if row[23] == "Trade":
            continue
        sums = by_ae.setdefault(str(row[22]), {"gross": Decimal(0), "net": Decimal(0)})
        sums["gross"] += _money(row[15])
        sums["net"] += _money(row[21])
    book.close()
    for month in months_seen:
        out.setdefault(month, {})
    return out


def _log_date(path: Path) -> date:
    return datetime.strptime(path.stem[-6:], "%y%m%d").date()


class IndependentBook:
    """Booked money per month (and AE) as of any date, from the logs alone."""

    def __init__(self, paths: list[Path]):
        self.logs = sorted(((_log_date(p), read_log(p)) for p in paths), key=lambda x: x[0])

    def month_as_of(self, month: str, as_of: date | None) -> dict[str, dict[str, Decimal]]:
        state: dict[str, dict[str, Decimal]] = {}
        for day, content in self.logs:
            if as_of is not None and day > as_of:
                break
            previous = shift(month_key(day.year, day.month), -1)
            if month in content and month != previous:
                state = content[month]
        return state

    def total(self, month: str, as_of: date | None, measure: str = "gross",
              ae: str | None = None) -> Decimal:
        state = self.month_as_of(month, as_of)
        exact = sum((v[measure] for k, v in state.items() if ae is None or k == ae),
                    Decimal(0))
        return exact.quantize(Decimal("0.01"), rounding=ROUND_HALF_EVEN)

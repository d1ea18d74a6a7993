"""Synthetic commercial-log rows with the distributions of a real station (see
``original-domain.md`` §7) and, optionally, the quirks real logs carry: blank rows, a totals row,
text dates and months, ``$1,234.00`` text money, Trade rows, negative credits, casing drift,
unknown markets, ``L`` and junk language codes, duplicates.

Same spec and seed → the same rows, always.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, time, timedelta

from bookedbiz import broadcast_calendar as bc
from bookedbiz.synth.universe import LANGUAGES, MARKETS, Customer, Universe, build_universe

KINDS = ("daily", "recap")
DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_WINDOWS = ((time(6), time(23, 59)),) * 7 + (
    (time(16), time(19)), (time(19), time(23, 59)), (time(6), time(7)), (time(20), time(23, 30)),
)
_LENGTHS = ((30, 60), (15, 15), (60, 15), (45, 3), (120, 2), (10, 3), (5, 2))
# Booked revenue is seasonal (political and holiday Q4) and grows a little every year.
_SEASON = (0.85, 0.85, 0.95, 1.0, 1.05, 1.0, 0.95, 0.95, 1.05, 1.15, 1.2, 1.1)
_AES = (("Charmaine Lane", 62), ("Riley Van Patten", 25), ("House", 8),
        ("White Horse International", 3), ("Overseas Partnership", 2))


@dataclass(frozen=True)
class LogSpec:
    start: str
    months: int
    rows_per_month: int
    seed: int = 1
    kind: str = "daily"
    quirks: bool = True

    def month_keys(self) -> list[str]:
        return [bc.shift_month(self.start, i) for i in range(self.months)]


def _weighted(rng: random.Random, pairs) -> object:
    values, weights = zip(*pairs, strict=True)
    return rng.choices(values, weights)[0]


class RowFactory:
    """Builds rows for one spec; holds the seeded RNG and the universe."""

    def __init__(self, spec: LogSpec, universe: Universe | None = None):
        self.spec = spec
        self.rng = random.Random(spec.seed)
        self.universe = universe or build_universe(spec.seed)
        customers = self.universe.customers
        self._customer_weights = [c.weight for c in customers]
        self._cum = list(_cumulative(self._customer_weights))
        self._contracts: dict[str, int] = {}

    # -- pieces ----------------------------------------------------------------------------
    def _customer(self) -> Customer:
        return self.rng.choices(self.universe.customers, cum_weights=self._cum)[0]

    def _ae_for(self, customer: Customer, year: int) -> str:
        index = sum(map(ord, customer.name)) % 100
        cumulative = 0
        name = "House"
        for candidate, share in _AES:
            cumulative += share
            if index < cumulative:
                name = candidate
                break
        if name == "Riley Van Patten" and year >= 2025:
            name = "Charmaine Lane"
        roll = self.rng.random()
        if self.spec.quirks:
            if roll < 0.005:
                return ""
            if roll < 0.02:
                return name.lower()
            if roll < 0.03 and name == "Charmaine Lane":
                return "Charmaine Lane - TRANSFER"
            if roll < 0.05 and name == "Riley Van Patten":
                return "Riley van Patten"
        return name

    def _revenue_type(self, sheet: str, year: int) -> str:
        if sheet == "Worldlink Lines":
            return "Direct Response Sales"
        if self.spec.kind == "recap":
            pairs = (("Internal Ad Sales", 53), ("Direct Response Sales", 40),
                     ("Paid Programming", 2), ("Branded Content", 0.6), ("Other", 3),
                     ("Services", 0.2), ("Trade", 0.4))
        else:
            pairs = (("Internal Ad Sales", 89), ("Direct Response Sales", 1),
                     ("Paid Programming", 3), ("Branded Content", 1.2), ("Other", 3),
                     ("Services", 0.3), ("Trade", 0.5))
        revenue = _weighted(self.rng, pairs)
        if revenue == "Internal Ad Sales" and year < 2022 and self.rng.random() < 0.3:
            return self.rng.choice(("A&O", "Local"))
        return revenue  # type: ignore[return-value]

    def _spot_type(self, revenue: str) -> str:
        rng = self.rng
        if revenue in ("Internal Ad Sales", "A&O", "Local", "Trade"):
            kind = _weighted(rng, (("COM", 72), ("BNS", 22), ("AV", 4), ("BB", 1), ("PKG", 0.5),
                                   ("CRD", 0.5)))
        elif revenue == "Direct Response Sales":
            kind = "COM"
        elif revenue == "Paid Programming":
            kind = "PRG"
        elif revenue == "Branded Content":
            kind = "PRD"
        elif revenue == "Services":
            kind = "SVC"
        else:
            kind = _weighted(rng, (("COM", 50), ("SVC", 30), ("PRD", 20)))
        if self.spec.quirks:
            roll = rng.random()
            if roll < 0.1:
                return str(kind).capitalize()
            if roll < 0.11:
                return {"COM": "Spot", "BNS": "Bonus"}.get(str(kind), str(kind))
            if roll < 0.112:
                return "XX"
        return str(kind)

    def _language(self, revenue: str) -> str:
        rng = self.rng
        if revenue not in ("Internal Ad Sales", "A&O", "Local"):
            return "E" if rng.random() < 0.9 else ""
        if self.spec.quirks:
            roll = rng.random()
            if roll < 0.004:
                return "L"
            if roll < 0.0045:
                return ""
            if roll < 0.0055:
                return rng.choice(("X", "H", "ZZ"))
        return str(_weighted(rng, LANGUAGES))

    def _rates(self, revenue: str, spot_type: str, agency: bool,
               factor: float = 1.0) -> tuple[object, object]:
        rng = self.rng
        st = spot_type.upper()
        if st in ("BNS", "BONUS"):
            return (None, None) if rng.random() < 0.7 else (0.0, 0.0)
        if revenue == "Direct Response Sales":
            if rng.random() < 0.2:
                return None, None
            amount = round(rng.uniform(1, 20), 2)
            return amount, amount
        if revenue == "Paid Programming":
            net = round(rng.uniform(100, 1000), 2)
        elif revenue == "Branded Content":
            net = round(rng.uniform(300, 2000), 2)
        else:
            net = round(min(max(math.exp(rng.gauss(math.log(34), 1.12)), 9), 350) * factor, 2)
        if rng.random() < 0.003:
            net = -net
        if agency:
            return net / 0.85, net
        return net, net

    # -- a whole row -----------------------------------------------------------------------
    def row(self, month: str, sheet: str) -> list[object]:
        rng = self.rng
        year = int(month[:4])
        revenue = self._revenue_type(sheet, year)
        calendar_billing = rng.random() < 0.05
        if calendar_billing:
            first = date(year, int(month[5:]), 1)
            last = bc.shift_month(month, 1)
            span = (date(int(last[:4]), int(last[5:]), 1) - first).days
        else:
            first = bc.broadcast_month_start(month)
            span = (bc.broadcast_month_end(month) - first).days + 1
        air = first + timedelta(days=rng.randrange(span))
        if revenue == "Direct Response Sales":
            advertiser = rng.choice(self.universe.worldlink_advertisers)
            bill_code, agency_business, ae = f"WorldLink:{advertiser}", True, "House"
        else:
            customer = self._customer()
            if revenue == "Paid Programming" and rng.random() < 0.5:
                programmer = rng.choice(self.universe.paid_programmers)
                customer = Customer(programmer, None, None, 1, False)
            parts = [p for p in (customer.agency, customer.second_agency) if p]
            name = customer.name
            if revenue == "Branded Content" and rng.random() < 0.3:
                name += rng.choice((" PRODUCTION", " PROD", "- PROD"))
            if self.spec.quirks and rng.random() < 0.01:
                name = name.upper()
            bill_code = ":".join([*parts, name])
            agency_business = customer.agency_business
            ae = self._ae_for(customer, year)
        spot_type = self._spot_type(revenue)
        factor = _SEASON[int(month[5:]) - 1] * (1 + 0.05 * (year - 2024))
        gross, net = self._rates(revenue, spot_type, agency_business, factor)
        if self.spec.quirks and gross is not None and rng.random() < 0.002:
            bill_code += " (Broker Fees - DO NOT INVOICE)"
            gross, net = -abs(float(gross)), -abs(float(net))  # type: ignore[arg-type]
        window = rng.choice(_WINDOWS)
        seconds = (1710 if rng.random() < 0.5 else 3510) if spot_type == "PRG" else int(
            _weighted(rng, _LENGTHS))
        contract_key = bill_code
        contract = self._contracts.setdefault(contract_key, 100000 + len(self._contracts) * 7)
        billing = "Calendar" if calendar_billing else "Broadcast"
        month_cell = date(air.year, air.month, 1) if calendar_billing else date(
            year, int(month[5:]), 1)
        market = str(_weighted(rng, MARKETS))
        row: list[object] = [
            bill_code, air, air, DAYS[air.weekday()], window[0], window[1],
            timedelta(seconds=seconds), f"{bill_code.split(':')[-1][:20]} :{seconds}",
            "" if rng.random() < 0.8 else f"aired {window[0].strftime('%H:%M')}",
            self._language(revenue), rng.choice(("News", "Drama", "Variety", "Talk", "Movie")),
            1, rng.randint(1, 12), spot_type, f"E{rng.randint(1000, 9999)}", gross, "",
            gross, month_cell, None, rng.choice((0, 1, 2)), net, ae, revenue, billing,
            "Agency" if agency_business else "Non-agency", rng.choice(("Y", "N", "")),
            str(contract) if rng.random() > 0.03 else "0", market,
        ]
        if self.spec.quirks:
            self._quirk(row)
        return row

    def _quirk(self, row: list[object]) -> None:
        roll = self.rng.random()
        if roll < 0.005:
            row[1] = row[1].strftime("%m/%d/%Y")  # type: ignore[union-attr]
        elif roll < 0.01:
            month = row[18]
            row[18] = month.strftime("%b-%y")  # type: ignore[union-attr]
        elif roll < 0.015 and isinstance(row[15], float):
            row[15] = f"${row[15]:,.2f}"
            row[21] = f"${row[21]:,.2f}" if isinstance(row[21], float) else row[21]
            row[17] = row[15]
        elif roll < 0.016:
            row[28] = "XYZ"
        elif roll < 0.017:
            row[24] = "broadcast"
            row[26] = "maybe"
        elif roll < 0.02:
            row[4] = row[4].strftime("%I:%M:%S %p").lstrip("0")  # type: ignore[union-attr]


def _cumulative(weights):
    total = 0.0
    for w in weights:
        total += w
        yield total


def sheet_plan(spec: LogSpec) -> list[tuple[str, int]]:
    """(sheet name, rows per month) for the workbook kind."""
    if spec.kind == "recap":
        return [("Data", spec.rows_per_month)]
    rng = random.Random(spec.seed + 99)
    worldlink = max(1, min(60, spec.rows_per_month // 200))
    extra = max(0, min(50, spec.rows_per_month // 250))
    return [
        ("Commercials", spec.rows_per_month - worldlink - 2 * extra),
        ("Worldlink Lines", worldlink),
        ("Add to booked business", rng.randint(0, extra) if extra else 0),
        ("Pending", rng.randint(0, extra) if extra else 0),
    ]


def generate_sheets(spec: LogSpec) -> Iterator[tuple[str, Iterator[list[object]]]]:
    """Yield (sheet name, rows) in workbook order; rows include blank and totals rows."""
    if spec.kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}")
    factory = RowFactory(spec)
    months = spec.month_keys()
    for sheet, per_month in sheet_plan(spec):
        yield sheet, _sheet_rows(factory, spec, sheet, per_month, months)


def _sheet_rows(factory: RowFactory, spec: LogSpec, sheet: str, per_month: int,
                months: list[str]) -> Iterator[list[object]]:
    rng = factory.rng
    gross_total = 0.0
    previous: list[object] | None = None
    for month in months:
        for _ in range(per_month):
            if spec.quirks and previous is not None and rng.random() < 0.002:
                yield list(previous)  # duplicate rows happen (rescheduled spots)
            row = factory.row(month, sheet)
            if spec.quirks and rng.random() < 0.002:
                yield [""] * 29
            if isinstance(row[15], float):
                gross_total += row[15]
            previous = row
            yield row
    if spec.quirks and sheet in ("Commercials", "Data") and per_month:
        totals: list[object] = [""] * 29
        totals[15] = round(gross_total, 2)
        totals[14] = "Total"
        yield totals

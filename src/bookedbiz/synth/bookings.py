"""A station's orders over time: what was booked when, and what became of it.

Each advertiser-year becomes a few flights (orders with a contract number), each booked some
weeks or months before it airs (a few late, inside the month), and some cancelled, reduced or
topped up later. Every spot knows the day it went on the books and the day it came off (if it
did), so the daily log for any as-of date is a filter, and consecutive logs agree with each other.
From ``story_from`` on, the station books more and earlier than a year before, except one AE
and one market: pacing has a story to tell.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, time, timedelta

from bookedbiz import broadcast_calendar as bc
from bookedbiz.synth.advertisers import (
    HOUSE,
    Advertiser,
    Roster,
    build_roster,
    weighted_choice,
)

DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
SEASON = (0.85, 0.85, 0.95, 1.0, 1.05, 1.0, 0.95, 0.95, 1.05, 1.15, 1.2, 1.1)
GROWTH = 1.04
STORY_AE = "Riley Van Patten"
STORY_MARKET = "LAX"
_WINDOWS = ((time(6), time(23, 59)),) * 5 + (
    (time(16), time(19)), (time(19), time(23, 59)), (time(6), time(9)), (time(20), time(23, 30)),
)
_LENGTHS = ((30, 60), (15, 15), (60, 15), (45, 3), (120, 2), (10, 3))
_FORMATS = ("News", "Drama", "Variety", "Talk", "Movie", "Sports", "Kids")
# (share of orders, lead-time range in days before the flight's first month starts);
# None = booked late, inside the month.
_LEADS = ((0.10, (100, 320)), (0.17, (56, 100)), (0.50, (14, 56)), (0.13, (0, 14)),
          (0.10, None))
SHEET_MAIN, SHEET_WORLDLINK = "Commercials", "Worldlink Lines"
SHEET_ADDED = "Add to booked business"
SHEETS = (SHEET_MAIN, SHEET_WORLDLINK, SHEET_ADDED)


@dataclass
class Spot:
    """One row of the log and the days it is on the books: ``booked <= as_of < removed``."""

    month: str
    air: date
    booked: date
    removed: date | None
    sheet: str
    cells: list[object]

    def on_books(self, as_of: date) -> bool:
        return self.booked <= as_of and (self.removed is None or as_of < self.removed)


@dataclass
class Order:
    """A contract: one advertiser, bill code, AE and market over one to three months."""

    key: tuple[int, int, int, int]  # (year, advertiser or 0, flight, worldlink index)
    bill_code: str
    advertiser: str
    ae: str
    market: str
    revenue_type: str
    months: list[str]
    booked: date
    agency_business: bool
    cancelled: date | None = None
    reduced: date | None = None
    increased: date | None = None
    contract: str = "0"
    plan: list[tuple[str, int, str]] = field(default_factory=list)  # (month, spots, sheet)
    spots: list[Spot] = field(default_factory=list)


def _month_span(month: str, calendar: bool) -> tuple[date, date]:
    if calendar:
        year, number = bc.split_month(month)
        nxt = bc.split_month(bc.shift_month(month, 1))
        return date(year, number, 1), date(nxt[0], nxt[1], 1) - timedelta(days=1)
    return bc.broadcast_month_start(month), bc.broadcast_month_end(month)


class BookingModel:
    """Every order and spot of a station from ``first_month`` to ``last_month``, fixed by the
    seed; ``rows_per_month`` is the rough number of spots a month ends with."""

    def __init__(self, seed: int, first_month: str, last_month: str, rows_per_month: int,
                 story_from: str | None = None, quirks: bool = True):
        self.seed, self.first_month, self.last_month = seed, first_month, last_month
        self.rows_per_month, self.story_from, self.quirks = rows_per_month, story_from, quirks
        first_year, last_year = int(first_month[:4]), int(last_month[:4])
        self.roster: Roster = build_roster(seed, first_year - 1, last_year)
        self._by_name = {a.name: a for a in self.roster.advertisers}
        # the station grows a steady 4% a year, whoever the advertisers are that year
        middle = (first_year + last_year) / 2
        self._spots_per_volume = {
            y: 12 * rows_per_month * 0.93 * GROWTH ** (y - middle)
            / sum(a.volume(y) for a in self.roster.advertisers)
            for y in range(first_year - 1, last_year + 1)}
        self.orders: list[Order] = []
        for year in range(first_year - 1, last_year + 1):
            for advertiser in self.roster.active(year):
                self.orders.extend(self._advertiser_orders(advertiser, year))
        for month in self._all_months(bc.shift_month(first_month, -1), last_month):
            self.orders.extend(self._worldlink_orders(month))
        self.orders.sort(key=lambda o: (o.booked, o.key))
        for number, order in enumerate(self.orders):
            contract_rng = random.Random(f"contract:{seed}:{order.key}")
            order.contract = "0" if quirks and contract_rng.random() < 0.03 else str(
                260000 + number * 3 + contract_rng.randint(0, 2))
            self._build_spots(order)
        self.by_month: dict[str, list[Spot]] = {}
        for order in self.orders:
            for spot in order.spots:
                if first_month <= spot.month <= last_month:
                    self.by_month.setdefault(spot.month, []).append(spot)

    # -- the years and months -----------------------------------------------------------
    @staticmethod
    def _all_months(first: str, last: str) -> Iterator[str]:
        month = first
        while month <= last:
            yield month
            month = bc.shift_month(month, 1)

    def in_story(self, month: str) -> bool:
        return self.story_from is not None and month >= self.story_from

    # -- orders ---------------------------------------------------------------------------
    def _advertiser_orders(self, adv: Advertiser, year: int) -> list[Order]:
        rng = random.Random(f"orders:{self.seed}:{adv.key}:{year}")
        total = adv.volume(year) * self._spots_per_volume[year]
        flights = max(1, min(36, 1 + int(total / 12)))
        orders = []
        main_path = adv.path_for(year)
        offset = rng.random()
        for flight in range(flights):
            # flights spread over the year (a big account is on air most months)
            start = bc.month_key(year, 1 + int((offset + flight) * 12 / flights) % 12)
            length = int(weighted_choice(rng, ((1, 60), (2, 30), (3, 10))))
            months = [bc.shift_month(start, i) for i in range(length)]
            story = self.in_story(start)
            scale = 1.0
            if story:
                scale = 0.7 if adv.ae == STORY_AE else 1.15
            market = str(weighted_choice(rng, adv.markets))
            if story and market == STORY_MARKET:
                scale *= 0.65
            per_month = total / flights / length * scale
            counts = [max(1, round(per_month * SEASON[int(m[5:]) - 1] * rng.uniform(0.85, 1.15)))
                      for m in months]
            path = adv.paths[main_path if rng.random() < 0.85 else rng.randrange(len(adv.paths))]
            order = Order(
                key=(year, adv.key, flight, 0),
                bill_code=self._bill_code(rng, adv, path),
                advertiser=adv.name, ae=adv.ae, market=market,
                revenue_type=self._revenue_type(rng, adv, year), months=months,
                booked=self._booked(rng, start, story, adv.ae), agency_business=bool(path),
            )
            order.plan = [(m, n, SHEET_MAIN) for m, n in zip(months, counts, strict=True)]
            self._changes(rng, order)
            orders.append(order)
        return orders

    def _worldlink_orders(self, month: str) -> list[Order]:
        rng = random.Random(f"worldlink:{self.seed}:{month}")
        orders = []
        count = max(1, round(self.rows_per_month * 0.04))
        for index, name in enumerate(rng.sample(self.roster.worldlink, rng.randint(2, 4))):
            start = bc.broadcast_month_start(month)
            order = Order(
                key=(int(month[:4]), 0, int(month[5:]), index + 1),
                bill_code=f"WorldLink:{name}", advertiser=name, ae=HOUSE, market="ADMIN"
                if rng.random() < 0.1 else "SEA", revenue_type="Direct Response Sales",
                months=[month], booked=start - timedelta(days=rng.randint(5, 35)),
                agency_business=True,
            )
            order.plan = [(month, max(1, count // 3), SHEET_WORLDLINK)]
            orders.append(order)
        return orders

    def _booked(self, rng: random.Random, start: str, story: bool, ae: str) -> date:
        first_day = bc.broadcast_month_start(start)
        lead = weighted_choice(rng, tuple((span, share) for share, span in _LEADS))
        if lead is None:
            return first_day + timedelta(days=rng.randint(0, 20))
        low, high = lead  # type: ignore[misc]
        days = rng.uniform(low, high)
        if story:
            days *= 0.75 if ae == STORY_AE else 1.4
        return first_day - timedelta(days=round(days))

    def _bill_code(self, rng: random.Random, adv: Advertiser, path: tuple[str, ...]) -> str:
        name = adv.name
        if self.quirks:
            roll = rng.random()
            if roll < 0.04:
                name = name.upper()
            elif roll < 0.06:
                name = name.lower()
            elif roll < 0.07:
                name = "  ".join(name.split(" "))
        if adv.kind == "branded" and rng.random() < 0.4:
            name += rng.choice((" PROD", " PRODUCTION", "- PROD"))
        elif self.quirks and rng.random() < 0.02:
            name += " PROD"
        agencies = list(path)
        if self.quirks and agencies and rng.random() < 0.04:
            agencies[0] = agencies[0].upper()
        return ":".join([*agencies, name])

    def _revenue_type(self, rng: random.Random, adv: Advertiser, year: int) -> str:
        if adv.kind == "paid":
            return "Paid Programming"
        if adv.kind == "branded":
            return "Branded Content"
        if adv.kind == "other":
            return "Other"
        if rng.random() < 0.01:
            return "Trade"
        if year < 2022 and rng.random() < 0.3:
            return rng.choice(("A&O", "Local"))
        return "Internal Ad Sales"

    def _changes(self, rng: random.Random, order: Order) -> None:
        """Some orders are cancelled, reduced or topped up after they are booked."""
        last_day = bc.broadcast_month_end(order.months[-1])
        window = (last_day - order.booked).days
        if window < 12:
            return
        roll = rng.random()
        moment = order.booked + timedelta(days=rng.randint(4, window - 6))
        if roll < 0.05:
            order.cancelled = moment
        elif roll < 0.13:
            order.reduced = moment
        elif roll < 0.22:
            order.increased = moment

    # -- spots ----------------------------------------------------------------------------
    def _build_spots(self, order: Order) -> None:
        rng = random.Random(f"spots:{self.seed}:{order.key}")
        calendar = rng.random() < 0.05 and order.ae != HOUSE
        estimate = f"E{rng.randint(1000, 9999)}"
        seconds = int(weighted_choice(rng, _LENGTHS))
        sales_person = order.ae
        if self.quirks and rng.random() < 0.02:
            sales_person = order.ae.lower()
        lines = [(rng.choice(_WINDOWS), rng.uniform(0.7, 1.4), rng.randint(1, 12))
                 for _ in range(rng.randint(1, 3))]
        rate = self._rate(rng, order)
        for month, count, sheet in order.plan:
            first, last = _month_span(month, calendar)
            if order.booked >= first:  # a late order airs after it is booked
                first = min(order.booked + timedelta(days=1), last)
            for index in range(count):
                self._add_spot(rng, order, month, first, last, sheet, order.booked, lines[
                    index % len(lines)], rate, estimate, seconds, sales_person, calendar)
            if order.increased is not None:
                extra_first = max(first, order.increased + timedelta(days=1))
                if extra_first <= last:
                    for index in range(max(1, count // 4)):
                        self._add_spot(rng, order, month, extra_first, last, SHEET_ADDED,
                                       order.increased, lines[index % len(lines)], rate,
                                       estimate, seconds, sales_person, calendar)
        if self.quirks and order.ae != HOUSE and rng.random() < 0.02 and order.spots:
            # a broker-fee line: same contract, negative, tagged not to be invoiced
            template = order.spots[0]
            cells = list(template.cells)
            fee = -round(sum(s.cells[15] for s in order.spots[:10]  # type: ignore[misc]
                             if isinstance(s.cells[15], float)) * 0.05, 2)
            cells[0] = f"{order.bill_code} (Broker Fees - DO NOT INVOICE)"
            cells[13], cells[15], cells[17], cells[21] = "COM", fee, fee, fee
            order.spots.append(Spot(template.month, template.air, template.booked,
                                    template.removed, template.sheet, cells))

    def _rate(self, rng: random.Random, order: Order) -> float:
        if order.revenue_type == "Direct Response Sales":
            return rng.uniform(2, 20)
        year, month = bc.split_month(order.months[0])
        adv = self._advertiser(order.advertiser)
        adv_rate = adv.rate if adv else 150.0
        if order.revenue_type == "Paid Programming":
            adv_rate *= 3
        return adv_rate * SEASON[month - 1] * 1.03 ** (year - 2024) * rng.uniform(0.85, 1.15)

    def _add_spot(self, rng: random.Random, order: Order, month: str, first: date, last: date,
                  sheet: str, booked: date, line, rate: float, estimate: str, seconds: int,
                  sales_person: str, calendar: bool) -> None:
        air = first + timedelta(days=rng.randrange((last - first).days + 1))
        removed = None
        if order.cancelled is not None and air > order.cancelled:
            removed = order.cancelled
        elif order.reduced is not None and air > order.reduced and rng.random() < 0.4:
            removed = order.reduced
        if removed is not None and removed <= booked:
            return
        (time_in, time_out), line_factor, line_number = line
        revenue = order.revenue_type
        spot_type, length = self._spot_type(rng, revenue), seconds
        gross: object = round(rate * line_factor, 2)
        if spot_type == "PRG":
            length = 1710 if rng.random() < 0.5 else 3510
        if spot_type in ("BNS", "Bns"):
            gross = None if rng.random() < 0.7 else 0.0
        net = gross
        if isinstance(gross, float) and order.agency_business and revenue != (
                "Direct Response Sales"):
            net = round(gross * 0.85, 2)
        language = self._language(rng, order)
        month_cell = date(air.year, air.month, 1) if calendar else date(*bc.split_month(month),
                                                                        1)
        cells: list[object] = [
            order.bill_code, air, air, DAYS[air.weekday()], time_in, time_out,
            timedelta(seconds=length), f"{order.advertiser[:20]} :{length}", "", language,
            _FORMATS[(order.key[1] + order.key[2]) % len(_FORMATS)], 1,
            line_number, spot_type, estimate, gross, "", gross, month_cell,
            None, 0, net, sales_person, revenue, "Calendar" if calendar else "Broadcast",
            "Agency" if order.agency_business else "Non-agency", "Y" if rng.random() < 0.6
            else "N", order.contract, order.market,
        ]
        if self.quirks:
            self._quirk(rng, cells)
        order.spots.append(Spot(month, air, booked, removed, sheet, cells))

    def _spot_type(self, rng: random.Random, revenue: str) -> str:
        if revenue == "Paid Programming":
            kind = "PRG"
        elif revenue == "Branded Content":
            kind = "PRD"
        elif revenue == "Direct Response Sales":
            kind = "COM"
        elif revenue == "Other":
            kind = str(weighted_choice(rng, (("COM", 50), ("SVC", 30), ("PRD", 20))))
        else:
            kind = str(weighted_choice(rng, (("COM", 80), ("BNS", 17), ("AV", 2), ("BB", 1))))
        if self.quirks and rng.random() < 0.08:
            return kind.capitalize()
        return kind

    def _language(self, rng: random.Random, order: Order) -> str:
        if order.revenue_type not in ("Internal Ad Sales", "A&O", "Local", "Trade"):
            return "E" if rng.random() < 0.9 else ""
        if self.quirks and rng.random() < 0.004:
            return "L"
        adv = self._advertiser(order.advertiser)
        return str(weighted_choice(rng, adv.languages)) if adv else "E"

    def _advertiser(self, name: str) -> Advertiser | None:
        return self._by_name.get(name)

    def _quirk(self, rng: random.Random, cells: list[object]) -> None:
        """Cells as spreadsheets really hold them now and then (all still importable)."""
        roll = rng.random()
        if roll < 0.003:
            cells[1] = cells[1].strftime("%m/%d/%Y")  # type: ignore[union-attr]
        elif roll < 0.006:
            cells[18] = cells[18].strftime("%b-%y")  # type: ignore[union-attr]
        elif roll < 0.011 and isinstance(cells[15], float):
            cells[15] = cells[17] = f"${cells[15]:,.2f}"
        elif roll < 0.021:
            cells[4] = cells[4].strftime("%I:%M:%S %p").lstrip("0")  # type: ignore[union-attr]

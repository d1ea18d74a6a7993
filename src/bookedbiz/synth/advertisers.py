"""The demo station's advertisers over the years: who buys, through which agencies, for whom.

Real books are mostly the same advertisers year after year (about 15% lost a year, a few more
won), each buying through one or more agencies or direct, sometimes moving between them, some
growing and some shrinking. Year-over-year reports only tell a story when the data has one.
Everything here is fixed by the seed and the year range.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

from bookedbiz.synth.universe import MARKETS, brand

AE_SHARES = (("Charmaine Lane", 24), ("Riley Van Patten", 20), ("Marcus Oyelaran", 17),
             ("Priya Natarajan", 15), ("Diego Alvarez", 13), ("Mei-Lin Chen", 11))
HOUSE = "House"
CHURN = 0.15
_WORDS = ("Bank", "Insurance", "Motors", "Health", "Casino", "Foods", "Wireless", "Realty",
          "Dental", "Market", "Airlines", "Credit Union", "Clinic", "Restaurant", "College",
          "Energy", "Lottery", "Pharmacy", "Travel", "Law", "Furniture", "Jewelers", "Tax",
          "Home Loans", "Auto Group", "Supermarket", "Remittance", "Telecom")
_AGENCY_SUFFIXES = (" Media", " Agency", " Partners", " Group", " Advertising", " Marketing")
# Language preferences of an advertiser's audience (codes of the Language column).
_LANGUAGE_MIX = (("M", 13), ("V", 18), ("SA", 12), ("P", 3), ("K", 6), ("T", 4), ("C", 3.5),
                 ("J", 0.8), ("Hm", 0.4), ("E", 26), ("M/C", 1))
_KINDS = (("ias", 88), ("paid", 4), ("branded", 4), ("other", 4))


@dataclass(frozen=True)
class Advertiser:
    """One advertiser (a customer, SPEC §1.2) and how it buys."""

    key: int
    name: str
    paths: tuple[tuple[str, ...], ...]  # agency chains it buys through; () = direct
    first_year: int
    last_year: int | None  # last year with business; None = still buying
    base: float  # relative yearly volume in its first year
    trend: float  # yearly growth factor (below 1: shrinking)
    ae: str
    kind: str  # ias | paid | branded | other
    markets: tuple[tuple[str, float], ...]
    languages: tuple[tuple[str, float], ...]
    rate: float  # typical gross unit rate in dollars
    trend_from: int  # the year its trend starts compounding from

    def active(self, year: int) -> bool:
        return self.first_year <= year and (self.last_year is None or year <= self.last_year)

    def volume(self, year: int) -> float:
        """Relative volume in ``year`` (0 when not buying): trend, a ramp-up in the first
        year and a fade in the last."""
        if not self.active(year):
            return 0.0
        value = self.base * self.trend ** (year - self.trend_from)
        if year == self.first_year:
            value *= 0.6
        if self.last_year is not None and year == self.last_year:
            value *= 0.6
        return value

    def path_for(self, year: int) -> int:
        """The agency chain this advertiser mostly uses in ``year`` (moves now and then)."""
        if len(self.paths) == 1:
            return 0
        rng = random.Random(f"path:{self.key}:{year // 2}")
        return rng.randrange(len(self.paths))


@dataclass(frozen=True)
class Roster:
    agencies: tuple[str, ...]
    advertisers: tuple[Advertiser, ...]
    worldlink: tuple[str, ...]  # direct-response advertisers sold through WorldLink

    def active(self, year: int) -> list[Advertiser]:
        return [a for a in self.advertisers if a.active(year)]


def _agencies(rng: random.Random, count: int) -> list[str]:
    names: list[str] = []
    seen: set[str] = set()
    while len(names) < count:
        name = brand(rng, rng.choice((2, 2, 3)))
        style = rng.random()
        if style < 0.15:
            name = name.upper()
        elif style < 0.45:
            name += rng.choice(_AGENCY_SUFFIXES)
        if name.casefold() not in seen:
            seen.add(name.casefold())
            names.append(name)
    return names


def _paths(rng: random.Random, agencies: list[str]) -> tuple[tuple[str, ...], ...]:
    """Direct only, one agency, or several routes (agencies, a two-agency chain, direct)."""
    roll = rng.random()
    if roll < 0.3:
        return ((),)
    first = (rng.choice(agencies),)
    if roll < 0.72:
        return (first,)
    others: list[tuple[str, ...]] = [first]
    for _ in range(rng.choice((1, 1, 2))):
        style = rng.random()
        if style < 0.45:
            route: tuple[str, ...] = (rng.choice(agencies),)
        elif style < 0.7:
            route = ()
        else:
            route = (rng.choice(agencies), rng.choice(agencies))
        if route not in others and len(set(route)) == len(route):
            others.append(route)
    return tuple(others)


def weighted_choice(rng: random.Random, pairs) -> object:  # noqa: ANN001 - (value, weight)s
    """One value of (value, weight) pairs, drawn with ``rng``."""
    values, weights = zip(*pairs, strict=True)
    return rng.choices(values, weights)[0]


def _new_advertiser(rng: random.Random, key: int, name: str, agencies: list[str],
                    first_year: int, trend_from: int) -> Advertiser:
    kind = str(weighted_choice(rng, _KINDS))
    home = str(weighted_choice(rng, MARKETS))
    markets = [(home, 1.0)]
    if rng.random() < 0.4:
        other = str(weighted_choice(rng, MARKETS))
        if other != home:
            markets.append((other, rng.uniform(0.2, 0.8)))
    lang = str(weighted_choice(rng, _LANGUAGE_MIX))
    languages = [(lang, 1.0)]
    if rng.random() < 0.35:
        languages.append((str(weighted_choice(rng, _LANGUAGE_MIX)), rng.uniform(0.2, 0.7)))
    base = min(math.exp(rng.gauss(0, 1.0)), 12.0)
    trend = min(max(math.exp(rng.gauss(0.0, 0.16)), 0.6), 1.45)
    rate = min(max(math.exp(rng.gauss(math.log(180), 0.45)), 30.0), 800.0)
    return Advertiser(key, name, _paths(rng, agencies), first_year, None, base, trend, "",
                      kind, tuple(markets), tuple(languages), round(rate, 2),
                      max(first_year, trend_from))


def build_roster(seed: int, first_year: int, last_year: int, start_count: int = 115,
                 churn: float = CHURN, agency_count: int = 70) -> Roster:
    """Advertisers buying between ``first_year`` and ``last_year``: ``start_count`` at first,
    each lost with probability ``churn`` a year, replaced by a few more new ones."""
    rng = random.Random(f"roster:{seed}")
    agencies = _agencies(rng, agency_count)
    names: set[str] = set()

    def fresh_name() -> str:
        while True:
            name = f"{brand(rng, 2)} {rng.choice(_WORDS)}"
            if name.casefold() not in names:
                names.add(name.casefold())
                return name

    people: list[Advertiser] = []
    for _ in range(start_count):
        since = first_year - rng.randint(0, 6)
        people.append(_new_advertiser(rng, len(people) + 1, fresh_name(), agencies, since,
                                      first_year))
    active = list(range(len(people)))
    for year in range(first_year + 1, last_year + 1):
        kept = []
        for index in active:
            if rng.random() < churn:
                old = people[index]
                people[index] = _replace(old, last_year=year - 1)
            else:
                kept.append(index)
        arrivals = round(len(active) * (churn + 0.02) + rng.uniform(-2, 2))
        for _ in range(max(arrivals, 0)):
            kept.append(len(people))
            people.append(_new_advertiser(rng, len(people) + 1, fresh_name(), agencies, year,
                                          year))
        active = kept
    people = _assign_aes(people, first_year, last_year)
    worldlink = tuple(f"{brand(rng, 2)} {w}" for w in ("Direct", "Vitamins", "Reverse Mortgage",
                                                          "Hearing", "Knives", "Fitness"))
    return Roster(tuple(agencies), tuple(people), worldlink)


def _replace(advertiser: Advertiser, **changes: object) -> Advertiser:
    values = dict(advertiser.__dict__)
    values.update(changes)
    return Advertiser(**values)  # type: ignore[arg-type]


def _assign_aes(people: list[Advertiser], first_year: int, last_year: int) -> list[Advertiser]:
    """Give each advertiser an AE so that books match AE_SHARES (biggest accounts first, each
    to the AE furthest below their share): no AE holds most of the revenue."""
    totals = {a.key: sum(a.volume(y) * a.rate for y in range(first_year, last_year + 1))
              for a in people}
    load = {name: 0.0 for name, _ in AE_SHARES}
    share = dict(AE_SHARES)
    owner: dict[int, str] = {}
    for advertiser in sorted(people, key=lambda a: (-totals[a.key], a.key)):
        name = min(load, key=lambda n: ((load[n] + totals[advertiser.key]) / share[n], n))
        load[name] += totals[advertiser.key]
        owner[advertiser.key] = name
    return [_replace(a, ae=owner[a.key]) for a in people]

"""The made-up station's world: agencies, customers, AEs, markets — fixed by the seed."""

from __future__ import annotations

import random
from dataclasses import dataclass

MARKETS = (("CVC", 30), ("SEA", 27), ("SFO", 16), ("LAX", 14), ("CMP", 5), ("MMT", 4),
           ("CHI", 1.5), ("NYC", 1), ("HOU", 0.6), ("DAL", 0.5), ("MSP", 0.3), ("WDC", 0.2),
           ("ADMIN", 0.1))
LANGUAGES = (("M", 13), ("V", 18), ("SA", 12), ("P", 3), ("K", 6), ("T", 4), ("C", 3.5),
             ("J", 0.8), ("Hm", 0.4), ("E", 26), ("M/C", 1))
_SYLLABLES = ("ka", "lo", "mi", "ra", "te", "zu", "an", "vo", "pi", "sen", "dor", "qua", "lin",
              "mar", "tek", "nova", "sol", "bri", "cor", "den", "fin", "gal", "hex", "jun")
_CUSTOMER_WORDS = ("Bank", "Insurance", "Motors", "Health", "Casino", "Foods", "Wireless",
                   "Realty", "Dental", "Market", "Airlines", "Credit Union", "Clinic",
                   "Restaurant", "College", "Energy", "Lottery", "Pharmacy", "Travel", "Law")


@dataclass(frozen=True)
class Customer:
    name: str
    agency: str | None
    second_agency: str | None
    weight: float
    agency_business: bool


@dataclass(frozen=True)
class Universe:
    agencies: tuple[str, ...]
    customers: tuple[Customer, ...]
    worldlink_advertisers: tuple[str, ...]
    paid_programmers: tuple[str, ...]


def brand(rng: random.Random, parts: int) -> str:
    """A made-up brand of ``parts`` syllables (``Kalomi``); the advertisers' generator uses it
    too."""
    return "".join(rng.choice(_SYLLABLES) for _ in range(parts)).capitalize()


def build_universe(seed: int, n_agencies: int = 70, n_customers: int = 240) -> Universe:
    rng = random.Random(seed * 7919 + 11)
    agencies: list[str] = []
    while len(agencies) < n_agencies:
        name = brand(rng, rng.choice((2, 2, 3)))
        style = rng.random()
        if style < 0.15:
            name = name.upper()
        elif style < 0.3:
            name += rng.choice((" Media", " Agency", " Partners", " Group", " Advertising"))
        if name.casefold() not in {a.casefold() for a in agencies}:
            agencies.append(name)
    customers: list[Customer] = []
    names: set[str] = set()
    while len(customers) < n_customers:
        name = f"{brand(rng, 2)} {rng.choice(_CUSTOMER_WORDS)}"
        if name in names:
            continue
        names.add(name)
        roll = rng.random()
        agency = rng.choice(agencies) if roll < 0.68 else None
        second = rng.choice(agencies) if agency and rng.random() < 0.02 else None
        rank = len(customers) + 1
        customers.append(Customer(name, agency, second, 1.0 / rank**0.9, agency is not None))
    worldlink = tuple(f"{brand(rng, 2)} {w}" for w in ("Direct", "Vitamins", "Reverse Mortgage",
                                                          "Hearing", "Knives", "Fitness"))
    paid = tuple(f"{brand(rng, 2)} {w}" for w in ("Ministries", "Shopping", "Infomercial"))
    return Universe(tuple(agencies), tuple(customers), worldlink, paid)

"""Controlled vocabularies: spot types, revenue types, billing and flag values, bill codes.

The bottom layer of the rules of the numbers (SPEC §1.2): the importer, the entity resolver
and the reports all read these, so each rule is written once.
"""

from __future__ import annotations

import re
from typing import NamedTuple

SPOT_TYPES = frozenset({"AV", "BB", "BNS", "COM", "CRD", "PKG", "PRD", "PRG", "SVC"})
_SPOT_TYPE_ALIASES = {
    "SPOT": "COM", "COMMERCIAL": "COM", "COMM": "COM", "BONUS": "BNS", "BON": "BNS",
    "PROD": "PRD", "PRODUCTION": "PRD", "PROGRAM": "PRG", "PROGRAMMING": "PRG",
    "SERVICE": "SVC", "SERVICES": "SVC", "BILLBOARD": "BB", "PACKAGE": "PKG", "CREDIT": "CRD",
}

INTERNAL_AD_SALES = "Internal Ad Sales"
DIRECT_RESPONSE = "Direct Response Sales"
PAID_PROGRAMMING = "Paid Programming"
BRANDED_CONTENT = "Branded Content"
OTHER = "Other"
SERVICES = "Services"
LOCAL = "Local"
TRADE = "Trade"

_REVENUE_TYPES = {
    "internaladsales": INTERNAL_AD_SALES, "ao": INTERNAL_AD_SALES, "aando": INTERNAL_AD_SALES,
    "internal": INTERNAL_AD_SALES,
    "directresponsesales": DIRECT_RESPONSE, "directresponse": DIRECT_RESPONSE,
    "paidprogramming": PAID_PROGRAMMING, "brandedcontent": BRANDED_CONTENT,
    "other": OTHER, "services": SERVICES, "service": SERVICES, "local": LOCAL, "trade": TRADE,
}


def spot_type(raw: str | None) -> str:
    """Upper-cased canonical spot type; aliases mapped; anything else becomes ''."""
    if not raw:
        return ""
    key = raw.strip().upper()
    if key in SPOT_TYPES:
        return key
    return _SPOT_TYPE_ALIASES.get(key, "")


def revenue_type(raw: str | None) -> tuple[str, bool]:
    """(canonical revenue type, known?). Legacy ``A&O`` is Internal Ad Sales."""
    if not raw:
        return "", True
    key = re.sub(r"[^a-z0-9]", "", raw.lower().replace("&", "and"))
    canonical = _REVENUE_TYPES.get(key)
    if canonical is None:
        return " ".join(raw.split()), False
    return canonical, True


def billing_type(raw: str | None) -> str | None:
    if not raw:
        return None
    key = raw.strip().lower()
    if key.startswith("broad"):
        return "Broadcast"
    if key.startswith("cal"):
        return "Calendar"
    return raw.strip()


def agency_flag(raw: str | None) -> str | None:
    if not raw:
        return None
    key = re.sub(r"[^a-z]", "", raw.lower())
    if key in ("agency", "yes", "y"):
        return "Agency"
    if key in ("nonagency", "no", "n", "direct"):
        return "Non-agency"
    return raw.strip()


def affidavit_flag(raw: str | None) -> str | None:
    if not raw:
        return None
    key = raw.strip().upper()
    if key in ("Y", "YES", "TRUE"):
        return "Y"
    if key in ("N", "NO", "FALSE"):
        return "N"
    return raw.strip()


def contract(raw: str | None) -> str | None:
    """The contract number; ``0`` means none."""
    if not raw or raw.strip() in ("0", "0.0"):
        return None
    return raw.strip()


# --- bill codes --------------------------------------------------------------------------

_TAGS = re.compile(
    r"\s*\(\s*(?:broker\s+(?:fees|costs)\s*-+\s*)?do\s+not\s+invoice\s*\)"
    r"|\s+credit\s+memo\b",
    re.IGNORECASE,
)
_PRODUCTION_SUFFIX = re.compile(r"\s*(?:-\s*|\s)(?:production|prod)\.?$", re.IGNORECASE)
WORLDLINK_PREFIX = "worldlink"


def clean_bill_code(raw: str) -> str:
    """Strip invoice tags, trim, collapse spaces (segments trimmed around colons)."""
    cleaned = _TAGS.sub("", raw)
    cleaned = " ".join(cleaned.split())
    return ":".join(part.strip() for part in cleaned.split(":"))


def split_bill_code(raw: str) -> tuple[list[str], str]:
    """(agency segments, advertiser) from a bill code; the last segment is the advertiser, with a
    trailing PRODUCTION / PROD / - PROD removed."""
    parts = [p for p in clean_bill_code(raw).split(":") if p] or [" ".join(raw.split())]
    customer = parts[-1]
    stripped = _PRODUCTION_SUFFIX.sub("", customer).strip()
    if stripped:
        customer = stripped
    return parts[:-1], customer


class BillCodeParts(NamedTuple):
    """Who a bill code names (SPEC §1.2 *Customers are advertisers*)."""

    customer: str  # the advertiser: the last segment
    agency: str | None  # the segments before it joined with ':'; None for a direct client


def parse_bill_code(raw: str) -> BillCodeParts:
    """``Agency A:Acme PROD`` → (``Acme``, ``Agency A``); ``A1:A2:Acme`` → (``Acme``,
    ``A1:A2``); ``Acme`` → (``Acme``, None). The customer is the same whichever agency (if
    any) buys, so an advertiser's history survives an agency change."""
    agencies, customer = split_bill_code(raw)
    return BillCodeParts(customer, ":".join(agencies) or None)


def name_key(name: str) -> str:
    """Case-insensitive identity key: names compare case-folded with spaces collapsed."""
    return " ".join(name.split()).casefold()


def is_worldlink(bill_code: str) -> bool:
    return bill_code.strip().casefold().startswith(WORLDLINK_PREFIX)

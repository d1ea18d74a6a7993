"""An independent reading of a commercial log with openpyxl and plain rules, to check the
importer's totals against: no code shared with bookedbiz.ingest."""

from __future__ import annotations

import re
from collections import defaultdict
from datetime import date, datetime
from decimal import Decimal

import openpyxl

SHEETS = ("Commercials", "Worldlink Lines", "Add to booked business", "Pending", "Data")
ABBR = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]


def _money(value: object) -> Decimal:
    if value is None or value == "":
        return Decimal(0)
    if isinstance(value, int | float):
        return Decimal(repr(value))
    text = str(value).strip()
    negative = text.startswith("(") or text.startswith("-") or "-" in text
    digits = re.sub(r"[^0-9.]", "", text)
    amount = Decimal(digits)
    return -amount if negative else amount


def _month(value: object) -> str:
    if isinstance(value, datetime | date):
        return f"{value.year:04d}-{value.month:02d}"
    text = str(value).strip()
    mon, yy = text.split("-")
    return f"20{yy}-{ABBR.index(mon.lower()[:3]) + 1:02d}"


def _sums(path, key_of) -> dict[str, dict[str, Decimal | int]]:
    """Gross, net and spots per ``key_of(row)`` over the data rows, Trade excluded."""
    book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    out: dict[str, dict] = defaultdict(lambda: {"gross": Decimal(0), "net": Decimal(0),
                                                 "spots": 0})
    for name in book.sheetnames:
        if name not in SHEETS:
            continue
        for row in book[name].iter_rows(min_row=2, values_only=True):
            row = list(row) + [None] * (29 - len(row))
            if not row[0] or not row[1]:
                continue  # blank or totals row
            if str(row[23] or "").strip().lower() == "trade":
                continue
            bucket = out[key_of(row)]
            bucket["gross"] += _money(row[15])
            bucket["net"] += _money(row[21])
            bucket["spots"] += 1
    return dict(out)


def sums_by(path, key_column: int | None = None) -> dict[str, dict[str, Decimal | int]]:
    """Gross, net and spots per month (or per the given column), Trade excluded."""
    if key_column is None:
        return _sums(path, lambda row: _month(row[18]))
    return _sums(path, lambda row: str(row[key_column] or ""))


# Bill codes read independently (SPEC §1.2 *Customers are advertisers*), without bookedbiz.vocab:
# invoice tags out, spaces collapsed, split on colons, last segment the advertiser (trailing
# PRODUCTION / PROD dropped), the segments before it the agency.
_INVOICE_TAGS = ("(broker fees - do not invoice)", "(broker fees  - do not invoice)",
                 "(broker costs - do not invoice)", "(do not invoice)", "credit memo")
_PROD_ENDINGS = ("- production", "-production", " production", "- prod", "-prod", " prod")


def advertiser_and_agency(raw: str) -> tuple[str, str]:
    """(advertiser key, agency key or '(direct)'), both lower-case with single spaces."""
    text = " ".join(raw.split()).lower()
    for tag in _INVOICE_TAGS:
        text = text.replace(" " + tag, "").replace(tag, "")
    segments = [" ".join(part.split()) for part in text.split(":")]
    segments = [s for s in segments if s]
    advertiser = segments[-1]
    for ending in _PROD_ENDINGS:
        if advertiser.endswith(ending) and len(advertiser) > len(ending):
            advertiser = advertiser[: -len(ending)].strip()
            break
    agency = ":".join(segments[:-1]) or "(direct)"
    return advertiser, agency


def sums_by_identity(path, which: str) -> dict[str, dict[str, Decimal | int]]:
    """Gross, net and spots per advertiser (``which='customer'``) or agency, Trade excluded."""
    side = 0 if which == "customer" else 1
    return _sums(path, lambda row: advertiser_and_agency(str(row[0]))[side])

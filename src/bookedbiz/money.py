"""Money: amounts kept as integer micro-dollars, read from log cells and shown in dollars.

The rules of the numbers (SPEC §1.2 *Rounding*): amounts are kept exactly as imported; a figure
shown anywhere is the exact sum of its spots rounded half-even to the cent, so the same set of
spots shows the same figure on every page, export and API call. Nothing is apportioned: sum the
micro-dollars first, round once, at the end.
"""

from __future__ import annotations

import re
from datetime import date, time, timedelta
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation

MICROS = Decimal(1_000_000)
CENT = Decimal("0.01")
TENTH = Decimal("0.1")
ZERO = Decimal("0.00")


class AmountError(ValueError):
    """A value that is not an amount of money."""


_MONEY_CLEAN = re.compile(r"[\s$,€£]")
_PLAIN_AMOUNT = re.compile(r"\d+(\.\d*)?|\.\d+")


def parse_micros(value: object) -> int | None:
    """An amount as integer micro-dollars (blank is None). Accepts numbers and text such as
    ``$1,234.00``, ``(12.50)``, ``1,234.50-`` and ``$ -`` (accounting zero); ``1.234,00`` is not
    guessed (rejected)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool) or isinstance(value, date | time | timedelta):
        raise AmountError("not an amount of money")
    if isinstance(value, int):
        return value * 1_000_000
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise AmountError("not an amount of money")
        amount = Decimal(repr(value))
    else:
        cleaned = _MONEY_CLEAN.sub("", str(value))
        if cleaned == "-":
            return 0  # accounting format shows zero as "$ -"
        negative = False
        if cleaned.startswith("(") and cleaned.endswith(")"):
            negative, cleaned = True, cleaned[1:-1]
        if cleaned.endswith("-") and len(cleaned) > 1:
            negative, cleaned = not negative, cleaned[:-1]
        if cleaned.startswith("-"):
            negative, cleaned = not negative, cleaned[1:]
        if not _PLAIN_AMOUNT.fullmatch(cleaned):
            raise AmountError("not an amount of money")
        try:
            amount = Decimal(cleaned)
        except InvalidOperation:
            raise AmountError("not an amount of money") from None
        if negative:
            amount = -amount
    return int((amount * MICROS).to_integral_value(ROUND_HALF_EVEN))


def micros_to_dollars(micros: int | None) -> Decimal:
    """Exact micro-dollars rounded half-even to the cent, for display and exports."""
    if micros is None:
        return ZERO
    return (Decimal(micros) / MICROS).quantize(CENT, ROUND_HALF_EVEN)


def dollars(micros: object) -> Decimal:
    """A database sum (int, None or numeric text) of micro-dollars → dollars to the cent."""
    return micros_to_dollars(int(micros or 0))  # type: ignore[call-overload]


def pct_change(current: int | Decimal, prior: int | Decimal | None) -> Decimal | None:
    """The change from ``prior`` to ``current`` in percent, to one decimal; None without a base.

    Pass exact micro-dollars so the percentage does not depend on how the figures were rounded.
    """
    if not prior:
        return None
    change = (Decimal(current) - Decimal(prior)) / Decimal(prior) * 100
    return change.quantize(TENTH, ROUND_HALF_EVEN)


def share(part: int | Decimal, whole: int | Decimal | None) -> Decimal | None:
    """``part`` as a percentage of ``whole``, to one decimal; None when the whole is zero or
    negative (a share of a net loss reads as nonsense: shown blank)."""
    if not whole or whole < 0:
        return None
    return (Decimal(part) / Decimal(whole) * 100).quantize(TENTH, ROUND_HALF_EVEN)


ROUNDING_NOTE = ("Each figure is the exact sum of its spots rounded to the cent, so a total may "
                 "differ from the sum of its rounded rows by a cent or two.")

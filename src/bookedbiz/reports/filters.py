"""Report filters shared by the CLI, the web pages and the API, validated in one place."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, replace

from bookedbiz.entities.sectors import NO_SECTOR, REVENUE_CLASSES
from bookedbiz.errors import ConfigError

MEASURES = ("gross", "net")
# Month basis (SPEC §1.2): broadcast month, calendar month of the air date, or each spot's own
# billing type (Calendar → calendar month, otherwise broadcast month).
BASES = ("broadcast", "calendar", "billing")
_MARKET_RE = re.compile(r"^[A-Za-z0-9_/\-]{1,16}$")
_STATION_RE = re.compile(r"^[A-Za-z0-9_.\-]{1,16}$")
MAX_STATIONS = 100


@dataclass(frozen=True)
class ReportFilters:
    year: int | None = None
    measure: str = "gross"
    ae: str | None = None
    market: str | None = None
    revenue_type: str | None = None
    customer_id: int | None = None
    # The AE whose book alone this reader may see (an ``ae`` user or their token); None means
    # every book. Set by the server from the signed-in user, never from the query string, and
    # applied by where() so every query built on it is scoped (SPEC §2, Roles and permissions).
    scope_ae_id: int | None = None
    basis: str = "broadcast"
    sector: str | None = None  # a sector name, or NO_SECTOR for customers without one
    revenue_class: str | None = None
    # Station codes (SPEC §4), upper case; empty = every station. Applied by where() on every
    # table that carries station_id (spot_summary, spots, booking_history).
    stations: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.year is not None and not 1990 <= self.year <= 2100:
            raise ConfigError(f"The year {self.year} is out of range (1990–2100).")
        if self.customer_id is not None and not 0 <= self.customer_id < 2**63:
            raise ConfigError("The customer must be a customer number.")
        if self.measure not in MEASURES:
            raise ConfigError(f"The measure must be gross or net, not '{self.measure}'.")
        if self.market is not None and not _MARKET_RE.match(self.market):
            raise ConfigError("The market must be a market code such as SEA or LAX.")
        if self.basis not in BASES:
            raise ConfigError(
                f"The month basis must be broadcast, calendar or billing, not '{self.basis[:20]}'.")
        if self.revenue_class is not None and self.revenue_class not in REVENUE_CLASSES:
            raise ConfigError("The revenue class must be regular, irregular or political, not "
                              f"'{self.revenue_class[:20]}'.")
        if len(self.stations) > MAX_STATIONS or not all(
                isinstance(code, str) and _STATION_RE.match(code) for code in self.stations):
            raise ConfigError("A station must be a station code such as MAIN.")
        for name in ("ae", "revenue_type", "sector"):
            value = getattr(self, name)
            if value is not None and len(value) > 100:
                raise ConfigError(f"The {name.replace('_', ' ')} filter is too long.")

    @classmethod
    def from_mapping(cls, args: Mapping[str, object]) -> ReportFilters:
        """Parse query-string style values; blank means 'no filter'."""

        def clean(name: str) -> str | None:
            value = args.get(name)
            if value is None:
                return None
            text = str(value).strip()
            return text or None

        year_text = clean("year")
        year = None
        if year_text is not None:
            if not year_text.isdigit():
                raise ConfigError(f"The year must be a number like 2025, not '{year_text[:20]}'.")
            year = int(year_text)
        customer_text = clean("customer_id")
        customer_id = None
        if customer_text is not None:
            if not customer_text.isdigit():
                raise ConfigError("The customer must be a customer number.")
            customer_id = int(customer_text)
        market = clean("market")
        return cls(
            year=year,
            measure=(clean("measure") or "gross").lower(),
            ae=clean("ae"),
            market=market.upper() if market else None,
            revenue_type=clean("revenue_type"),
            customer_id=customer_id,
            basis=(clean("basis") or "broadcast").lower(),
            sector=clean("sector"),
            revenue_class=(clean("revenue_class") or "").lower() or None,
            stations=station_codes(args.get("station")),
        )

    def month_expr(self, alias: str = "ss") -> str:
        """The month a summary row counts in under this basis (fixed SQL text)."""
        if self.basis == "calendar":
            return f"{alias}.calendar_month"
        if self.basis == "billing":
            return (f"CASE WHEN {alias}.bills_calendar THEN {alias}.calendar_month "
                    f"ELSE {alias}.broadcast_month END")
        return f"{alias}.broadcast_month"

    def month_between(self, alias: str, start: str, end: str) -> str:
        """``month_expr BETWEEN :start AND :end`` written so SQLite can use the month indexes
        (``start`` and ``end`` are parameter names)."""
        if self.basis == "calendar":
            return f"{alias}.calendar_month BETWEEN :{start} AND :{end}"
        if self.basis == "billing":
            return (f"((NOT {alias}.bills_calendar AND {alias}.broadcast_month BETWEEN :{start} "
                    f"AND :{end}) OR ({alias}.bills_calendar AND {alias}.calendar_month "
                    f"BETWEEN :{start} AND :{end}))")
        return f"{alias}.broadcast_month BETWEEN :{start} AND :{end}"

    def where(self, alias: str = "ss") -> tuple[str, dict[str, object]]:
        """SQL condition on the summary table (fixed text, bound parameters)."""
        parts = ["1 = 1"]
        params: dict[str, object] = {}
        if self.year is not None:
            parts.append(self.month_between(alias, "f_from", "f_to"))
            params["f_from"], params["f_to"] = f"{self.year:04d}-01", f"{self.year:04d}-12"
        if self.ae:
            parts.append(f"{alias}.ae_id IN (SELECT ae_id FROM aes WHERE name_key = :f_ae)")
            params["f_ae"] = " ".join(self.ae.split()).casefold()
        if self.market:
            parts.append(f"{alias}.market_code = :f_market")
            params["f_market"] = self.market
        if self.revenue_type:
            parts.append(f"lower({alias}.revenue_type) = lower(:f_revenue_type)")
            params["f_revenue_type"] = self.revenue_type
        if self.customer_id is not None:
            parts.append(f"{alias}.customer_id = :f_customer")
            params["f_customer"] = self.customer_id
        if self.sector == NO_SECTOR:
            parts.append(f"{alias}.customer_id IN (SELECT customer_id FROM customers "
                         "WHERE sector_id IS NULL)")
        elif self.sector:
            parts.append(f"{alias}.customer_id IN (SELECT customer_id FROM customers WHERE "
                         "sector_id IN (SELECT sector_id FROM sectors WHERE name_key = :f_sector))")
            params["f_sector"] = " ".join(self.sector.split()).casefold()
        if self.revenue_class:
            parts.append(f"{alias}.customer_id IN (SELECT customer_id FROM customers "
                         "WHERE revenue_class = :f_class)")
            params["f_class"] = self.revenue_class
        if self.scope_ae_id is not None:
            parts.append(f"{alias}.ae_id = :f_scope_ae")
            params["f_scope_ae"] = self.scope_ae_id
        if self.stations:
            names = {f"f_st{i}": code for i, code in enumerate(self.stations)}
            parts.append(f"{alias}.station_id IN (SELECT station_id FROM stations WHERE "
                         f"code IN ({', '.join(':' + n for n in names)}))")
            params.update(names)
        return " AND ".join(parts), params

    def with_year(self, year: int | None) -> ReportFilters:
        return replace(self, year=year)


def station_codes(value: object) -> tuple[str, ...]:
    """``?station=A&station=B``, ``?station=A,B`` or ``--station A``: the codes, upper case,
    each once, in the order given (blank = every station)."""
    if value is None:
        return ()
    items = [value] if isinstance(value, str) else list(value)  # type: ignore[call-overload]
    codes: list[str] = []
    for item in items:
        for part in str(item).split(","):
            code = part.strip().upper()
            if code and code not in codes:
                codes.append(code)
    return tuple(codes)

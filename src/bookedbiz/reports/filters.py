"""Report filters shared by the CLI, the web pages and the API, validated in one place."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, replace

from bookedbiz.errors import ConfigError

MEASURES = ("gross", "net")
_MARKET_RE = re.compile(r"^[A-Za-z0-9_/\-]{1,16}$")


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

    def __post_init__(self) -> None:
        if self.year is not None and not 1990 <= self.year <= 2100:
            raise ConfigError(f"The year {self.year} is out of range (1990–2100).")
        if self.measure not in MEASURES:
            raise ConfigError(f"The measure must be gross or net, not '{self.measure}'.")
        if self.market is not None and not _MARKET_RE.match(self.market):
            raise ConfigError("The market must be a market code such as SEA or LAX.")
        for name in ("ae", "revenue_type"):
            value = getattr(self, name)
            if value is not None and len(value) > 100:
        if self.customer_id is not None and not 0 <= self.customer_id < 2**63:
            raise ConfigError("The customer must be a customer number.")
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
        )

    def where(self, alias: str = "ss") -> tuple[str, dict[str, object]]:
        """SQL condition on the summary table (fixed text, bound parameters)."""
        parts = ["1 = 1"]
        params: dict[str, object] = {}
        if self.year is not None:
            parts.append(f"{alias}.broadcast_month BETWEEN :f_from AND :f_to")
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
        if self.scope_ae_id is not None:
            parts.append(f"{alias}.ae_id = :f_scope_ae")
            params["f_scope_ae"] = self.scope_ae_id
        return " AND ".join(parts), params

    def with_year(self, year: int | None) -> ReportFilters:
        return replace(self, year=year)

"""The planning table: per AE × broadcast month budget, forecast, booked, pipeline, variance,
% to budget and last year, with company, quarter and year totals (SPEC §1.5, §2.10). Last year
follows SPEC §1.4: an open month is compared with the same time last year (STLY), a closed one
with last year's final figure.

Plans are gross and per AE, so only the year, the AE filter and the reader's scope apply (a
market or revenue-type filter is ignored here). Every figure is an exact micro-dollar sum rounded
once (SPEC §1.2); the pipeline is decided per AE × month and then summed. One function builds the
report that the page, its exports, the CLI and the feed all lay out.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import date, timedelta

from sqlalchemy import Connection, text

from bookedbiz import broadcast_calendar as bc
from bookedbiz.history.queries import booked_sums
from bookedbiz.money import dollars, share
from bookedbiz.planning import targets as plan
from bookedbiz.reports.filters import ReportFilters
from bookedbiz.reports.pacing import newest_as_of
from bookedbiz.reports.stations import closed_months

STLY_DAYS = 364
QUARTERS = (("Q1", 0), ("Q2", 3), ("Q3", 6), ("Q4", 9))


@dataclass
class Sums:
    """Exact micro-dollars of one cell or period; budget/forecast None when none is set, last
    year None when unknown (an open month before the booking history reaches back a year)."""

    booked: int = 0
    budget: int | None = None
    forecast: int | None = None
    pipeline: int = 0
    last_year: int | None = None
    # booked in the AE-months that have a forecast: what a forecast is measured against
    forecast_booked: int = 0
    cells: int = field(default=0, repr=False)

    def add(self, other: Sums) -> None:
        self.booked += other.booked
        self.pipeline += other.pipeline
        self.forecast_booked += other.forecast_booked
        self.budget = _plus(self.budget, other.budget)
        self.forecast = _plus(self.forecast, other.forecast)
        self.last_year = _plus(self.last_year, other.last_year)
        self.cells += 1


def _plus(a: int | None, b: int | None) -> int | None:
    if b is None:
        return a
    return b if a is None else a + b


def figures(sums: Sums) -> dict[str, object]:
    """The shown figures of a cell or period (dollars to the cent, percentages to 0.1)."""
    money = (lambda v: None if v is None else dollars(v))  # noqa: E731
    return {
        "budget": money(sums.budget),
        "forecast": money(sums.forecast),
        "booked": dollars(sums.booked),
        "pipeline": dollars(sums.pipeline),
        "variance": None if sums.budget is None else dollars(sums.booked - sums.budget),
        "pct_to_budget": share(sums.booked, sums.budget),
        "last_year": money(sums.last_year),
        "pct_of_last_year": share(sums.booked, sums.last_year) if sums.last_year else None,
    }


_BELOW_THE_AE = ("market", "revenue_type", "customer_id", "sector", "revenue_class")


def plan_filters(filters: ReportFilters) -> ReportFilters:
    """Only what a plan can honour: year, AE, scope; gross, by broadcast month, every station
    (plans are per AE, not per station)."""
    blank = {name: None for name in _BELOW_THE_AE if hasattr(filters, name)}
    if hasattr(filters, "basis"):
        blank["basis"] = "broadcast"
    if hasattr(filters, "stations"):
        blank["stations"] = ()
    return replace(filters, measure="gross", **blank)  # type: ignore[arg-type]


def _last_year(conn: Connection, months: list[str], closed: set[str], as_of: date,
               filters: ReportFilters) -> tuple[dict[tuple[int, str], int], bool]:
    """(ae_id, month) → what the month is compared with (SPEC §1.4): a closed month with last
    year's final figure, an open one with M−12 as of ``as_of`` − 364 days (STLY); and whether
    the booking history reaches back that far (else open months have no comparison).

    STLY is read one month at a time: twelve small grouped reads of the history are several
    times faster than one grouped read of twelve months (no large sort)."""
    out: dict[tuple[int, str], int] = {}
    shut = [m for m in months if m in closed]
    if shut:
        prior = plan.booked_by_ae(conn, bc.shift_month(shut[0], -12),
                                  bc.shift_month(shut[-1], -12), filters)
        for (ae_id, month), gross in prior.items():
            if bc.shift_month(month, 12) in closed:
                out[(ae_id, bc.shift_month(month, 12))] = gross
    day = as_of - timedelta(days=STLY_DAYS)
    known = bool(conn.execute(text(
        "SELECT 1 FROM history_records WHERE as_of <= :d LIMIT 1"),
        {"d": day.isoformat()}).first())
    if known:
        where, params = plan.ae_where(filters, "h")
        for month in (m for m in months if m not in closed):
            sums = booked_sums(conn, [bc.shift_month(month, -12)], day, key_sql="h.ae_id",
                               where=where, params=params)
            for (_, ae_id), values in sums.items():
                out[(int(ae_id), month)] = values[0]
    return out, known


def grid(conn: Connection, filters: ReportFilters, as_of: date,
         months: list[str] | None = None) -> dict[str, object]:
    """The raw grid: (ae_id, month) → Sums, AE names, closed months, plans."""
    filters = plan_filters(filters)
    if months is None:
        months = bc.months_of_year(filters.year or as_of.year)
    first, last = months[0], months[-1]
    cells = plan.plan_cells(conn, first, last, filters)
    booked = plan.booked_by_ae(conn, first, last, filters)
    closed = closed_months(conn, first, last)  # closed for every station (reports.stations)
    last_year, known = _last_year(conn, months, closed, as_of, filters)
    ae_ids = {a for a, _ in cells} | {a for a, _ in booked} | {a for a, _ in last_year}
    names = plan.ae_names(conn, sorted(ae_ids))
    out: dict[tuple[int, str], Sums] = {}
    for ae_id in ae_ids:
        for month in months:
            cell = cells.get((ae_id, month), plan.PlanCell())
            gross = booked.get((ae_id, month), 0)
            compared = month in closed or known
            out[(ae_id, month)] = Sums(
                booked=gross, budget=cell.budget, forecast=cell.forecast,
                pipeline=plan.pipeline(cell.forecast, gross, month in closed),
                forecast_booked=gross if cell.forecast is not None else 0,
                last_year=last_year.get((ae_id, month), 0) if compared else None)
    return {"months": months, "cells": out, "plans": cells, "names": names, "closed": closed,
            "stly_known": known, "as_of": as_of,
            "stly_as_of": as_of - timedelta(days=STLY_DAYS)}


def _total(sums: Iterable[Sums]) -> Sums:
    total = Sums()
    for item in sums:
        total.add(item)
    return total


def _period_rows(cells: dict[tuple[int, str], Sums], ae_ids: list[int], months: list[str],
                 ) -> list[dict[str, object]]:
    rows = []
    for name, offset in QUARTERS:
        chosen = months[offset:offset + 3]
        rows.append({"period": name, **figures(
            _total(cells[(a, m)] for a in ae_ids for m in chosen))})
    rows.append({"period": "Year", **figures(_total(cells[(a, m)] for a in ae_ids
                                                    for m in months))})
    return rows


def planning_report(conn: Connection, filters: ReportFilters, *,
                    as_of: date | None = None) -> dict[str, object]:
    """The planning page: AE × month rows, company per month, quarters and year, per-AE year.

    ``as_of`` (default: the day the books stand at, the newest import's as-of date) sets the
    same-time-last-year day. Rows are sorted by AE name then month; an AE is listed when it
    has a budget, a forecast, booked business this year or a comparison figure last year."""
    as_of = as_of or newest_as_of(conn)
    year = filters.year or as_of.year
    data = grid(conn, replace(filters, year=year), as_of)
    months: list[str] = data["months"]  # type: ignore[assignment]
    cells: dict[tuple[int, str], Sums] = data["cells"]  # type: ignore[assignment]
    plans: dict[tuple[int, str], plan.PlanCell] = data["plans"]  # type: ignore[assignment]
    names: dict[int, str] = data["names"]  # type: ignore[assignment]
    closed: set[str] = data["closed"]  # type: ignore[assignment]
    ae_ids = sorted(names, key=lambda a: (names[a].casefold(), a))
    rows = []
    for ae_id in ae_ids:
        for month in months:
            cell = plans.get((ae_id, month), plan.PlanCell())
            rows.append({
                "ae": names[ae_id], "ae_id": ae_id, "month": month, "label": bc.label(month),
                "status": "closed" if month in closed else "open",
                "compare_to": "final" if month in closed else "STLY",
                **figures(cells[(ae_id, month)]),
                "forecast_changed_at": cell.forecast_at, "forecast_changed_by": cell.forecast_by,
                "forecast_note": cell.forecast_note,
            })
    company = [{"month": m, "label": bc.label(m), "status": "closed" if m in closed else "open",
                **figures(_total(cells[(a, m)] for a in ae_ids))} for m in months]
    per_ae = [{"ae": names[a], "ae_id": a, **figures(_total(cells[(a, m)] for m in months))}
              for a in ae_ids]
    changed = [p for p in plans.values() if p.forecast_at]
    last = max(changed, key=lambda p: p.forecast_at or "") if changed else None
    return {
        "year": year, "as_of": as_of, "stly_as_of": data["stly_as_of"],
        "stly_known": data["stly_known"], "months": months, "rows": rows,
        "company": company, "periods": _period_rows(cells, ae_ids, months),
        "per_ae": per_ae,
        "total": figures(_total(cells[(a, m)] for a in ae_ids for m in months)),
        "last_forecast_change": ({"at": last.forecast_at, "by": last.forecast_by}
                                 if last else None),
    }


# What the planning table shows, in order: (key, header, kind). The page, its exports and the
# CLI all lay out these columns of planning_report()["rows"].
ROW_COLUMNS = (
    ("ae", "AE", "text"),
    ("label", "Month", "text"),
    ("status", "Status", "text"),
    ("budget", "Budget", "money"),
    ("forecast", "Forecast", "money"),
    ("booked", "Booked", "money"),
    ("pipeline", "Pipeline", "money"),
    ("variance", "Variance", "money"),
    ("pct_to_budget", "% to budget", "share"),
    ("last_year", "Last year", "money"),
    ("pct_of_last_year", "% of last year", "share"),
    ("compare_to", "Last year is", "text"),
    ("forecast_changed_at", "Forecast changed", "text"),
    ("forecast_changed_by", "Changed by", "text"),
)
PERIOD_COLUMNS = (("period", "Period", "text"),) + tuple(
    c for c in ROW_COLUMNS if c[2] != "text")
COMPANY_COLUMNS = (("label", "Month", "text"), ("status", "Status", "text")) + tuple(
    c for c in ROW_COLUMNS if c[2] != "text")


def plan_listing(conn: Connection, filters: ReportFilters, what: str) -> list[dict[str, object]]:
    """Budgets (``what="budget"``) or forecasts of ``filters.year`` (all years when None), one
    row per AE × month, sorted by AE then month."""
    first, last = ((f"{filters.year:04d}-01", f"{filters.year:04d}-12") if filters.year
                   else ("0000-00", "9999-99"))
    cells = plan.plan_cells(conn, first, last, plan_filters(filters))
    names = plan.ae_names(conn, sorted({a for a, _ in cells}))
    rows = []
    for (ae_id, month), cell in cells.items():
        value = cell.budget if what == "budget" else cell.forecast
        if value is None:
            continue
        row: dict[str, object] = {"ae": names.get(ae_id, ""), "month": month,
                                  "gross": dollars(value)}
        if what != "budget":
            row.update(updated_at=cell.forecast_at, updated_by=cell.forecast_by,
                       note=cell.forecast_note)
        rows.append(row)
    rows.sort(key=lambda r: (str(r["ae"]).casefold(), str(r["month"])))
    return rows

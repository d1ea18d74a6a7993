"""Page-shaped report queries: customer × month matrix, AE summary with last year, customer detail.

They read ``spot_summary`` (one row per month and reporting dimension, Trade excluded, refreshed
inside every import transaction), so a page over years of spots stays fast. The CLI, the web
pages and the JSON API all call these, so a number is defined once.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from sqlalchemy import Connection, text

from bookedbiz.broadcast_calendar import months_of_year
from bookedbiz.money import dollars, pct_change
from bookedbiz.reports.filters import ReportFilters
from bookedbiz.reports.names import names_by_id
from bookedbiz.reports.pacing import last_year_basis


def summary_where(filters: ReportFilters, alias: str = "s") -> tuple[str, dict[str, Any]]:
    """The data core's AE/market/type/customer conditions, without the year (pages choose
    their own month range)."""
    return filters.with_year(None).where(alias)


def _measure_column(filters: ReportFilters) -> str:
    return "net_micros" if filters.measure == "net" else "gross_micros"


def _year_groups(conn: Connection, filters: ReportFilters) -> list[tuple]:
    """(month, customer_id, ae_id, amount micros, spots) of ``filters.year``: grouped in the
    order of the covering month index, so SQLite reads it without sorting or touching the
    table; both the customer and the AE pages build on it."""
    months = months_of_year(filters.year)  # type: ignore[arg-type]
    where, params = summary_where(filters)
    params.update(start=months[0], end=months[-1])
    month = filters.month_expr("s")  # the month basis (SPEC §1.2); broadcast by default
    sql = (
        f"SELECT {month} AS m, s.customer_id, s.ae_id, SUM(s.{_measure_column(filters)}),"  # noqa: S608
        " SUM(s.spots) FROM spot_summary s "
        f"WHERE {filters.month_between('s', 'start', 'end')} AND {where} "
        "GROUP BY m, s.customer_id, s.ae_id"
    )
    return conn.execute(text(sql), params).all()


def customer_month_matrix(
    conn: Connection, filters: ReportFilters, search: str | None = None
) -> list[dict[str, Any]]:
    """One row per customer × AE with business in ``filters.year``: 12 months, total, last
    year's total, the change and a status (new, up, down or flat)."""
    return [r for r in _customer_rows(conn, filters, search) if r["status"] != "lost"]


def lost_customers(conn: Connection, filters: ReportFilters) -> list[dict[str, Any]]:
    """The customer × AE rows with business last year and none in ``filters.year``, largest
    loss first."""
    rows = [r for r in _customer_rows(conn, filters, None) if r["status"] == "lost"]
    rows.sort(key=lambda r: (-r["prior_micros"], r["customer"].lower()))
    return rows


def _customer_rows(
    conn: Connection, filters: ReportFilters, search: str | None = None
) -> list[dict[str, Any]]:
    """One row per customer × AE for ``filters.year`` or the year before: 12 months, total,
    last year's total, the change and a status.

    A customer is *new* when it has no booked business (any AE) before this year; a row is
    *lost* when it had business last year and none this year, else *up*, *down* or *flat*.
    """
    assert filters.year is not None
    months = months_of_year(filters.year)
    cells: dict[tuple[int, int], dict[str, int]] = defaultdict(dict)
    spot_counts: dict[tuple[int, int], int] = defaultdict(int)
    for month, customer_id, ae_id, amount, spots in _year_groups(conn, filters):
        cells[(customer_id, ae_id)][month] = int(amount or 0)  # PostgreSQL sums are Decimal
        spot_counts[(customer_id, ae_id)] += int(spots or 0)
    prior = _prior_year_by_customer(conn, filters)
    for key in prior:
        cells.setdefault(key, {})
    if not cells:
        return []
    customer_ids = sorted({c for c, _ in cells})
    names = names_by_id(conn, "customers", customer_ids)
    ae_names = names_by_id(conn, "aes", {a for _, a in cells})
    earlier = _customers_before(conn, customer_ids, months[0])
    rows = []
    for (customer_id, ae_id), by_month in cells.items():
        total_micros = sum(by_month.values())
        rows.append(
            {
                "customer_id": customer_id,
                "customer": names.get(customer_id, f"#{customer_id}"),
                "ae": ae_names.get(ae_id, "Unassigned"),
                "months_micros": {m: by_month.get(m, 0) for m in months},
                "total_micros": total_micros,
                "spots": spot_counts[(customer_id, ae_id)],
                "is_new": customer_id not in earlier,
                "prior_micros": prior.get((customer_id, ae_id), 0),
            }
        )
    round_rows(rows, months)
    for row in rows:
        now, before = row["total_micros"], row["prior_micros"]
        row["prior_total"] = dollars(before)
        row["change"] = dollars(now - before)
        row["change_pct"] = pct_change(now, before)
        row["status"] = _status(now, before, row["is_new"], row["spots"])
    needle = (search or "").strip().lower()
    if needle:
        rows = [r for r in rows if needle in r["customer"].lower() or needle in r["ae"].lower()]
    rows.sort(key=lambda r: (r["ae"].lower(), r["customer"].lower()))
    return rows


CUSTOMER_STATUSES = ("new", "lost", "up", "down", "flat")
CUSTOMER_SORTS = {
    "ae": ("AE, then customer", lambda r: (r["ae"].lower(), r["customer"].lower())),
    "total_desc": ("Total, largest first", lambda r: (-r["total"], r["customer"].lower())),
    "customer": ("Customer name", lambda r: (r["customer"].lower(), r["ae"].lower())),
    "total_asc": ("Total, smallest first", lambda r: (r["total"], r["customer"].lower())),
    "change_desc": ("Change, largest gain first",
                    lambda r: (-r["change"], r["customer"].lower())),
    "change_asc": ("Change, largest drop first", lambda r: (r["change"], r["customer"].lower())),
}


def search_rows(rows: list[dict[str, Any]], text: str | None) -> list[dict[str, Any]]:
    """Rows whose customer or AE contains ``text`` (case-insensitive); all rows for none."""
    needle = (text or "").strip().lower()
    if not needle:
        return rows
    return [r for r in rows if needle in r["customer"].lower() or needle in r["ae"].lower()]


def customers_page(conn: Connection, filters: ReportFilters, search: str = "",
                   status: str = "", new_only: bool = False, sort: str = "ae"
                   ) -> dict[str, Any]:
    """The whole customers page: the customer × AE rows of ``filters.year`` that match the
    search, status and new-only choices, in the chosen order, their totals (exact, against last
    year), the lost rows, and the summary cards (counted over every row, not the chosen ones)."""
    assert filters.year is not None
    everyone = _customer_rows(conn, filters)
    current = [r for r in everyone if r["status"] != "lost"]
    lost = [r for r in everyone if r["status"] == "lost"]
    lost.sort(key=lambda r: (-r["prior_micros"], r["customer"].lower()))
    rows = [r for r in search_rows(current, search)
            if (not new_only or r["is_new"]) and (not status or r["status"] == status)]
    rows.sort(key=CUSTOMER_SORTS.get(sort, CUSTOMER_SORTS["ae"])[1])
    totals = matrix_totals(rows, months_of_year(filters.year))
    with_business = {r["customer_id"] for r in current}
    cards = {
        "customers": len({r["customer_id"] for r in rows}),
        "active": len({r["customer_id"] for r in rows if r["total_micros"] != 0}),
        "new": len({r["customer_id"] for r in current if r["status"] == "new"}),
        "lost": len({r["customer_id"] for r in lost} - with_business),
        "up": len({r["customer_id"] for r in current if r["status"] == "up"}),
        "down": len({r["customer_id"] for r in current if r["status"] == "down"}),
        "rows": len(rows),
        "total": totals["total"],
        "prior_total": totals.get("prior_total"),
    }
    return {"rows": rows, "lost": search_rows(lost, search), "totals": totals, "cards": cards}


def _status(now: int, before: int, is_new: bool, spots: int) -> str:
    """new, lost, up, down or flat: how a row compares with last year."""
    if is_new and spots:
        return "new"
    if not spots and before:
        return "lost"
    if now > before:
        return "up"
    if now < before:
        return "down"
    return "flat"


def _prior_year_by_customer(conn: Connection, filters: ReportFilters) -> dict[tuple, int]:
    """(customer_id, ae_id) → last year's exact amount, under the same filters and basis."""
    assert filters.year is not None
    prior_months = months_of_year(filters.year - 1)
    where, params = summary_where(filters)
    params.update(start=prior_months[0], end=prior_months[-1])
    sql = (
        f"SELECT s.customer_id, s.ae_id, SUM(s.{_measure_column(filters)}) "  # noqa: S608
        f"FROM spot_summary s WHERE {filters.month_between('s', 'start', 'end')} AND {where} "
        "GROUP BY s.customer_id, s.ae_id"
    )
    return {(c, a): int(amount or 0) for c, a, amount in conn.execute(text(sql), params).all()}


def _customers_before(conn: Connection, customer_ids: list[int], month: str) -> set[int]:
    """Customers among ``customer_ids`` with any summary row before ``month``: one statement
    (an index probe per customer on ``(customer_id, broadcast_month)``), not one per customer."""
    rows = conn.execute(
        text(
            "SELECT c.customer_id FROM customers c WHERE EXISTS (SELECT 1 FROM spot_summary s "
            "WHERE s.customer_id = c.customer_id AND s.broadcast_month < :m)"
        ),
        {"m": month},
    ).scalars()
    wanted = set(customer_ids)
    return {c for c in rows if c in wanted}


def ae_summary(conn: Connection, filters: ReportFilters) -> list[dict[str, Any]]:
    """One row per AE: 12 months of ``filters.year``, total, last year's total, change."""
    assert filters.year is not None
    months = months_of_year(filters.year)
    prior_months = months_of_year(filters.year - 1)
    # AE months and distinct customers are summed here from this year's few thousand
    # (month, customer, AE) groups; last year needs only one total per AE.
    current: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    spots: dict[int, int] = defaultdict(int)
    customer_sets: dict[int, set[int]] = defaultdict(set)
    for month, customer_id, ae_id, amount, count in _year_groups(conn, filters):
        current[ae_id][month] += int(amount or 0)
        spots[ae_id] += int(count or 0)
        customer_sets[ae_id].add(customer_id)
    where, params = summary_where(filters)
    params.update(start=prior_months[0], end=prior_months[-1])
    prior_sql = (
        f"SELECT s.ae_id, SUM(s.{_measure_column(filters)}) FROM spot_summary s "  # noqa: S608
        f"WHERE {filters.month_between('s', 'start', 'end')} AND {where} GROUP BY s.ae_id"
    )
    prior: dict[int, int] = defaultdict(int)
    for ae_id, amount in conn.execute(text(prior_sql), params).all():
        prior[ae_id] = int(amount or 0)
    customers = {ae_id: len(ids) for ae_id, ids in customer_sets.items()}
    ae_ids = sorted(set(current) | set(prior))
    names = names_by_id(conn, "aes", ae_ids)
    rows = []
    for ae_id in ae_ids:
        rows.append(
            {
                "ae_id": ae_id,
                "ae": names.get(ae_id, "Unassigned"),
                "months_micros": {m: current[ae_id].get(m, 0) for m in months},
                "total_micros": sum(current[ae_id].values()),
                "prior_micros": prior[ae_id],
                "customers": customers.get(ae_id, 0),
                "spots": spots[ae_id],
            }
        )
    round_rows(rows, months)
    # Compared like with like (SPEC §1.4): open months with the same time last year, closed
    # months with last year's final; no comparison while the history does not reach back.
    basis = last_year_basis(conn, months, filters, per_ae=True)
    known = all(m in basis["has_basis"] for m in months)
    index = 1 if filters.measure == "net" else 0
    for row in rows:
        row["prior_total"] = dollars(row["prior_micros"])
        row["basis_micros"] = sum(basis["basis"].get((m, row["ae_id"]), (0, 0))[index]
                                  for m in months) if known else None
        compared = row["basis_micros"]
        row["basis_total"] = None if compared is None else dollars(compared)
        row["change"] = None if compared is None else dollars(row["total_micros"] - compared)
        row["change_pct"] = None if compared is None else pct_change(row["total_micros"],
                                                                     compared)
    rows.sort(key=lambda r: (-r["total"], r["ae"].lower()))
    return rows


def round_rows(rows: list[dict[str, Any]], months: list[str]) -> None:
    """Set each row's ``months`` and ``total`` in dollars: each the row's exact sum rounded once
    (SPEC §1.2), so a row's total is its exact sum, not the sum of its rounded months."""
    for row in rows:
        row["months"] = {month: dollars(row["months_micros"][month]) for month in months}
        row["total"] = dollars(row["total_micros"])


def matrix_totals(rows: list[dict[str, Any]], months: list[str]) -> dict[str, Any]:
    """Column totals of a month matrix, summed in micro-dollars and rounded once (so they equal
    the overview and the CLI to the cent); with last year, the change from exact values too."""
    totals: dict[str, Any] = {
        m: dollars(sum(r["months_micros"][m] for r in rows)) for m in months
    }
    total_micros = sum(r["total_micros"] for r in rows)
    totals["total"] = dollars(total_micros)
    if rows and "prior_micros" in rows[0]:
        prior_micros = sum(r["prior_micros"] for r in rows)
        totals["prior_total"] = dollars(prior_micros)
        totals["change"] = dollars(total_micros - prior_micros)
        totals["change_pct"] = pct_change(total_micros, prior_micros)
    if rows and "basis_micros" in rows[0]:  # change against STLY / final (ae_summary)
        known = all(r["basis_micros"] is not None for r in rows)
        basis_micros = sum(r["basis_micros"] or 0 for r in rows)
        totals["basis_total"] = dollars(basis_micros) if known else None
        totals["change"] = dollars(total_micros - basis_micros) if known else None
        totals["change_pct"] = pct_change(total_micros, basis_micros) if known else None
    return totals


def year_span(conn: Connection) -> list[int]:
    """Every year from the first to the last month with booked business.

    Two scalar subqueries, because SQLite answers a lone MIN() or MAX() with one index lookup
    but scans the whole index when both share one SELECT."""
    first, last = conn.execute(
        text("SELECT (SELECT MIN(broadcast_month) FROM spot_summary), "
             "(SELECT MAX(broadcast_month) FROM spot_summary)")
    ).one()
    if not first:
        return []
    return list(range(int(first[:4]), int(last[:4]) + 1))

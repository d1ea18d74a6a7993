"""My book: one AE's own page (SPEC §2, Everyone's own page).

Everything is composed from the reports that already define each number: the months come from
:func:`reports.pacing.pacing_report` (booked, STLY, last year, pace, budget, forecast, pipeline),
new business from :func:`reports.changes.changes_report` (between the last two imports), the
accounts from :func:`reports.pages.customer_month_matrix`. The one figure of its own is *accounts
at risk*: customers with revenue in the last 3 closed months and nothing booked in the next 2
open ones. Every query runs under the reader's filters, so ``scope_ae_id`` keeps it to one book.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from typing import Any

from sqlalchemy import Connection, text

from bookedbiz import broadcast_calendar as bc
from bookedbiz.money import dollars
from bookedbiz.reports.changes import changes_report
from bookedbiz.reports.filters import ReportFilters
from bookedbiz.reports.pacing import newest_as_of, pacing_report
from bookedbiz.reports.pages import _customer_rows
from bookedbiz.reports.stations import closed_months

RISK_CLOSED_MONTHS = 3  # revenue in the last 3 closed months ...
RISK_OPEN_MONTHS = 2  # ... and nothing booked in the next 2 open ones
GROWTH_PCT = 20  # "growing": up more than this on last year
LIST_LENGTH = 10


def book_year(as_of: date) -> int:
    """The year a book is read for: the year of the as-of date's broadcast month."""
    return bc.split_month(bc.broadcast_month_of(as_of))[0]


def import_window(conn: Connection, as_of: date) -> tuple[date, date] | None:
    """(the recorded day before, the last recorded day on or before ``as_of``): the last
    import's window as it stood on ``as_of`` (None before any history)."""
    days = list(conn.execute(text(
        "SELECT DISTINCT as_of FROM history_records WHERE as_of <= :d "
        "ORDER BY as_of DESC LIMIT 2"), {"d": as_of.isoformat()}).scalars())
    if not days:
        return None
    until = date.fromisoformat(days[0])
    since = date.fromisoformat(days[1]) if len(days) > 1 else until
    return since, until


def risk_months(conn: Connection, as_of: date,
                filters: ReportFilters | None = None) -> tuple[list[str], list[str]]:
    """(the last 3 closed months up to the as-of month, the next 2 open months from it);
    closed = closed for every station in the filters' scope (reports.stations)."""
    current = bc.broadcast_month_of(as_of)
    closed = closed_months(conn, "0000-00", "9999-99", filters)
    closed_before = sorted((m for m in closed if m <= current), reverse=True)
    closed_before = closed_before[:RISK_CLOSED_MONTHS]
    closed_ahead = {m for m in closed if m >= current}
    ahead, month = [], current
    while len(ahead) < RISK_OPEN_MONTHS:
        if month not in closed_ahead:
            ahead.append(month)
        month = bc.shift_month(month, 1)
    return sorted(closed_before), ahead


def accounts_at_risk(conn: Connection, filters: ReportFilters, as_of: date) -> dict[str, Any]:
    """Customers with gross in the last 3 closed months and none booked (now) in the next 2
    open months, largest first; ``total_gross`` is the exact sum of their recent revenue."""
    filters = replace(filters, year=None)
    recent, ahead = risk_months(conn, as_of, filters)
    result: dict[str, Any] = {"recent_months": recent, "ahead_months": ahead, "rows": [],
                              "total_gross": dollars(0), "total_micros": 0}
    if not recent:
        return result
    where, params = filters.where("ss")
    names = {f"rr{i}": m for i, m in enumerate(recent)}
    names.update({f"ra{i}": m for i, m in enumerate(ahead)})
    recent_in = ", ".join(f":rr{i}" for i in range(len(recent)))
    ahead_in = ", ".join(f":ra{i}" for i in range(len(ahead)))
    rows = conn.execute(text(
        "SELECT ss.customer_id, c.name, "
        f"SUM(CASE WHEN ss.broadcast_month IN ({recent_in}) THEN ss.gross_micros ELSE 0 END) r, "
        f"SUM(CASE WHEN ss.broadcast_month IN ({ahead_in}) THEN ss.gross_micros ELSE 0 END) a, "
        f"MAX(CASE WHEN ss.broadcast_month IN ({recent_in}) AND ss.gross_micros <> 0 "
        "THEN ss.broadcast_month END) "
        "FROM spot_summary ss JOIN customers c ON c.customer_id = ss.customer_id "
        f"WHERE ss.broadcast_month IN ({recent_in}, {ahead_in}) AND {where} "
        "GROUP BY ss.customer_id, c.name "
        f"HAVING SUM(CASE WHEN ss.broadcast_month IN ({recent_in}) THEN ss.gross_micros "
        f"ELSE 0 END) > 0 AND SUM(CASE WHEN ss.broadcast_month IN ({ahead_in}) "
        "THEN ss.gross_micros ELSE 0 END) <= 0"),
        {**params, **names}).all()
    out = [{"customer_id": cid, "customer": name, "recent_gross": dollars(r),
            "last_month": bc.label(last) if last else "", "_exact": int(r)}
           for cid, name, r, _a, last in rows]
    out.sort(key=lambda row: (-row["_exact"], row["customer"].lower()))
    total = sum(row.pop("_exact") for row in out)
    result.update(rows=out, total_gross=dollars(total), total_micros=total)
    return result


def _account(row: dict[str, Any]) -> dict[str, Any]:
    return {"customer_id": row["customer_id"], "customer": row["customer"],
            "total": row["total"], "prior_total": row["prior_total"],
            "change": row["change"], "change_pct": row["change_pct"], "status": row["status"]}


def account_lists(conn: Connection, filters: ReportFilters, year: int) -> dict[str, Any]:
    """New, lost, growing and top accounts of ``year`` against the year before (the customers
    page's own rows and statuses)."""
    yearly = replace(filters, year=year, measure="gross")
    # the rows behind pages.customer_month_matrix and pages.lost_customers, read once
    every = _customer_rows(conn, yearly)
    rows = [r for r in every if r["status"] != "lost"]
    by_total = sorted(rows, key=lambda r: (-r["total_micros"], r["customer"].lower()))
    new = [_account(r) for r in by_total if r["status"] == "new"]
    growing = [r for r in rows if r["status"] == "up" and r["prior_micros"] > 0
               and r["change_pct"] is not None and r["change_pct"] > GROWTH_PCT]
    growing.sort(key=lambda r: (-(r["total_micros"] - r["prior_micros"]), r["customer"].lower()))
    lost = sorted((r for r in every if r["status"] == "lost"),
                  key=lambda r: (-r["prior_micros"], r["customer"].lower()))
    return {
        "top": [_account(r) for r in by_total if r["total_micros"] > 0][:LIST_LENGTH],
        "new": new[:LIST_LENGTH], "new_count": len(new),
        "growing": [_account(r) for r in growing][:LIST_LENGTH], "growing_count": len(growing),
        "lost": [_account(r) for r in lost][:LIST_LENGTH], "lost_count": len(lost),
    }


def my_book(conn: Connection, *, filters: ReportFilters, as_of: date | None = None,
            year: int | None = None) -> dict[str, Any]:
    """The whole page for the book ``filters`` allow (one AE's under ``scope_ae_id``): the
    year's months (booked, budget, forecast, STLY, last year, pace, pipeline), new business
    since the last import, accounts at risk, and new, lost, growing and top accounts."""
    filters = replace(filters, year=None, measure="gross")  # budgets and forecasts are gross
    as_of = as_of or newest_as_of(conn)
    year = year or book_year(as_of)
    pacing = pacing_report(conn, as_of=as_of, first=bc.month_key(year, 1),
                           last=bc.month_key(year, 12), filters=filters)
    window = import_window(conn, as_of)
    if window is None:
        changes: dict[str, Any] = {"since": None, "until": None, "rows": [], "totals": {}}
    else:
        changes = changes_report(conn, since=window[0], until=window[1], filters=filters)
    new_business = [r for r in changes["rows"] if r["change"] in ("added", "increased")]
    return {
        "as_of": as_of, "year": year, "pacing": pacing, "months": pacing["month_totals"],
        "total": pacing["total"], "changes": changes, "new_business": new_business,
        "at_risk": accounts_at_risk(conn, filters, as_of),
        "accounts": account_lists(conn, filters, year),
    }


def ae_name(conn: Connection, ae_id: int) -> str | None:
    """The AE's name, None when there is no such AE."""
    return conn.execute(text("SELECT name FROM aes WHERE ae_id = :a"), {"a": ae_id}).scalar()


def scoreboard_aes(conn: Connection, filters: ReportFilters, year: int) -> list[tuple[int, str]]:
    """Every AE with business this year or last, or a budget this year (by name)."""
    where, params = filters.where("ss")
    bwhere = "b.ae_id = :f_scope_ae" if filters.scope_ae_id is not None else "1 = 1"
    rows = conn.execute(text(
        "SELECT a.ae_id, a.name FROM aes a WHERE a.ae_id IN ("
        " SELECT ss.ae_id FROM spot_summary ss WHERE ss.broadcast_month BETWEEN :y0 AND :y1 "
        f" AND {where} UNION SELECT b.ae_id FROM budgets b WHERE b.broadcast_month "
        f" BETWEEN :b0 AND :y1 AND {bwhere}) ORDER BY a.name"),
        {**params, "y0": bc.month_key(year - 1, 1), "y1": bc.month_key(year, 12),
         "b0": bc.month_key(year, 1)}).all()
    return [(int(ae_id), str(name)) for ae_id, name in rows]


def _score(conn: Connection, filters: ReportFilters, as_of: date, year: int,
           week: tuple[date, date]) -> dict[str, Any]:
    total = pacing_report(conn, as_of=as_of, first=bc.month_key(year, 1),
                          last=bc.month_key(year, 12), filters=filters)["total"]
    changes = changes_report(conn, since=week[0], until=week[1], filters=filters)["totals"]
    risk = accounts_at_risk(conn, filters, as_of)
    return {
        "booked": total["booked_gross"], "budget": total["budget_gross"],
        "variance": total["variance_gross"], "pct_to_budget": total["pct_to_budget"],
        "forecast": total["forecast_gross"], "pipeline": total["pipeline_gross"],
        "stly": total["stly_gross"], "pace": total["pace"],
        "new_business": changes["added"]["gross_change"], "new_lines": changes["added"]["lines"],
        "net_change": changes["net"]["gross_change"],
        "at_risk": risk["total_gross"], "at_risk_accounts": len(risk["rows"]),
    }


def scoreboard(conn: Connection, *, filters: ReportFilters, as_of: date | None = None,
               year: int | None = None) -> dict[str, Any]:
    """Per AE (each read under its own scope, so every figure is that book's exact sum): the
    year's booked vs budget, pace vs STLY, new business in the 7 days to the as-of date and
    revenue at risk; the company row is read the same way, not added up from the rows."""
    filters = replace(filters, year=None, measure="gross")
    as_of = as_of or newest_as_of(conn)
    year = year or book_year(as_of)
    week = (as_of - timedelta(days=7), as_of)
    rows = []
    for ae_id, name in scoreboard_aes(conn, filters, year):  # a scoped reader: their AE only
        scoped = replace(filters, scope_ae_id=ae_id)
        rows.append({"ae_id": ae_id, "ae": name, **_score(conn, scoped, as_of, year, week)})
    return {"as_of": as_of, "year": year, "week": week, "rows": rows,
            "total": _score(conn, filters, as_of, year, week)}

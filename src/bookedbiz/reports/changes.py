"""What changed on the books between two as-of dates (SPEC §1.4).

Per month and contract (a blank or ``0`` contract groups by customer; AE and customer name the
line): added, increased, decreased or cancelled, with the gross change. Only the months some
recorded day in (since, until] touched can differ, so only those are read. "New business since
yesterday" is this list between the last two recorded days.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date, timedelta

from sqlalchemy import Connection, text

from bookedbiz import broadcast_calendar as bc
from bookedbiz.errors import ConfigError
from bookedbiz.history.queries import months_in, valid_on
from bookedbiz.money import dollars
from bookedbiz.reports.filters import ReportFilters
from bookedbiz.reports.names import names_by_id

KINDS = ("added", "increased", "decreased", "cancelled")


def default_window(conn: Connection) -> tuple[date, date] | None:
    """(the recorded day before the newest, the newest): the last import's changes."""
    days = list(conn.execute(text(
        "SELECT DISTINCT as_of FROM history_records ORDER BY as_of DESC LIMIT 2")).scalars())
    if not days:
        return None
    until = date.fromisoformat(days[0])
    since = date.fromisoformat(days[1]) if len(days) > 1 else until - timedelta(days=1)
    return since, until


def _touched_months(conn: Connection, since: date, until: date) -> list[str]:
    months: set[str] = set()
    for (listed,) in conn.execute(text(
            "SELECT months FROM history_records WHERE as_of > :a AND as_of <= :b"),
            {"a": since.isoformat(), "b": until.isoformat()}):
        months.update(json.loads(listed or "[]"))
    return sorted(months)


def kind_of(before: int, after: int) -> str:
    if before == 0:
        return "added"
    if after == 0:
        return "cancelled"
    return "increased" if after > before else "decreased"


def changes_report(conn: Connection, *, since: date | None = None, until: date | None = None,
                   filters: ReportFilters | None = None) -> dict[str, object]:
    """Every contract-month whose gross differs between ``since`` and ``until`` (defaults: the
    last two recorded days), largest change first, with totals per kind."""
    filters = replace(filters or ReportFilters(), year=None)
    if since is None or until is None:
        window = default_window(conn)
        if window is None:
            return {"since": since, "until": until, "rows": [], "totals": _totals([])}
        since, until = since or window[0], until or window[1]
    if since > until:
        raise ConfigError(f"--since {since.isoformat()} is after --until {until.isoformat()}; "
                          "give the earlier date first.")
    months = _touched_months(conn, since, until)
    in_months, month_params = months_in("h", months, "cm")
    where, params = filters.where("h")
    before_sql, after_sql = valid_on("h", "c_since"), valid_on("h", "c_until")
    rows = conn.execute(text(
        "SELECT h.broadcast_month, h.contract, h.customer_id, h.ae_id, "
        f"SUM(CASE WHEN {before_sql} THEN h.gross_micros ELSE 0 END) AS g0, "
        f"SUM(CASE WHEN {after_sql} THEN h.gross_micros ELSE 0 END) AS g1, "
        f"SUM(CASE WHEN {before_sql} THEN h.net_micros ELSE 0 END) AS n0, "
        f"SUM(CASE WHEN {after_sql} THEN h.net_micros ELSE 0 END) AS n1 "
        f"FROM booking_history h WHERE {in_months} AND (({before_sql}) OR ({after_sql})) "
        f"AND {where} GROUP BY 1, 2, 3, 4 "
        f"HAVING SUM(CASE WHEN {before_sql} THEN h.gross_micros ELSE 0 END) <> "
        f"SUM(CASE WHEN {after_sql} THEN h.gross_micros ELSE 0 END)"
    ), {**month_params, **params, "c_since": since.isoformat(),
        "c_until": until.isoformat()}).all()
    customers = names_by_id(conn, "customers", {r[2] for r in rows})
    aes = names_by_id(conn, "aes", {r[3] for r in rows})
    out = []
    for month, contract, customer_id, ae_id, g0, g1, n0, n1 in rows:
        g0, g1, n0, n1 = int(g0), int(g1), int(n0), int(n1)
        out.append({
            "month": month, "label": bc.label(month), "contract": contract or "",
            "customer": customers.get(customer_id, str(customer_id)),
            "ae": aes.get(ae_id, str(ae_id)), "change": kind_of(g0, g1),
            "gross_before": dollars(g0), "gross_after": dollars(g1),
            "gross_change": dollars(g1 - g0), "net_change": dollars(n1 - n0),
            "_exact": g1 - g0,
        })
    out.sort(key=lambda r: (-abs(r["_exact"]), r["month"], r["customer"], r["contract"]))
    totals = _totals(out)
    for row in out:
        del row["_exact"]
    return {"since": since, "until": until, "rows": out, "totals": totals}


def _totals(rows: list[dict[str, object]]) -> dict[str, dict[str, object]]:
    totals = {}
    for kind in KINDS:
        exact = [r["_exact"] for r in rows if r["change"] == kind]
        totals[kind] = {"lines": len(exact), "gross_change": dollars(sum(exact))}
    exact_all = [r["_exact"] for r in rows]
    totals["net"] = {"lines": len(exact_all), "gross_change": dollars(sum(exact_all))}
    return totals


def summary_lines(report: dict[str, object], limit: int = 5) -> list[str]:
    """The top lines for an alert: one sentence per change, largest first."""
    lines = []
    for row in report["rows"][:limit]:  # type: ignore[index]
        who = f"{row['customer']}" + (f" #{row['contract']}" if row["contract"] else "")
        lines.append(f"{row['change']} {row['label']} {who} ({row['ae']}): "
                     f"{row['gross_change']:+,.2f}")
    rest = len(report["rows"]) - limit  # type: ignore[arg-type]
    if rest > 0:
        lines.append(f"… and {rest} more change(s)")
    return lines

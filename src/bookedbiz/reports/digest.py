"""What a digest says (SPEC §2, Digests): plain data, an HTML body and an XLSX workbook.

*Weekly* = the pacing report (the same call as ``bookedbiz report pacing``) for the user's scope;
*daily* = what changed on the books between the last two imports on or before the as-of date
(``reports.changes``). The scope comes from ``users.book_scope``, the one rule the web app and
the API use too: an AE's digest holds their own book alone, a manager's the company's.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from html import escape
from typing import Any

from sqlalchemy import Connection

from bookedbiz import users
from bookedbiz.jobs.digest_send import DigestMessage
from bookedbiz.money import ROUNDING_NOTE
from bookedbiz.reports import tables as tbl
from bookedbiz.reports.changes import KINDS, changes_report
from bookedbiz.reports.filters import ReportFilters
from bookedbiz.reports.my_book import ae_name, import_window
from bookedbiz.reports.pacing import pacing_report

PACING_FIELDS = (
    ("label", "Month", "text"), ("status", "Status", "text"),
    ("booked_gross", "Booked", "money"), ("stly_gross", "STLY", "money"),
    ("pace_pct", "Pace %", "share"), ("last_year_gross", "Last year final", "money"),
    ("budget_gross", "Budget", "money"), ("forecast_gross", "Forecast", "money"),
    ("pipeline_gross", "Pipeline", "money"),
)
CHANGE_FIELDS = (
    ("label", "Month", "text"), ("change", "Change", "text"), ("contract", "Contract", "text"),
    ("customer", "Customer", "text"), ("ae", "AE", "text"),
    ("gross_before", "Gross before", "money"), ("gross_after", "Gross after", "money"),
    ("gross_change", "Gross change", "money"),
)


def reader_filters(user: users.User) -> ReportFilters:
    """The user's own scope, exactly as the web app sets it."""
    return ReportFilters(scope_ae_id=users.book_scope(user))


def scope_label(conn: Connection, filters: ReportFilters) -> str:
    if filters.scope_ae_id is None:
        return "the company"
    return ae_name(conn, filters.scope_ae_id) or "no book (the user is linked to no AE)"


def weekly_data(conn: Connection, user: users.User, as_of: date) -> dict[str, Any]:
    """The pacing report for the user's scope, as ``report pacing --as-of`` shows it."""
    filters = reader_filters(user)
    report = pacing_report(conn, as_of=as_of, filters=filters)
    for row in [*report["rows"], report["total"]]:
        row["pace_pct"] = None if row["pace"] is None else row["pace"] * 100
    return {"kind": "weekly", "as_of": as_of, "scope": scope_label(conn, filters),
            "report": report}


def daily_data(conn: Connection, user: users.User, as_of: date) -> dict[str, Any]:
    """What changed between the last two imports on or before ``as_of``, in the user's scope."""
    filters = reader_filters(user)
    window = import_window(conn, as_of)
    if window is None:
        report: dict[str, Any] = {"since": None, "until": None, "rows": [],
                                  "totals": {k: {"lines": 0, "gross_change": Decimal("0.00")}
                                             for k in (*KINDS, "net")}}
    else:
        report = changes_report(conn, since=window[0], until=window[1], filters=filters)
    return {"kind": "daily", "as_of": as_of, "scope": scope_label(conn, filters),
            "report": report}


def _cell(value: object, kind: str) -> str:
    if value is None or value == "":
        return "–"
    if kind == "money":
        return f"${Decimal(value):,.2f}"
    if kind == "share":
        return f"{Decimal(value):,.1f}%"
    return escape(str(value))


def _html_table(fields: tuple[tuple[str, str, str], ...], rows: list[dict[str, Any]],
                total: dict[str, Any] | None) -> str:
    head = "".join(f"<th style='text-align:{'left' if k == 'text' else 'right'};padding:4px 8px;"
                   f"border-bottom:2px solid #445'>{escape(label)}</th>"
                   for _key, label, k in fields)
    body = []
    for row in rows + ([total] if total else []):
        weight = "bold" if row is total else "normal"
        cells = "".join(
            f"<td style='text-align:{'left' if k == 'text' else 'right'};padding:3px 8px;"
            f"font-weight:{weight};border-bottom:1px solid #dde'>{_cell(row.get(key), k)}</td>"
            for key, _label, k in fields)
        body.append(f"<tr>{cells}</tr>")
    return ("<table style='border-collapse:collapse;font-family:Arial,sans-serif;font-size:13px'>"
            f"<thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>")


def _page(title: str, intro: str, table: str) -> str:
    return (f"<html><body style='font-family:Arial,sans-serif;color:#1d2733'>"
            f"<h2 style='margin:0 0 6px'>{escape(title)}</h2><p>{intro}</p>{table}"
            f"<p style='color:#667;font-size:12px'>Trade is excluded from every figure. "
            f"{escape(ROUNDING_NOTE)} The attached workbook holds the same figures.</p>"
            "</body></html>")


def _xlsx(name: str, title: str, fields: tuple[tuple[str, str, str], ...],
          rows: list[dict[str, Any]], total: dict[str, Any] | None,
          meta: dict[str, str]) -> bytes:
    columns = [tbl.Column(key, label, kind) for key, label, kind in fields]
    totals = [dict(total, label="Total")] if total else []
    return tbl.to_xlsx([tbl.Table(name, title, columns, rows, totals=totals)], title, meta)


def weekly_message(conn: Connection, user: users.User, as_of: date) -> DigestMessage:
    data = weekly_data(conn, user, as_of)
    report = data["report"]
    total = dict(report["total"])
    title = f"Weekly pacing as of {as_of.isoformat()}: {data['scope']}"
    pace = "–" if total["pace"] is None else f"{total['pace'] * 100:,.1f}%"
    intro = (f"Booked ${total['booked_gross']:,.2f} against ${total['stly_gross']:,.2f} at the "
             f"same time last year (as of {report['stly_as_of']}): pace {pace}, "
             f"{escape(total['label'])}.")
    rows = report["rows"]
    total.update(label="Total", status="")
    html = _page(title, intro, _html_table(PACING_FIELDS, rows, total))
    text = f"{title}\n{intro}"
    meta = {"book": data["scope"], "as of": as_of.isoformat(), "measure": "gross"}
    monday = as_of - timedelta(days=as_of.weekday())
    return DigestMessage(
        kind="weekly", period=f"weekly:{monday.isoformat()}", subject=f"BookedBiz · {title}",
        html=html, text=text, filename=f"bookedbiz-pacing-{as_of.isoformat()}.xlsx",
        xlsx=_xlsx("pacing", "Weekly pacing", PACING_FIELDS, rows, total, meta))


def daily_message(conn: Connection, user: users.User, as_of: date) -> DigestMessage:
    data = daily_data(conn, user, as_of)
    report = data["report"]
    since, until = report["since"], report["until"]
    window = f"{since} → {until}" if until else "no import recorded yet"
    title = f"What changed {window}: {data['scope']}"
    totals = report["totals"]
    parts = [f"{k} {totals[k]['lines']} (${totals[k]['gross_change']:,.2f})" for k in KINDS]
    intro = (f"Net change ${totals['net']['gross_change']:,.2f} over {totals['net']['lines']} "
             f"line(s): {', '.join(parts)}.")
    rows = report["rows"]
    total = {"label": "Net change", "gross_change": totals["net"]["gross_change"]}
    html = _page(title, escape(intro), _html_table(CHANGE_FIELDS, rows, total if rows else None))
    meta = {"book": data["scope"], "since": str(since or ""), "until": str(until or "")}
    return DigestMessage(
        kind="daily", period=f"daily:{since}..{until}", subject=f"BookedBiz · {title}",
        html=html, text=f"{title}\n{intro}",
        filename=f"bookedbiz-changes-{until or as_of}.xlsx",
        xlsx=_xlsx("changes", "What changed", CHANGE_FIELDS, rows, total if rows else None,
                   meta))


def compose(kind: str, as_of: date):  # noqa: ANN201 - a Composer for jobs.digest_send
    """The composer ``send_digests`` calls per user."""
    build = weekly_message if kind == "weekly" else daily_message

    def composer(conn: Connection, user: users.User) -> DigestMessage:
        return build(conn, user, as_of)

    return composer

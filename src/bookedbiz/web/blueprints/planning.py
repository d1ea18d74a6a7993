"""Planning (SPEC §2.10): the AE × month planning table with forecasts editable in place, the
managers' budget grid with bulk paste, and the quarterly management report with its XLSX.

Figures come from reports.planning / reports.management (the CLI's too); this module lays them
out. Plans are not part of the report cache's data version, so each cached call also carries
the newest plan change, and an edit shows at once.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_wtf.csrf import generate_csrf
from markupsafe import Markup, escape
from sqlalchemy import Connection, text

from bookedbiz import broadcast_calendar as bc
from bookedbiz.errors import BookedBizError
from bookedbiz.money import ROUNDING_NOTE, micros_to_dollars, parse_micros
from bookedbiz.permissions import can
from bookedbiz.planning import budgets as budget_store
from bookedbiz.planning import forecasts as forecast_store
from bookedbiz.planning.budget_file import BudgetLine
from bookedbiz.reports import management, planning
from bookedbiz.reports import tables as tbl
from bookedbiz.reports.filters import ReportFilters
from bookedbiz.web.auth import actor_name, reader, requires
from bookedbiz.web.cache import cached, data_version
from bookedbiz.web.db import db_path, read_conn
from bookedbiz.web.formatting import fmt_cell, fmt_time
from bookedbiz.web.view import act, current_filters, filter_bar, filter_query, render_report

bp = Blueprint("planning", __name__, url_prefix="/planning")

MAX_PASTE = 200_000


def _plan_version() -> tuple:
    row = read_conn().execute(text(
        "SELECT (SELECT MAX(change_id) FROM budget_changes), "
        "(SELECT MAX(change_id) FROM forecast_changes)")).one()
    return (*tuple(row), data_version())


def _planning(conn: Connection, filters: ReportFilters, _version: tuple) -> dict:
    return planning.planning_report(conn, filters)  # as of the day the books stand at


def _management(conn: Connection, filters: ReportFilters, _version: tuple) -> dict:
    return management.management_report(conn, filters)


def plan_filters() -> ReportFilters:
    """The page's filters: year and AE from the URL, the reader's scope from the session."""
    return planning.plan_filters(current_filters())


def _columns(spec: tuple[tuple[str, str, str], ...]) -> list[tbl.Column]:
    return [tbl.Column(key, label, kind) for key, label, kind in spec]


def planning_tables(report: dict[str, Any]) -> list[tbl.Table]:
    """What the page shows, as tables: the same objects the CSV and XLSX exports write."""
    year = report["year"]
    rows = [dict(r, _class=r["status"]) for r in report["rows"]]
    company = [dict(r, _class=r["status"]) for r in report["company"]]
    year_total = {"label": "Year", "period": "Year", "status": "", **report["total"]}
    per_ae_columns = [tbl.Column("ae", "AE")] + _columns(planning.PERIOD_COLUMNS)[1:]
    return [
        tbl.Table("company", f"Company by month {year}", _columns(planning.COMPANY_COLUMNS),
                  company, totals=[year_total], note=ROUNDING_NOTE),
        tbl.Table("periods", f"Quarters and year {year}", _columns(planning.PERIOD_COLUMNS),
                  report["periods"], note=ROUNDING_NOTE),
        tbl.Table("per_ae", f"AEs, year {year}", per_ae_columns, report["per_ae"],
                  totals=[dict(year_total, ae="Total")], note=ROUNDING_NOTE),
        tbl.Table("rows", f"AE × month {year}", _columns(planning.ROW_COLUMNS), rows,
                  note="Pipeline = forecast − booked for an open month whose forecast is "
                  "higher; variance = booked − budget. " + ROUNDING_NOTE),
    ]


def _chart(report: dict[str, Any]) -> dict[str, Any]:
    company = report["company"]

    def series(key: str) -> list[float | None]:
        return [None if c[key] is None else float(c[key]) for c in company]

    return {
        "kind": "bars",
        "title": f"Booked, budget and forecast by broadcast month {report['year']}",
        "x": [c["label"] for c in company],
        "series": [{"name": "Booked", "y": series("booked")},
                   {"name": "Budget", "y": series("budget")},
                   {"name": "Forecast", "y": series("forecast")},
                   {"name": "Last year", "y": series("last_year")}],
        "status": [c["status"] for c in company],
    }


def may_edit_forecast(ae_id: int, status: str) -> bool:
    user = reader()
    if user is None or status == "closed":
        return False
    if can(user.role, "edit_any_forecast"):
        return True
    return can(user.role, "edit_own_forecast") and user.ae_id == ae_id


def rows_markup(table: tbl.Table, editable: set[tuple[int, str]], year: int,
                ae_filter: str) -> Markup:
    """The AE × month table's body, built in Python (a Jinja loop over every cell of a year of
    AEs cost more than the page's queries): the same values the exports write, with the
    forecast cell a small form where the reader may edit it. Every value is escaped."""
    token = escape(generate_csrf())
    action = escape(url_for("planning.set_forecast"))
    hidden = (f'<input type="hidden" name="csrf_token" value="{token}">'
              f'<input type="hidden" name="year" value="{year}">'
              f'<input type="hidden" name="ae_filter" value="{escape(ae_filter)}">')
    out: list[str] = []
    for row in table.rows:
        out.append(f'<tr class="{escape(row.get("_class") or "")}">')
        for column in table.columns:
            value = row.get(column.key)
            if column.key == "forecast" and (row["ae_id"], row["month"]) in editable:
                shown = "" if value is None else escape(value)
                label = escape(f"Forecast {row['ae']} {row['label']}")
                out.append(
                    f'<td class="num" data-value="{shown}"><form method="post" '
                    f'action="{action}" class="inline-form">{hidden}'
                    f'<input type="hidden" name="ae_id" value="{int(row["ae_id"])}">'
                    f'<input type="hidden" name="month" value="{escape(row["month"])}">'
                    f'<input type="text" name="gross" value="{shown}" size="11" '
                    f'inputmode="decimal" aria-label="{label}">'
                    '<input type="text" name="note" value="" size="8" placeholder="note" '
                    'aria-label="Note"><button type="submit" class="btn btn-small">Save'
                    "</button></form></td>")
            elif column.numeric:
                negative = " neg" if value is not None and value < 0 else ""
                data = "" if value is None else escape(value)
                out.append(f'<td class="num{negative}" data-value="{data}">'
                           f"{escape(fmt_cell(value, column.kind))}</td>")
            elif column.key == "forecast_changed_at":
                note = row.get("forecast_note")
                extra = (f' <span class="muted" title="{escape(note)}">'
                         f"({escape(note[:24])})</span>") if note else ""
                out.append(f"<td>{escape(fmt_time(value))}{extra}</td>")
            else:
                out.append(f"<td>{escape(fmt_cell(value, column.kind))}</td>")
        out.append("</tr>\n")
    return Markup("".join(out))


def _changes_table(report: dict[str, Any], filters: ReportFilters) -> tbl.Table:
    """The year's forecast changes of the AEs on the page (an AE: their own), newest first."""
    year = report["year"]
    filtered = filters.ae or filters.scope_ae_id is not None
    ae_ids = sorted({a["ae_id"] for a in report["per_ae"]}) if filtered else None
    history = forecast_store.forecast_history(
        read_conn(), ae_ids=ae_ids, first=f"{year:04d}-01",
        last=f"{year:04d}-12", limit=100)
    rows = [dict(_dollars(h), label=bc.label(str(h["month"]))) for h in history]
    columns = [tbl.Column("changed_at", "When"), tbl.Column("changed_by", "Who"),
               tbl.Column("ae", "AE"), tbl.Column("label", "Month"),
               tbl.Column("old", "Old", "money"), tbl.Column("new", "New", "money"),
               tbl.Column("note", "Note")]
    return tbl.Table("forecast_changes", f"Forecast changes {year} (latest 100)", columns, rows,
                     empty_message="No forecast has been entered for this year.")


@bp.get("/")
@requires("read_reports")
def index() -> Response | str:
    filters = plan_filters()
    report = cached(_planning, filters, _plan_version())
    tables = planning_tables(report)
    tables.append(_changes_table(report, filters))
    editable = {(r["ae_id"], r["month"]) for r in report["rows"]
                if may_edit_forecast(r["ae_id"], r["status"])}
    body = None
    if not request.args.get("format"):
        body = rows_markup(tables[-2], editable, report["year"], filters.ae or "")
    return render_report("reports/planning.html", "Planning", filters, tables, report=report,
                         chart=_chart(report), editable=editable, rows_body=body,
                         can_edit_budgets=can(reader().role, "edit_budgets"))  # type: ignore[union-attr]


@bp.post("/forecast")
@requires("edit_own_forecast")
def set_forecast() -> Response:
    """One forecast cell from the planning page: an AE their own book, managers anyone's."""
    form = request.form
    year = form.get("year", "")
    back = {k: v for k, v in (("year", year), ("ae", form.get("ae_filter", ""))) if v}

    def action() -> str:
        user = reader()
        assert user is not None
        if not (form.get("ae_id") or "").isdigit():
            raise BookedBizError("Choose an AE's month to forecast.")
        month = forecast_store.parse_month_arg(form.get("month", ""))
        raw = (form.get("gross") or "").strip()
        micros = None if raw == "" else forecast_store.parse_forecast_amount(raw)
        own = None if can(user.role, "edit_any_forecast") else (user.ae_id or -1)
        done = forecast_store.set_forecast(
            db_path(), ae_id=int(form["ae_id"]), month=month, micros=micros, by=actor_name(),
            note=form.get("note"), own_ae_id=own)
        shown = "cleared" if micros is None else f"${micros_to_dollars(micros):,}"
        return f"Forecast for {done.ae} {bc.label(done.month)}: {shown}."

    return act(action, "planning.index", **back)


# -- budgets grid -------------------------------------------------------------------------------

def _grid(filters: ReportFilters) -> dict[str, Any]:
    report = cached(_planning, filters, _plan_version())
    budgets = {(r["ae_id"], r["month"]): r["budget"] for r in report["rows"]}
    aes = [{"ae_id": a["ae_id"], "ae": a["ae"]} for a in report["per_ae"]]
    history = budget_store.budget_history(read_conn(), limit=30)
    return {"report": report, "budgets": budgets, "aes": aes, "history": [_dollars(h)
                                                                         for h in history]}


def _dollars(change: dict[str, Any]) -> dict[str, Any]:
    """Old and new micro-dollars of a change as dollars to the cent (None stays None)."""
    out = dict(change)
    for key in ("old", "new"):
        value = change.get(f"{key}_micros")
        out[key] = None if value is None else micros_to_dollars(value)
    return out


def _preview(load: budget_store.BudgetLoad | None) -> dict[str, Any] | None:
    if load is None:
        return None
    changes = [_dollars({"ae": c.ae, "month": c.month, "old_micros": c.old_micros,
                         "new_micros": c.new_micros}) for c in load.changes]
    return {"changes": changes, "unchanged": load.unchanged, "created_aes": load.created_aes}


@bp.get("/budgets")
@requires("edit_budgets")
def budgets() -> str:
    filters = plan_filters()
    return render_template("reports/budgets.html", title="Budgets", filters=filters,
                           bar=filter_bar(filters), fq=filter_query(filters),
                           months=bc.months_of_year(filters.year or date.today().year),
                           preview=None, paste="", **_grid(filters))


@bp.post("/budgets/grid")
@requires("edit_budgets")
def save_grid() -> Response:
    """The grid's inputs: only cells whose value changed become budget lines."""
    year = request.form.get("year", "")

    def action() -> str:
        lines = []
        names = dict(_ae_names())
        for key, value in request.form.items():
            if not key.startswith("b:") or not value.strip():
                continue
            _, ae_text, month = key.split(":", 2)
            if not ae_text.isdigit() or int(ae_text) not in names or bc.parse_month(month) != month:
                raise BookedBizError("The budget grid was changed outside the page; reload it.")
            micros = parse_micros(value)
            if micros is None or micros < 0:
                raise BookedBizError(f"The budget '{value[:30]}' for {names[int(ae_text)]} "
                                     f"{bc.label(month)} is not an amount of 0 or more.")
            lines.append(BudgetLine(0, names[int(ae_text)], month, micros))
        load = budget_store.apply_budgets(db_path(), lines, by=actor_name(), source="web grid")
        return f"Saved {len(load.changes)} budget changes ({load.unchanged} unchanged)."

    try:
        return act(action, "planning.budgets", **({"year": year} if year else {}))
    except ValueError:
        abort(400)


def _ae_names() -> list[tuple[int, str]]:
    return [(int(a), str(n)) for a, n in read_conn().execute(text("SELECT ae_id, name FROM aes"))]


@bp.post("/budgets/paste")
@requires("edit_budgets")
def paste() -> Response | str:
    """Preview a block pasted from Excel (nothing stored); ``save`` stores the same block."""
    filters = plan_filters()
    block = request.form.get("paste", "")[:MAX_PASTE]
    save = request.form.get("save") == "1"
    try:
        lines = budget_store.lines_from_text(block)
        load = budget_store.apply_budgets(db_path(), lines, by=actor_name(),
                                          source="web paste", dry_run=not save,
                                          create_aes=request.form.get("create_aes") == "1")
    except BookedBizError as exc:
        flash(str(exc), "error")
        load = None
    else:
        if save:
            flash(f"Saved {len(load.changes)} budget changes ({load.unchanged} unchanged).",
                  "success")
            return redirect(url_for("planning.budgets", **filter_query(filters)))
    months = bc.months_of_year(filters.year or date.today().year)
    return render_template("reports/budgets.html", title="Budgets", filters=filters,
                           bar=filter_bar(filters), fq=filter_query(filters), months=months,
                           preview=_preview(load), paste=block, **_grid(filters))


# -- management report --------------------------------------------------------------------------

@bp.get("/management")
@requires("read_reports")
def management_page() -> Response | str:
    filters = plan_filters()
    report = cached(_management, filters, _plan_version())
    fmt = request.args.get("format")
    if fmt == "xlsx":
        body = management.management_xlsx(report, scope=filters.ae or "")
        response = Response(body, mimetype="application/vnd.openxmlformats-officedocument."
                            "spreadsheetml.sheet")
        response.headers["Content-Disposition"] = (
            f'attachment; filename="management-{report["year"]}.xlsx"')
        return response
    columns = [tbl.Column("entity", "Entity")] + [tbl.Column(k, label, kind)
                                                 for k, label, kind in management.COLUMNS]
    table = tbl.Table("management", f"Management report {report['year']}", columns,
                      management.management_rows(report), note=ROUNDING_NOTE)
    if fmt:
        return render_report("reports/management.html", "Management report", filters, [table])
    return render_report("reports/management.html", "Management report", filters, [table],
                         report=report, columns=management.COLUMNS,
                         xlsx_url=url_for("planning.management_page", format="xlsx",
                                          **filter_query(filters)))

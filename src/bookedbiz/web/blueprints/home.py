"""Everyone's own page: My book for an AE, the team scoreboard for a manager (SPEC §2).

Lay-out only: the figures come from reports.my_book. Whose book is read is decided here, on the
server, from who is signed in: an AE reads their own book whatever the URL asks (another AE's id
is refused, 403); a reader who sees every book may open any AE's with ``?ae=ID``.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, redirect, request, url_for
from flask_login import current_user

from bookedbiz import broadcast_calendar as bc
from bookedbiz import permissions
from bookedbiz.money import ROUNDING_NOTE
from bookedbiz.reports import tables as tbl
from bookedbiz.reports.filters import ReportFilters
from bookedbiz.reports.my_book import ae_name, my_book, scoreboard, scoreboard_aes
from bookedbiz.web.auth import reader, requires
from bookedbiz.web.blueprints.pacing import history_version
from bookedbiz.web.cache import cached
from bookedbiz.web.db import db_path, read_conn
from bookedbiz.web.view import act, current_filters, render_report

bp = Blueprint("home", __name__)


def landing_endpoint(role: str | None) -> str:
    """Where a reader lands after signing in: an AE on My book, a reader of every book on the
    team scoreboard, anyone else on the revenue overview."""
    if role is not None and not permissions.can(role, "see_every_book"):
        return "home.my_book_page"
    if permissions.can(role, "see_team_scoreboard"):
        return "home.scoreboard_page"
    return "reports.overview"


def _chosen_ae(scope: int | None) -> int | None:
    """The AE whose book this request reads. ``scope`` is the reader's own-book scope (None
    for a reader of every book). Another AE's book is never read for a scoped reader."""
    asked = (request.args.get("ae") or "").strip()
    if asked and not asked.isdigit():
        abort(400, description="The AE must be an AE number.")
    if scope is not None:
        if asked and int(asked) != scope:
            abort(403)
        return scope
    if asked:
        return int(asked)
    user = reader()
    return user.ae_id if user is not None else None


def _money(key: str, label: str, title: str = "") -> tbl.Column:
    return tbl.Column(key, label, "money", title=title)


def months_table(book: dict[str, Any]) -> tbl.Table:
    rows = [{
        "label": m["label"], "status": m["status"].title(), "booked": m["booked_gross"],
        "budget": m["budget_gross"], "pct": m["pct_to_budget"], "forecast": m["forecast_gross"],
        "pipeline": m["pipeline_gross"], "stly": m["stly_gross"],
        "pace": None if m["pace"] is None else m["pace"] * 100,
        "last_year": m["last_year_gross"], "_class": m["status"],
    } for m in book["months"]]
    t = book["total"]
    totals = [{"label": "Year", "booked": t["booked_gross"], "budget": t["budget_gross"],
               "pct": t["pct_to_budget"], "forecast": t["forecast_gross"],
               "pipeline": t["pipeline_gross"], "stly": t["stly_gross"],
               "pace": None if t["pace"] is None else t["pace"] * 100,
               "last_year": t["last_year_gross"]}]
    columns = [
        tbl.Column("label", "Month"), tbl.Column("status", "Status"),
        _money("booked", "Booked", f"On the books as of {book['as_of']}"),
        _money("budget", "Budget"), tbl.Column("pct", "% to budget", "share"),
        _money("forecast", "Forecast"),
        _money("pipeline", "Pipeline", "Forecast − booked, open months with a higher forecast"),
        _money("stly", "STLY", f"Same time last year (as of {book['pacing']['stly_as_of']})"),
        tbl.Column("pace", "Pace %", "share", title="Booked ÷ STLY"),
        _money("last_year", "Last year final"),
    ]
    return tbl.Table("months", f"{book['year']} by month (gross)", columns, rows,
                     totals=totals, note=ROUNDING_NOTE)


def _customer_link(customer_id: int) -> str:
    return url_for("customers.detail", customer_id=customer_id)


def account_table(name: str, title: str, accounts: list[dict[str, Any]],
                  empty: str) -> tbl.Table:
    rows = [{**a, "_links": {"customer": _customer_link(a["customer_id"])}} for a in accounts]
    columns = [tbl.Column("customer", "Customer"), _money("total", "This year"),
               _money("prior_total", "Last year"), _money("change", "Change"),
               tbl.Column("change_pct", "Change %", "pct")]
    return tbl.Table(name, title, columns, rows, empty_message=empty)


def risk_table(risk: dict[str, Any]) -> tbl.Table:
    recent = ", ".join(bc.label(m) for m in risk["recent_months"]) or "no closed month yet"
    ahead = ", ".join(bc.label(m) for m in risk["ahead_months"])
    rows = [{**r, "_links": {"customer": _customer_link(r["customer_id"])}}
            for r in risk["rows"]]
    columns = [tbl.Column("customer", "Customer"),
               _money("recent_gross", "Last 3 closed months"),
               tbl.Column("last_month", "Last month with revenue")]
    return tbl.Table("at_risk", "Accounts at risk", columns, rows,
                     totals=[{"customer": "Total", "recent_gross": risk["total_gross"]}],
                     note=f"Revenue in {recent} and nothing booked in {ahead}.",
                     empty_message="No account at risk: everyone with recent revenue has "
                                   "business booked ahead.")


def new_business_table(book: dict[str, Any]) -> tbl.Table:
    changes = book["changes"]
    rows = [{**r, "_class": r["change"]} for r in book["new_business"]]
    window = (f"{changes['since']} → {changes['until']}" if changes["until"]
              else "no import recorded yet")
    columns = [tbl.Column("label", "Month"), tbl.Column("change", "Change"),
               tbl.Column("contract", "Contract"), tbl.Column("customer", "Customer"),
               _money("gross_change", "Gross change")]
    totals = changes.get("totals") or {}
    footer = [{"label": "Added", "gross_change": totals["added"]["gross_change"]},
              {"label": "Net change (all kinds)", "gross_change": totals["net"]["gross_change"]}
              ] if totals and rows else []
    return tbl.Table("new_business", f"New business since the last import ({window})",
                     columns, rows, totals=footer,
                     empty_message="No new or increased business in the last import.")


def book_chart(book: dict[str, Any]) -> dict[str, Any]:
    months = book["months"]

    def series(key: str) -> list[float | None]:
        return [None if m[key] is None else float(m[key]) for m in months]

    return {"kind": "bars", "title": f"{book['year']}: booked vs budget, forecast and STLY",
            "x": [m["label"] for m in months],
            "series": [{"name": "Booked", "y": series("booked_gross")},
                       {"name": "Budget", "y": series("budget_gross")},
                       {"name": "Forecast", "y": series("forecast_gross")},
                       {"name": "STLY", "y": series("stly_gross")}]}


def _year_arg() -> int | None:
    raw = (request.args.get("year") or "").strip()
    if not raw:
        return None
    if not raw.isdigit() or not 1990 <= int(raw) <= 2100:
        abort(400, description="The year must be a number like 2026.")
    return int(raw)


def _book(conn, filters, year, _version):  # noqa: ANN001, ANN202
    return my_book(conn, filters=filters, year=year)


def _board(conn, filters, year, _version):  # noqa: ANN001, ANN202
    return scoreboard(conn, filters=filters, year=year)


@bp.get("/my-book")
@requires("read_reports")
def my_book_page():  # noqa: ANN201
    scope = current_filters().scope_ae_id
    ae_id = _chosen_ae(scope)
    if ae_id is None:  # a reader of every book, linked to no AE: the team first
        return redirect(url_for("home.scoreboard_page"))
    name = cached(ae_name, ae_id)
    if name is None:
        abort(404)
    filters = ReportFilters(scope_ae_id=ae_id)
    book = cached(_book, filters, _year_arg(), history_version())
    accounts = book["accounts"]
    tables = [
        months_table(book), new_business_table(book), risk_table(book["at_risk"]),
        account_table("top", "Top accounts", accounts["top"], "No booked business this year."),
        account_table("new", f"New accounts ({accounts['new_count']})", accounts["new"],
                      "No new account this year."),
        account_table("growing", f"Growing accounts ({accounts['growing_count']})",
                      accounts["growing"], "No account up more than 20% on last year."),
        account_table("lost", f"Lost accounts ({accounts['lost_count']})", accounts["lost"],
                      "No account lost since last year."),
    ]
    picker = (cached(scoreboard_aes, ReportFilters(), book["year"])
              if scope is None else [])
    shown = ReportFilters(year=book["year"], scope_ae_id=ae_id)
    return render_report("reports/my_book.html", f"My book · {name}" if scope is not None
                         else f"Book of {name}", shown, tables, book=book, ae_id=ae_id,
                         ae=name, picker=picker, chart=book_chart(book), own=scope is not None)


def scoreboard_table(board: dict[str, Any]) -> tbl.Table:
    def row(values: dict[str, Any]) -> dict[str, Any]:
        return {**values, "pace": None if values["pace"] is None else values["pace"] * 100}

    rows = [{**row(r), "_links": {"ae": url_for("home.my_book_page", ae=r["ae_id"])}}
            for r in board["rows"]]
    week = board["week"]
    columns = [
        tbl.Column("ae", "AE"), _money("booked", "Booked"), _money("budget", "Budget"),
        tbl.Column("pct_to_budget", "% to budget", "share"), _money("variance", "Variance"),
        _money("stly", "STLY"), tbl.Column("pace", "Pace %", "share", title="Booked ÷ STLY"),
        _money("pipeline", "Pipeline"),
        _money("new_business", "New business", f"Added {week[0]} → {week[1]}"),
        _money("at_risk", "Revenue at risk",
               "Last 3 closed months of accounts with nothing booked in the next 2 open ones"),
        tbl.Column("at_risk_accounts", "Accounts at risk", "int"),
    ]
    total = {"ae": "Company", **row(board["total"])}
    return tbl.Table("scoreboard", f"Team scoreboard {board['year']} as of {board['as_of']}",
                     columns, rows, totals=[total], note=ROUNDING_NOTE,
                     empty_message="No AE has business this year yet.")


@bp.get("/scoreboard")
@requires("see_team_scoreboard")
def scoreboard_page():  # noqa: ANN201
    filters = current_filters()
    if filters.scope_ae_id is not None:  # defence in depth: the permission already refuses
        abort(403)
    board = cached(_board, ReportFilters(), _year_arg(), history_version())
    shown = ReportFilters(year=board["year"])
    chart = {"kind": "bars", "title": f"{board['year']}: booked vs budget by AE",
             "x": [r["ae"] for r in board["rows"]],
             "series": [{"name": "Booked", "y": [float(r["booked"]) for r in board["rows"]]},
                        {"name": "Budget", "y": [None if r["budget"] is None else
                                                 float(r["budget"]) for r in board["rows"]]}]}
    return render_report("reports/scoreboard.html", "Team scoreboard", shown,
                         [scoreboard_table(board)], board=board, chart=chart)


def own_digests() -> list[Any]:
    """The signed-in user's digest subscriptions (targets shown as scheme and host only)."""
    from bookedbiz.jobs.digest_subscriptions import list_subscriptions

    user = reader()
    return list_subscriptions(read_conn(), user_id=user.user_id) if user is not None else []


@bp.post("/account/digests")
@requires("receive_digests")
def add_digest():  # noqa: ANN201
    from bookedbiz.jobs.digest_subscriptions import subscribe

    return act(lambda: subscribe(db_path(), current_user.username,
                                 request.form.get("kind") or "", request.form.get("target")),
               "auth.account", _anchor="digests")


@bp.post("/account/digests/<int:subscription_id>/remove")
@requires("receive_digests")
def remove_digest(subscription_id: int):  # noqa: ANN201
    from bookedbiz.jobs.digest_subscriptions import unsubscribe

    def remove() -> str:
        unsubscribe(db_path(), current_user.username, subscription_id=subscription_id)
        return "The digest subscription is removed."

    return act(remove, "auth.account", _anchor="digests")

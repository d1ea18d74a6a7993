"""What every report page shares: filters from the URL, the filter bar, and render-or-export.

``current_filters()`` is the one place a report request gets its ReportFilters, and it sets the
reader's scope (an ``ae`` user's or their token's own book) on them, so every report query built
on the filters sees only what the reader may see.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import date
from typing import Any
from urllib.parse import urlencode

from flask import Response, abort, flash, redirect, render_template, request, url_for

from bookedbiz.broadcast_calendar import broadcast_weeks, label, months_of_year
from bookedbiz.errors import BookedBizError
from bookedbiz.reports import revenue
from bookedbiz.reports import tables as tbl
from bookedbiz.reports.filters import BASES, REVENUE_CLASSES, ReportFilters
from bookedbiz.reports.pages import year_span
from bookedbiz.reports.stations import check_stations, closed_months, station_list
from bookedbiz.reports.stewardship import sector_names
from bookedbiz.web.auth import reader, scope_ae_id
from bookedbiz.web.cache import cached, station_count
from bookedbiz.web.db import read_conn

# Query-string keys that belong to the shared filter bar (kept in every link and export).
FILTER_KEYS = ("year", "measure", "ae", "market", "revenue_type", "basis", "sector",
               "revenue_class")


def current_filters(extra_keys: tuple[str, ...] = ()) -> ReportFilters:
    """The filters in the URL (validated by the data core), with the year defaulted and the
    reader's scope set from who is signed in (never from the URL). ``station`` may be repeated
    or a comma list; an unknown code is a 400 naming the known ones."""
    args: dict[str, object] = {
        k: v for k, v in request.args.items() if k in FILTER_KEYS + extra_keys and v != ""}
    if "station" in request.args:
        args["station"] = request.args.getlist("station")
    filters = ReportFilters.from_mapping(args)
    if filters.stations:
        filters = replace(filters, stations=check_stations(read_conn(), filters.stations))
    filters = replace(filters, scope_ae_id=scope_ae_id(reader()))
    if filters.year is None:
        filters = replace(filters, year=default_year())
    return filters


def is_scoped(filters: ReportFilters) -> bool:
    """True when the reader sees one AE's book only (pages refuse what lies outside it)."""
    return filters.scope_ae_id is not None


def default_year() -> int:
    """This year when it has data, else the latest year that does (a fresh demo still shows)."""
    years = cached(year_span)
    this_year = date.today().year
    if not years or this_year in years:
        return this_year
    earlier = [y for y in years if y <= this_year]
    return max(earlier) if earlier else min(years)


def filter_query(filters: ReportFilters, **extra: Any) -> dict[str, Any]:
    """URL parameters that reproduce ``filters`` (plus ``extra``), without empty values."""
    values = {
        "year": filters.year,
        "measure": filters.measure if filters.measure != "gross" else None,
        "ae": filters.ae,
        "market": filters.market,
        "revenue_type": filters.revenue_type,
        "basis": filters.basis if filters.basis != "broadcast" else None,
        "sector": filters.sector,
        "revenue_class": filters.revenue_class,
        "station": ",".join(filters.stations) or None,
    }
    values.update(extra)
    return {k: v for k, v in values.items() if v not in (None, "")}


def month_columns(year: int, filters: ReportFilters | None = None) -> list[dict[str, Any]]:
    """The 12 month headers of a year: key, label, weeks, status (closed/open)."""
    closed = revenue_month_status(year, filters)
    return [
        {
            "month": m,
            "label": label(m),
            "weeks": broadcast_weeks(m),
            "status": "closed" if m in closed else "open",
        }
        for m in months_of_year(year)
    ]


def revenue_month_status(year: int, filters: ReportFilters | None = None) -> set[str]:
    """The closed months of ``year``: closed for every station the page covers."""
    return closed_months(read_conn(), f"{year:04d}-01", f"{year:04d}-12", filters)


def month_table_columns(year: int, filters: ReportFilters | None = None) -> list[tbl.Column]:
    return [
        tbl.Column(
            m["month"],
            m["label"],
            "money",
            header_class=m["status"],
            sub=f"{m['weeks']} wks",
            title=f"{m['label']}: {m['status']}, {m['weeks']} broadcast weeks",
        )
        for m in month_columns(year, filters)
    ]


def scoped_options(options: dict[str, Any], filters: ReportFilters) -> dict[str, Any]:
    """The filter lists a reader may pick from: an AE user's AE list is themselves alone."""
    if not is_scoped(filters):
        return options
    user = reader()
    own = user.ae_name if user is not None and user.ae_name else None
    return dict(options, aes=[own] if own and own in options.get("aes", []) else [])


def filter_bar(filters: ReportFilters) -> dict[str, Any]:
    options = scoped_options(cached(revenue.filter_options, filters.year), filters)
    options = dict(options, sectors=cached(sector_names), revenue_classes=REVENUE_CLASSES,
                   bases=BASES)
    years = sorted(set(cached(year_span)) | {filters.year}, reverse=True)
    # the station select only where there is a choice: one station's pages look as before
    if multi_station() or filters.stations:
        options["stations"] = [s["code"] for s in cached(station_list)]
    return {"years": years, "options": options, "filters": filters}


def multi_station() -> bool:
    """True when the database has more than one station (station columns and tabs show)."""
    return station_count() > 1


def describe_filters(filters: ReportFilters) -> dict[str, str]:
    return {
        "year": str(filters.year or ""),
        "measure": filters.measure,
        "ae": filters.ae or "",
        "market": filters.market or "",
        "revenue type": filters.revenue_type or "",
        "month basis": filters.basis,
        "sector": filters.sector or "",
        "revenue class": filters.revenue_class or "",
        **({"station": ", ".join(filters.stations)} if filters.stations else {}),
    }


def render_report(
    template: str,
    title: str,
    filters: ReportFilters,
    tables: list[tbl.Table],
    **context: Any,
) -> Response | str:
    """Render the page, or export one of its tables when ``?format=csv|xlsx`` is asked for."""
    fmt = request.args.get("format")
    if fmt:
        return export(title, filters, tables, fmt, request.args.get("table"))
    exports = {
        t.name: {
            "csv": export_url(format="csv", table=t.name),
            "xlsx": export_url(format="xlsx", table=t.name),
        }
        for t in tables
    }
    return render_template(
        template,
        title=title,
        tables={t.name: t for t in tables},
        exports=exports,
        bar=filter_bar(filters),
        filters=filters,
        fq=filter_query(filters),
        **context,
    )


def export_url(**params: Any) -> str:
    """This page's URL with ``params`` added. The query string is appended as text, never
    passed to url_for as keywords: a parameter named like a view argument (``customer_id``)
    or like one of url_for's own (``_method``, ``_external``) must not change the route."""
    args = {k: v for k, v in request.args.items() if k not in ("format", "table")}
    args.update(params)
    base = url_for(request.endpoint, **(request.view_args or {}))
    return f"{base}?{urlencode(args)}" if args else base


def export(
    title: str, filters: ReportFilters, tables: list[tbl.Table], fmt: str, name: str | None
) -> Response:
    chosen = [t for t in tables if name is None or t.name == name]
    if not chosen:
        abort(404)
    meta = describe_filters(filters)
    if fmt == "csv":
        body = tbl.to_csv(chosen[0])
        mime = "text/csv; charset=utf-8"
        download = tbl.filename(chosen[0], meta, "csv")
    elif fmt == "xlsx":
        body = tbl.to_xlsx(chosen, title, meta)
        mime = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        download = tbl.filename(chosen[0], meta, "xlsx")
    else:
        abort(400, description="Unknown export format; use csv or xlsx.")
    response = Response(body, mimetype=mime)
    response.headers["Content-Disposition"] = f'attachment; filename="{download}"'
    return response


def act(action: Callable[[], str], endpoint: str, **values: Any) -> Response:
    """Run a write from a form: flash its success sentence, or the error's one sentence, then
    redirect (post/redirect/get), so every admin action reports the same way."""
    try:
        flash(action(), "success")
    except BookedBizError as exc:
        flash(str(exc), "error")
    return redirect(url_for(endpoint, **values))

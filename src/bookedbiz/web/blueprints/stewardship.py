"""Data-stewardship pages beyond the overview (admin.stewardship): merge preview and undo,
agencies, sectors and revenue classes, stale customers, the language review list.

Admin-only like the overview; reads come whole from reports.stewardship, writes go through
entities (which validate, change nothing on bad input, and audit).
"""

from __future__ import annotations

from datetime import date

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for

from bookedbiz.entities import sectors as sector_admin
from bookedbiz.entities import stewardship as steward
from bookedbiz.errors import BookedBizError
from bookedbiz.reports import stewardship as steward_report
from bookedbiz.reports import tables as tbl
from bookedbiz.web.auth import actor_name, requires
from bookedbiz.web.db import db_path, read_conn
from bookedbiz.web.view import act, current_filters, render_report

bp = Blueprint("stewardship", __name__, url_prefix="/admin")

PAGE_SIZE = 100


def _id_arg(name: str) -> int | None:
    value = (request.values.get(name) or "").strip().lstrip("#")
    return int(value) if value.isdigit() and len(value) < 18 else None


def _ids(name: str) -> list[int]:
    return [int(v) for v in request.form.getlist(name) if v.isdigit() and len(v) < 18]


@bp.get("/stewardship/preview")
@requires("steward_data")
def preview():  # noqa: ANN201
    kind = "agency" if request.args.get("kind") == "agency" else "customer"
    keep, duplicate = _id_arg("keep"), _id_arg("dup")
    if keep is None or duplicate is None:
        flash("Choose the record to keep and the duplicate to merge into it.", "error")
        return redirect(url_for("admin.stewardship"))
    data = steward_report.merge_preview(read_conn(), kind, keep, duplicate)
    return render_template("admin/merge_preview.html", title="Merge preview", preview=data)


@bp.post("/stewardship/undo")
@requires("steward_data")
def undo():  # noqa: ANN201
    audit_id = _id_arg("audit_id")
    if audit_id is None:
        flash("Choose the merge to undo from the merge history.", "error")
        return redirect(url_for("admin.stewardship"))

    def undo_it() -> str:
        result = steward.undo_merge(db_path(), audit_id, actor_name())
        gone = (f" {result['rows_gone']} rows replaced by later imports stay with the "
                "survivor until their month is imported again." if result["rows_gone"] else "")
        return (f"The merge of #{result['merged_id']} {result['merged']} is undone: "
                f"{result['rows_restored']} rows went back.{gone}")

    return act(undo_it, "admin.stewardship")


@bp.get("/agencies")
@requires("steward_data")
def agencies():  # noqa: ANN201
    return render_template("admin/agencies.html", title="Agencies",
                           agencies=steward_report.agencies(read_conn()))


@bp.post("/agencies/rename")
@requires("steward_data")
def rename_agency():  # noqa: ANN201
    name = (request.form.get("name") or "").strip()[:200]
    agency_id = _id_arg("agency_id")
    if agency_id is None:
        flash("Choose the agency to rename.", "error")
        return redirect(url_for("stewardship.agencies"))

    def rename() -> str:
        detail = steward.rename_agency(db_path(), agency_id, name, actor_name())
        return f"Agency '{detail['old']}' is now '{detail['new']}'; the old name stays an alias."

    return act(rename, "stewardship.agencies")


@bp.get("/sectors")
@requires("steward_data")
def sectors():  # noqa: ANN201
    conn = read_conn()
    search = (request.args.get("q") or "").strip()[:100]
    sector = (request.args.get("sector") or "").strip()[:80] or None
    return render_template(
        "admin/sectors.html", title="Sectors and revenue classes",
        sectors=steward_report.sectors(conn, date.today().year),
        customers=steward_report.classification(conn, search, sector),
        classes=sector_admin.REVENUE_CLASSES, search=search, sector=sector or "",
        no_sector=sector_admin.NO_SECTOR)


@bp.post("/sectors")
@requires("steward_data")
def add_sector():  # noqa: ANN201
    def add() -> str:
        detail = sector_admin.add_sector(db_path(), request.form.get("name") or "",
                                         actor_name())
        return f"Sector '{detail['name']}' is added."

    return act(add, "stewardship.sectors")


@bp.post("/sectors/rename")
@requires("steward_data")
def rename_sector():  # noqa: ANN201
    def rename() -> str:
        detail = sector_admin.rename_sector(db_path(), request.form.get("sector") or "",
                                            request.form.get("name") or "", actor_name())
        return f"Sector '{detail['old']}' is now '{detail['new']}'."

    return act(rename, "stewardship.sectors")


@bp.post("/sectors/assign")
@requires("steward_data")
def assign():  # noqa: ANN201
    """Bulk: the chosen customers get the chosen sector and/or revenue class."""
    ids = _ids("customer_id")
    sector = (request.form.get("sector") or "").strip()
    revenue_class = (request.form.get("revenue_class") or "").strip()

    def assign_them() -> str:
        if not sector and not revenue_class:
            raise BookedBizError("Choose a sector or a revenue class to give them.")
        done = []
        if sector:
            sector_admin.assign_sector(db_path(), ids, sector, actor_name())
            done.append(f"sector {sector}")
        if revenue_class:
            sector_admin.set_revenue_class(db_path(), ids, revenue_class, actor_name())
            done.append(f"class {revenue_class}")
        return f"{len(ids)} customer{'s' if len(ids) != 1 else ''} now have {' and '.join(done)}."

    if sector and revenue_class:
        # Checked together first, so a bad class does not leave the sector half-applied.
        if revenue_class.lower() not in sector_admin.REVENUE_CLASSES:
            flash("The revenue class must be regular, irregular or political; nothing was "
                  "changed.", "error")
            return redirect(url_for("stewardship.sectors"))
    return act(assign_them, "stewardship.sectors")


@bp.get("/stale")
@requires("steward_data")
def stale():  # noqa: ANN201
    months = steward.parse_months(request.args.get("months", "24"))
    include_inactive = request.args.get("inactive") == "1"
    data = steward_report.stale_customers(read_conn(), months, date.today(), include_inactive)
    return render_template("admin/stale.html", title="Stale customers", stale=data,
                           include_inactive=include_inactive)


@bp.post("/stale/deactivate")
@requires("steward_data")
def deactivate():  # noqa: ANN201
    ids = _ids("customer_id")
    dry_run = request.form.get("dry_run") == "1"
    months = request.form.get("months", "24")
    steward.parse_months(months)
    try:
        detail = steward.set_customers_active(db_path(), ids, False,
                                              request.form.get("reason") or "", actor_name(),
                                              dry_run=dry_run)
    except BookedBizError as exc:
        flash(str(exc), "error")
        return redirect(url_for("stewardship.stale", months=months))
    names = ", ".join(c["name"] for c in detail["customers"][:20])  # type: ignore[index]
    count = len(detail["customers"])  # type: ignore[arg-type]
    if dry_run:
        flash(f"Dry run: {count} customer{'s' if count != 1 else ''} would be deactivated"
              f"{': ' + names if names else ''}. Nothing was changed.", "success")
    else:
        flash(f"{count} customer{'s' if count != 1 else ''} deactivated"
              f"{': ' + names if names else ''}; recorded in the audit trail.", "success")
    return redirect(url_for("stewardship.stale", months=months))


@bp.get("/language-review")
@requires("steward_data")
def language_review():  # noqa: ANN201
    filters = current_filters()
    page = request.args.get("page", "1")
    page_number = int(page) if page.isdigit() and 0 < int(page) < 100_000 else 1
    export = bool(request.args.get("format"))
    limit = 50_000 if export else PAGE_SIZE
    data = steward_report.language_review(read_conn(), filters, limit,
                                          0 if export else (page_number - 1) * PAGE_SIZE)
    if not export and page_number > 1 and not data["rows"]:
        abort(404)
    columns = [tbl.Column("air_date", "Air date"), tbl.Column("month", "Month"),
               tbl.Column("bill_code", "Bill code"), tbl.Column("customer", "Customer"),
               tbl.Column("language_code", "Language code"), tbl.Column("status", "Status"),
               tbl.Column("revenue_type", "Revenue type"), tbl.Column("spot_type", "Type"),
               tbl.Column("market", "Market"), tbl.Column("ae", "AE"),
               tbl.Column("gross", "Gross", "money")]
    table = tbl.Table("language-review",
                      f"Spots whose language needs review, {filters.year} ({data['total']})",
                      columns, data["rows"],
                      empty_message="No spot of these filters needs a language review.")
    pages = max(1, -(-data["total"] // PAGE_SIZE))
    return render_report("admin/language_review.html", "Language review", filters, [table],
                         page=page_number, pages=pages, total=data["total"])

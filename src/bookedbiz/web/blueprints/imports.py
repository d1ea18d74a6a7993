"""Imports: batch history, what each batch changed and rejected; workbook upload for admins."""

from __future__ import annotations

import os
import re
import tempfile
import time
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from flask import Blueprint, current_app, flash, render_template, request

from bookedbiz.broadcast_calendar import label
from bookedbiz.errors import BookedBizError
from bookedbiz.reports import tables as tbl
from bookedbiz.reports.imports import batch_rejects, import_batch, import_health, import_history
from bookedbiz.web.auth import actor_name, requires
from bookedbiz.web.db import db_path, read_conn
from bookedbiz.web.formatting import fmt_time
from bookedbiz.web.view import current_filters, render_report

bp = Blueprint("imports", __name__, url_prefix="/imports")


def history_table(batches: list[dict[str, Any]]) -> tbl.Table:
    rows = []
    for b in batches:
        months = b["months_affected"]
        rows.append(
            {
                "batch_id": b["batch_id"],
                "finished": fmt_time(b["finished_at"] or b["started_at"]),
                "status": b["status"],
                "mode": b["mode"],
                "file": b["file_name"],
                "months": _month_span(months),
                "read": b["rows_read"],
                "inserted": b["rows_inserted"],
                "deleted": b["rows_deleted"],
                "rejected": b["rows_rejected"],
                "error": b["error"] or "",
                "_links": {"batch_id": f"/imports/{b['batch_id']}"},
                "_class": f"status-{b['status']}",
            }
        )
    columns = [
        tbl.Column("batch_id", "Batch", "int"),
        tbl.Column("finished", "Finished"),
        tbl.Column("status", "Status"),
        tbl.Column("mode", "Mode"),
        tbl.Column("file", "File"),
        tbl.Column("months", "Months"),
        tbl.Column("read", "Rows read", "int"),
        tbl.Column("inserted", "Inserted", "int"),
        tbl.Column("deleted", "Deleted", "int"),
        tbl.Column("rejected", "Rejected", "int"),
        tbl.Column("error", "Error"),
    ]
    return tbl.Table("imports", "Import batches", columns, rows,
                     empty_message="No imports yet.")


def _month_span(months: list[Any]) -> str:
    keys = sorted(str(m) for m in months if m)
    if not keys:
        return ""
    try:
        return label(keys[0]) if len(keys) == 1 else f"{label(keys[0])} – {label(keys[-1])} " \
            f"({len(keys)})"
    except (ValueError, IndexError):
        return ", ".join(keys)


@bp.get("/")
@requires("read_imports")
def index():  # noqa: ANN201
    filters = current_filters()
    conn = read_conn()
    table = history_table(import_history(conn, 200))
    return render_report("imports.html", "Imports", filters, [table], health=import_health(conn))


def _dec(value: Any) -> Decimal | None:
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None


@bp.get("/<int:batch_id>")
@requires("read_imports")
def batch(batch_id: int):  # noqa: ANN201
    filters = current_filters()
    conn = read_conn()
    info = import_batch(conn, batch_id)
    change_rows = []
    for c in info["changes"]:
        if not isinstance(c, dict):
            continue
        change_rows.append(
            {
                "label": c.get("label") or c.get("month"),
                "action": c.get("action", ""),
                "rows_before": c.get("rows_before"),
                "rows_after": c.get("rows_after"),
                "gross_before": _dec(c.get("gross_before")),
                "gross_after": _dec(c.get("gross_after")),
                "gross_change": _dec(c.get("gross_change")),
            }
        )
    changes = tbl.Table(
        "changes",
        "What changed, per month",
        [
            tbl.Column("label", "Month"), tbl.Column("action", "Action"),
            tbl.Column("rows_before", "Rows before", "int"),
            tbl.Column("rows_after", "Rows after", "int"),
            tbl.Column("gross_before", "Gross before", "money"),
            tbl.Column("gross_after", "Gross after", "money"),
            tbl.Column("gross_change", "Change", "money"),
        ],
        change_rows,
        empty_message="This batch changed no month.",
    )
    reject_rows, reject_total = batch_rejects(conn, batch_id, 1000)
    rejects = tbl.Table(
        "rejects",
        "Rejected rows",
        [
            tbl.Column("sheet", "Sheet"), tbl.Column("row_number", "Row", "int"),
            tbl.Column("column_name", "Column"), tbl.Column("value", "Value"),
            tbl.Column("reason", "Reason"),
        ],
        reject_rows,
        note=(f"Showing the first {len(reject_rows):,} of {reject_total:,} rejected rows."
              if reject_total > len(reject_rows) else ""),
        empty_message="No rows were rejected.",
    )
    return render_report("import_batch.html", f"Import batch {batch_id}", filters,
                         [changes, rejects], batch=info, reject_total=reject_total)


_SAFE_NAME = re.compile(r"[^A-Za-z0-9 ._()-]+")
_UPLOAD_PREFIX = "upload-"
_STALE_UPLOAD_SECONDS = 24 * 3600


def _creator_alive(name: str) -> bool:
    """Whether the process that saved upload ``upload-<pid>-…`` still runs."""
    pid = name[len(_UPLOAD_PREFIX):].split("-", 1)[0]
    if not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError, ValueError):
        return True
    return True


def remove_stale_uploads(folder: Path) -> int:
    """Delete upload temp files a crash left behind (their worker is gone, or they are a day
    old); another live worker's upload in progress is kept. Returns how many were removed."""
    removed = 0
    if not folder.is_dir():
        return 0
    now = time.time()
    for path in folder.glob(f"{_UPLOAD_PREFIX}*"):
        try:
            if _creator_alive(path.name) and now - path.stat().st_mtime < _STALE_UPLOAD_SECONDS:
                continue
            path.unlink()
            removed += 1
        except OSError:
            continue
    return removed


@bp.record_once
def _clean_uploads_at_start(state) -> None:  # noqa: ANN001 - Flask's BlueprintSetupState
    remove_stale_uploads(Path(state.app.config["DATA_PATH"]) / "uploads")


@bp.route("/upload", methods=["GET", "POST"])
@requires("import_workbook")
def upload():  # noqa: ANN201
    limit_mib = current_app.config["MAX_CONTENT_LENGTH"] // (1024 * 1024)
    if request.method == "GET":
        return render_template("upload.html", title="Import a workbook", limit_mib=limit_mib,
                               result=None, form={})
    form = request.form
    file = request.files.get("workbook")
    mode = form.get("mode") if form.get("mode") in ("weekly", "historical") else "weekly"
    if file is None or not file.filename:
        flash("Choose a workbook (.xlsx) to import.", "error")
        return render_template("upload.html", title="Import a workbook", limit_mib=limit_mib,
                               result=None, form=form), 400
    name = _SAFE_NAME.sub("_", Path(file.filename).name)[:120] or "upload.xlsx"
    folder = Path(current_app.config["DATA_PATH"]) / "uploads"
    folder.mkdir(parents=True, exist_ok=True)
    # The worker's pid in the name: start-up removes what a crashed worker left (above).
    fd, temp = tempfile.mkstemp(prefix=f"{_UPLOAD_PREFIX}{os.getpid()}-", suffix=f"-{name}",
                                dir=folder)
    os.close(fd)
    result = error = None
    try:
        file.save(temp)
        from bookedbiz.ingest.service import import_workbook

        result = import_workbook(
            db_path(),
            Path(temp),
            mode=mode,
            closed_by=(form.get("closed_by") or "").strip() or None,
            strict=form.get("strict") == "1",
            dry_run=form.get("dry_run") == "1",
            include_previous_month=form.get("include_previous_month") == "1",
            auto_setup=form.get("auto_setup") == "1",
            started_by=actor_name(),
        )
        current_app.extensions["bookedbiz.freshness"].clear()
    except BookedBizError as exc:
        error = str(exc)
    finally:
        Path(temp).unlink(missing_ok=True)
    status = 200 if error is None else 400
    return render_template(
        "upload.html",
        title="Import a workbook",
        limit_mib=limit_mib,
        result=result.to_dict() if result else None,
        error=error,
        form=form,
        file_name=name,
    ), status

"""A report table as data: what the page renders is exactly what CSV and XLSX exports contain.

Each page builds :class:`Table` objects once; the HTML template, the CSV writer and the XLSX
writer all read the same columns, rows and totals, so an export can never disagree with the
screen.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

import xlsxwriter

from bookedbiz.money import CENT, TENTH

KINDS = ("text", "money", "int", "pct", "share")


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    kind: str = "text"  # text | money | int | pct
    header_class: str = ""  # e.g. "closed" / "open" for month columns
    sub: str = ""  # a second header line, e.g. "4 wks"
    title: str = ""  # hover text for the header

    @property
    def numeric(self) -> bool:
        return self.kind in ("money", "int", "pct", "share")


@dataclass
class Table:
    """Rows are dicts keyed by column key; ``_links`` maps a key to a URL, ``_class`` a CSS
    class for the row."""

    name: str
    title: str
    columns: list[Column]
    rows: list[dict[str, Any]]
    totals: list[dict[str, Any]] = field(default_factory=list)
    note: str = ""
    empty_message: str = "No booked business matches these filters."

    def column(self, key: str) -> Column:
        return next(c for c in self.columns if c.key == key)


def cell_value(column: Column, value: Any) -> Any:
    """The exported value: numbers stay numbers (money to the cent), text stays text."""
    if value is None or value == "":
        return None
    if column.kind == "money":  # figures arrive rounded by money.dollars: this fixes the scale
        return Decimal(value).quantize(CENT, ROUND_HALF_EVEN)
    if column.kind == "int":
        return int(value)
    if column.kind in ("pct", "share"):
        return Decimal(value).quantize(TENTH, ROUND_HALF_EVEN)
    return str(value)


_SAFE = re.compile(r"[^A-Za-z0-9_.-]+")


def filename(table: Table, meta: dict[str, str], ext: str) -> str:
    parts = [table.name] + [f"{v}" for v in meta.values() if v]
    stem = _SAFE.sub("-", "_".join(parts)).strip("-")[:120] or "report"
    return f"{stem}.{ext}"


def _csv_text(value: Any) -> Any:
    # Spreadsheet formula injection: a text cell starting with = + - @ is prefixed with '.
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def to_csv(table: Table) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([c.label for c in table.columns])
    for row in list(table.rows) + list(table.totals):
        writer.writerow(
            [
                _plain(cell_value(c, row.get(c.key)))
                if c.numeric
                else _csv_text(_plain(cell_value(c, row.get(c.key))))
                for c in table.columns
            ]
        )
    return ("\ufeff" + out.getvalue()).encode("utf-8")  # BOM: Excel opens UTF-8 correctly


def _plain(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return format(value, "f")
    return value


def to_xlsx(tables: list[Table], title: str, meta: dict[str, str]) -> bytes:
    """A formatted workbook, one sheet per table: title, filters, frozen header, totals in bold."""
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True, "strings_to_formulas": False})
    fmt = {
        "title": book.add_format({"bold": True, "font_size": 14}),
        "meta": book.add_format({"italic": True, "font_color": "#555555"}),
        "head": book.add_format(
            {"bold": True, "bg_color": "#1F3A5F", "font_color": "#FFFFFF", "border": 1,
             "text_wrap": True, "valign": "vcenter"}
        ),
        "head_num": book.add_format(
            {"bold": True, "bg_color": "#1F3A5F", "font_color": "#FFFFFF", "border": 1,
             "align": "right", "text_wrap": True, "valign": "vcenter"}
        ),
        "head_closed": book.add_format(
            {"bold": True, "bg_color": "#D7F0DD", "font_color": "#1E6B34", "border": 1,
             "align": "right", "text_wrap": True}
        ),
        "head_open": book.add_format(
            {"bold": True, "bg_color": "#FDEFC8", "font_color": "#8A5A00", "border": 1,
             "align": "right", "text_wrap": True}
        ),
        "money": book.add_format({"num_format": "#,##0.00"}),
        "int": book.add_format({"num_format": "#,##0"}),
        "pct": book.add_format({"num_format": "0.0"}),
        "text": book.add_format({}),
        "tot_money": book.add_format({"num_format": "#,##0.00", "bold": True, "top": 1}),
        "tot_int": book.add_format({"num_format": "#,##0", "bold": True, "top": 1}),
        "tot_pct": book.add_format({"num_format": "0.0", "bold": True, "top": 1}),
        "tot_text": book.add_format({"bold": True, "top": 1}),
    }
    used: set[str] = set()
    for table in tables:
        sheet_name = _sheet_name(table.title, used)
        sheet = book.add_worksheet(sheet_name)
        sheet.write(0, 0, f"{title} — {table.title}", fmt["title"])
        filters = ", ".join(f"{k}: {v}" for k, v in meta.items() if v)
        stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
        sheet.write(1, 0, f"{filters}. Exported {stamp}. Trade excluded.", fmt["meta"])
        header_row = 3
        for col, column in enumerate(table.columns):
            style = "head_num" if column.numeric else "head"
            if column.header_class in ("closed", "open"):
                style = f"head_{column.header_class}"
            label = column.label + (f"\n{column.sub}" if column.sub else "")
            sheet.write(header_row, col, label, fmt[style])
            width = max(len(column.label), len(column.sub)) + 2
            if column.numeric:
                width = max(width, 13 if column.kind == "money" else 9)
            else:
                longest = max(
                    (len(str(r.get(column.key) or "")) for r in table.rows[:500]), default=0
                )
                width = max(width, min(longest + 2, 48))
            sheet.set_column(col, col, width)
        sheet.set_row(header_row, 30)
        row_index = header_row + 1
        for row in table.rows:
            _write_row(sheet, row_index, table.columns, row, fmt, total=False)
            row_index += 1
        if table.rows:
            sheet.autofilter(header_row, 0, row_index - 1, len(table.columns) - 1)
        for row in table.totals:
            _write_row(sheet, row_index, table.columns, row, fmt, total=True)
            row_index += 1
        sheet.freeze_panes(header_row + 1, 1)
        sheet.set_landscape()
        sheet.fit_to_pages(1, 0)
        sheet.repeat_rows(header_row)
    book.close()
    return buffer.getvalue()


def _write_row(sheet, index: int, columns: list[Column], row: dict, fmt: dict, *, total: bool):  # noqa: ANN001
    prefix = "tot_" if total else ""
    for col, column in enumerate(columns):
        value = cell_value(column, row.get(column.key))
        if value is None:
            sheet.write_blank(index, col, None, fmt[prefix + "text"])
        elif column.kind in ("money", "pct", "share"):
            kind = "money" if column.kind == "money" else "pct"
            sheet.write_number(index, col, float(value), fmt[prefix + kind])
        elif column.kind == "int":
            sheet.write_number(index, col, value, fmt[prefix + "int"])
        else:
            sheet.write_string(index, col, value, fmt[prefix + "text"])


def _sheet_name(title: str, used: set[str]) -> str:
    base = re.sub(r"[\[\]:*?/\\]", " ", title).strip()[:28] or "Sheet"
    name, n = base, 2
    while name.lower() in used:
        name = f"{base[:25]} {n}"
        n += 1
    used.add(name.lower())
    return name

"""The body rows of a report table as HTML, built in Python.

A customer matrix is hundreds of rows by sixteen columns; rendering every cell through Jinja
logic took longer than the page's queries. This writes the same markup the template did (every
value escaped), several times faster.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from markupsafe import Markup, escape

from bookedbiz.reports.tables import Column
from bookedbiz.web.formatting import fmt_cell, show_cents

_NUMBERS = (int, float, Decimal)


def _is_negative(value: Any) -> bool:
    try:
        return value is not None and value != "" and value < 0
    except TypeError:
        return False


def rows_html(rows: list[dict[str, Any]], columns: list[Column]) -> Markup:
    """``<tr>`` elements for ``rows``: ``_class`` sets the row's class, ``_links`` maps a column
    key to the URL its cell links to. Every value and URL is escaped."""
    specs = [(c.key, c.kind, c.numeric) for c in columns]
    cents = show_cents()  # once per table, not per cell
    out: list[str] = []
    add = out.append
    for row in rows:
        links = row.get("_links") or {}
        add(f'<tr class="{escape(row.get("_class") or "")}">')
        for key, kind, numeric in specs:
            value = row.get(key)
            shown = fmt_cell(value, kind, cents)
            if not numeric or not isinstance(value, _NUMBERS):
                shown = escape(shown)
            link = links.get(key)
            if link:
                shown = f'<a href="{escape(link)}">{shown}</a>'
            if numeric:
                # numbers need no escaping; anything else in a numeric column still gets it
                data = value if isinstance(value, _NUMBERS) else escape(value or "")
                neg = " neg" if _is_negative(value) else ""
                add(f'<td class="num{neg}" data-value="{data}">{shown}</td>')
                continue
            if not link and value and key in ("new", "status"):
                badge = "new" if key == "new" else escape(str(value).lower())
                shown = f'<span class="badge badge-{badge}">{escape(value)}</span>'
            add(f"<td>{shown}</td>")
        add("</tr>\n")
    return Markup("".join(out))

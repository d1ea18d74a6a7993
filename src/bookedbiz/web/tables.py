"""Moved to :mod:`bookedbiz.reports.tables` (the CLI exports tables without loading the web
app); this name stays only so imports written before the move keep working."""

from bookedbiz.reports.tables import *  # noqa: F403
from bookedbiz.reports.tables import Column, Table, cell_value, filename, to_csv, to_xlsx

__all__ = ["Column", "Table", "cell_value", "filename", "to_csv", "to_xlsx"]

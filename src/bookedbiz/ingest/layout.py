"""The 29 positional columns of the commercial log (header texts vary by year; never used)."""

from __future__ import annotations

COLUMNS = (
    "bill_code", "air_date", "end_date", "day_of_week", "time_in", "time_out", "length",
    "media", "comments", "language_code", "format", "units", "line_number", "spot_type",
    "estimate", "gross_rate", "make_good", "spot_value", "broadcast_month", "broker_fees",
    "priority", "station_net", "sales_person", "revenue_type", "billing_type", "agency_flag",
    "affidavit_flag", "contract", "market",
)
WIDTH = len(COLUMNS)
INDEX = {name: i for i, name in enumerate(COLUMNS)}

HEADERS_2024 = (
    "Bill Code", "Start Date", "End Date", "Day(s)", "Time In", "Time out", "Length",
    "Media/Name/Program", "Comments", "Language", "Format", "Units-Spot count", "Line", "Type",
    "Agency/Episode# or cut number", "Unit rate Gross", "Make Good", "Spot Value", "Month",
    "Broker Fees", "Sales/rep com: revenue sharing", "Station Net", "Sales Person",
    "Revenue Type", "Billing Type", "Agency?", "Affidavit?", "Notarize?", "Market",
)

# Sheets that hold spot rows in a daily log, and the single-sheet fallbacks, in order.
SPOT_SHEETS = ("Commercials", "Worldlink Lines", "Add to booked business", "Pending")
SINGLE_SHEET_FALLBACKS = ("Data", "Commercials", "Sheet1")

MONEY_COLUMNS = ("gross_rate", "spot_value", "broker_fees", "station_net")

"""Planning: budgets and forecasts per AE × broadcast month (SPEC §1.5), with their histories.

This package owns the planning tables and their rules (who may forecast what, closed months,
pipeline); the report layer lays the figures out next to booked business.
"""

"""Booking history: what was on the books for each month on any date (SPEC §1.4).

``as_of`` decides an import's as-of date, ``recording`` keeps the validity intervals of the
``booking_history`` table, ``queries`` answers "booked for month M as of D".
"""

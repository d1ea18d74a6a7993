"""BookedBiz: booked-business revenue database and dashboard for broadcast ad sales."""

__version__ = "0.1.0"

"""Ingest: reading the commercial log, normalizing its rows, and the import service."""

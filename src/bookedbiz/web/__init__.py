"""The web dashboard (SPEC §2): a Flask app served by uvicorn through a2wsgi."""

from __future__ import annotations

from bookedbiz.web.app import create_app

__all__ = ["create_app"]

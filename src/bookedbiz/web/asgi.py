"""``bookedbiz.web.asgi:app`` — the Flask app as an ASGI app for uvicorn.

The database comes from DATABASE_PATH (``bookedbiz serve --db`` sets it for its workers).
"""

from __future__ import annotations

from a2wsgi import WSGIMiddleware

from bookedbiz.web.app import create_app

flask_app = create_app()
app = WSGIMiddleware(flask_app, workers=8)

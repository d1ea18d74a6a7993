"""``bookedbiz.web.asgi:app`` — the Flask app as an ASGI app for uvicorn.

The database comes from DATABASE_URL (a PostgreSQL server) or DATABASE_PATH (``bookedbiz serve
--db`` sets it for its workers).
"""

from __future__ import annotations

import gc

from a2wsgi import WSGIMiddleware

from bookedbiz.web.app import create_app

flask_app = create_app()
app = WSGIMiddleware(flask_app, workers=8)
# Everything imported and built so far lives as long as the worker: move it out of the
# collector's reach, so a full collection walks only what requests allocate (docs/benchmarks.md:
# full collections were most of the pacing page's p95).
gc.freeze()

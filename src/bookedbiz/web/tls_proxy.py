"""Serving behind the local TLS terminator (``BEHIND_TLS_PROXY=1``, the rendered layout).

The web app then listens on 127.0.0.1 only and the proxy (Caddy, or ``tailscale serve``) speaks
HTTPS to the browsers: cookies are marked Secure, HSTS is sent (the app's security headers add
it whenever session cookies are Secure), URLs are built as https, and the client address comes
from the proxy's ``X-Forwarded-For``, so the sign-in throttle keys on the real client rather than
on the proxy (which would let anyone lock everyone out). Forwarded headers are believed only on
connections from the loopback interface; from anywhere else they are removed.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

LOOPBACK = frozenset({"127.0.0.1", "::1", "::ffff:127.0.0.1"})


class LoopbackProxyFix:
    """``ProxyFix`` (one proxy: client address and scheme) for loopback peers only."""

    def __init__(self, app: Any):
        self.app = app
        self.fixed = ProxyFix(app, x_for=1, x_proto=1, x_host=0, x_port=0, x_prefix=0)

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        if environ.get("REMOTE_ADDR") in LOOPBACK:
            return self.fixed(environ, start_response)
        for key in [k for k in environ if k.startswith(("HTTP_X_FORWARDED_", "HTTP_FORWARDED"))]:
            del environ[key]
        return self.app(environ, start_response)


def configure_tls_proxy(app: Flask, behind_proxy: bool) -> None:
    """Secure cookies, https URLs and loopback-only proxy headers when behind the terminator."""
    if not behind_proxy:
        return
    app.config.update(SESSION_COOKIE_SECURE=True, REMEMBER_COOKIE_SECURE=True,
                      PREFERRED_URL_SCHEME="https")
    app.wsgi_app = LoopbackProxyFix(app.wsgi_app)  # type: ignore[method-assign]

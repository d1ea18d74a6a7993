"""Every blueprint is registered here and nowhere else."""

from __future__ import annotations

from flask import Flask
from flask_wtf.csrf import CSRFProtect


def register_blueprints(app: Flask, csrf: CSRFProtect) -> None:
    from bookedbiz.web.blueprints import (
        admin,
        aes,
        api,
        auth,
        breakdowns,
        customers,
        health,
        imports,
        months,
        pacing,
        reports,
        vendor,
    )

    for module in (auth, reports, customers, aes, breakdowns, months, imports, admin, health,
                   vendor, pacing):
        app.register_blueprint(module.bp)
    from bookedbiz.web.blueprints import planning

    app.register_blueprint(planning.bp)
    from bookedbiz.web.blueprints import stewardship

    app.register_blueprint(stewardship.bp)
    from bookedbiz.web.blueprints import home

    app.register_blueprint(home.bp)
    app.jinja_env.globals["plotly_url"] = vendor.plotly_url
    csrf.exempt(api.bp)  # token-authenticated, read-only GETs: no cookies, no CSRF exposure
    app.register_blueprint(api.bp)

"""The merchant app's admin pages beyond the order lists: registration in one call.

:func:`register_admin` adds authentication (:mod:`connector.web.auth`, login pages in
:mod:`connector.web.login`) and the blueprints of the dashboard, the analysis pages, the
customer pages, suppliers, campaigns and operations. Call it after
:func:`connector.web.register_web` (its hook must run ahead of the CSRF check, which
:func:`~connector.web.auth.init_auth` arranges).
"""
from __future__ import annotations

from flask import Flask

__all__ = ["register_admin"]


def register_admin(app: Flask) -> None:
    """Register the auth hooks and every admin blueprint on ``app``."""
    from .auth import init_auth
    from .campaigns import bp as campaigns_bp
    from .customers import REASON_LABELS
    from .customers import bp as customers_bp
    from .dashboard import bp as dashboard_bp
    from .insights import bp as insights_bp
    from .login import bp as login_bp
    from .ops import bp as ops_bp
    from .suppliers import bp as suppliers_bp

    init_auth(app)
    app.jinja_env.globals["reason_label"] = lambda r: REASON_LABELS.get(r, r or "")
    for bp in (login_bp, dashboard_bp, ops_bp, insights_bp, customers_bp, suppliers_bp,
               campaigns_bp):
        app.register_blueprint(bp)

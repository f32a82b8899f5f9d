"""restock's web pages: blueprints, the SVG chart module, templates and the stylesheet."""
from __future__ import annotations

from flask import Flask

__all__ = ["register_web"]


def register_web(app: Flask) -> None:
    """Register filters, CSRF protection, template helpers and every blueprint on ``app``."""
    from .common import shop_url
    from .csrf import init_csrf
    from .formatting import register_filters
    from .lists import bp as lists_bp
    from .orders import bp as orders_bp
    from .sku import bp as sku_bp

    register_filters(app)
    init_csrf(app)
    app.jinja_env.globals["shop_url"] = shop_url
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True
    for bp in (lists_bp, sku_bp, orders_bp):
        app.register_blueprint(bp)

"""The Flask application factory of restock's web interface.

Nothing is built at import time: :func:`create_app` builds the app, and the database
context too when none is passed in. Every request gets its own SQLAlchemy session, closed
when the request ends (see :mod:`connector.web.common`).
"""
from __future__ import annotations

import secrets
from functools import lru_cache

from flask import Flask, jsonify, render_template, request
from sqlalchemy import text
from werkzeug.exceptions import HTTPException

from .config import ConfigError
from .context import Context, build_context

__all__ = ["create_app", "EXTENSION"]

#: Key of the :class:`~connector.context.Context` in ``app.extensions``.
EXTENSION = "restock"


@lru_cache(maxsize=1)
def _process_secret() -> str:
    """A random secret key, made once per process (demo and test environments only)."""
    return secrets.token_hex(32)


def _secret_key(context: Context, config: dict) -> str:
    if config.get("SECRET_KEY"):
        return config["SECRET_KEY"]
    if context.settings.secret_key:
        return context.settings.secret_key
    if context.settings.env in ("demo", "test") or config.get("TESTING"):
        return _process_secret()
    raise ConfigError("restock's web app needs a secret key to sign its session cookies: set "
                       "RESTOCK_SECRET_KEY (or run with RESTOCK_ENV=demo for a throw-away key)")


def create_app(config: dict | None = None, context: Context | None = None) -> Flask:
    """Build the web app.

    Args:
        config: Flask settings that override the defaults (for example ``TESTING``).
        context: database context; when left out it is built from the environment with
            ``build_context(Settings.from_env())``.

    Returns:
        The configured Flask application, with the context in ``app.extensions["restock"]``.

    Raises:
        ConfigError: in production, when no secret key is configured.
    """
    from .web import register_web
    from .web.common import ShopChoiceNeeded, close_session

    config = dict(config or {})
    if context is None:
        from .config import Settings

        context = build_context(Settings.from_env())
    app = Flask(__name__, template_folder="web/templates", static_folder="web/static")
    app.config.update(
        SECRET_KEY=_secret_key(context, config),
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_NAME="restock_session",
        JSON_SORT_KEYS=False,
    )
    st = context.settings
    app.config.update(SHOPIFY_API_KEY=st.shopify_api_key, SHOPIFY_API_SECRET=st.shopify_api_secret,
                      SHOPIFY_SCOPES=st.shopify_scopes, SHOPIFY_APP_URL=st.shopify_app_url)
    app.config.update(config)
    if app.config.get("SHOPIFY_APP_URL") and not app.config.get("SHOPIFY_ON_INSTALLED"):
        from .adapters.shopify.subscriptions import make_on_installed  # webhooks on install

        app.config["SHOPIFY_ON_INSTALLED"] = make_on_installed(app.config["SHOPIFY_APP_URL"])
    app.extensions[EXTENSION] = context
    app.teardown_appcontext(close_session)
    register_web(app)
    from .web.admin import register_admin

    register_admin(app)  # login, session-token auth, dashboard and the other admin pages
    from webhooks.shopify import shopify_webhooks

    from .api import init_api

    app.register_blueprint(shopify_webhooks)
    init_api(app)
    if app.config.get("SHOPIFY_API_KEY") and app.config.get("SHOPIFY_API_SECRET"):
        from .web.install import install_bp

        app.register_blueprint(install_bp)

    @app.get("/healthz")
    def healthz():
        """Liveness and database check: ``{"status": "ok"}``."""
        from .web.common import db

        try:
            db().execute(text("SELECT 1"))
        except Exception as exc:  # any database failure means "not healthy"
            return jsonify(status="error", error=type(exc).__name__), 503
        return jsonify(status="ok")

    @app.errorhandler(ShopChoiceNeeded)
    def choose_shop(exc: ShopChoiceNeeded):
        return render_template("shops.html", shops=exc.shops, message=exc.message), 200

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        if request.path == "/healthz":
            return jsonify(status="error", error=exc.description), exc.code
        return render_template("error.html", code=exc.code, title=exc.name,
                               message=exc.description), exc.code

    return app

"""CSRF protection: one random token per browser session, checked on every unsafe request.

The token lives in Flask's signed session cookie; forms carry it in a hidden ``csrf_token``
field (or a client sends it in the ``X-CSRF-Token`` header). A POST without the session's
token is refused with 400.
"""
from __future__ import annotations

import hmac
import secrets

from flask import current_app, Flask, abort, g, request, session

__all__ = ["csrf_token", "check_csrf", "init_csrf", "FIELD"]

FIELD = "csrf_token"
_KEY = "csrf_token"
_UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}


def csrf_token() -> str:
    """The session's token, created on first use."""
    token = session.get(_KEY)
    if not token:
        token = secrets.token_urlsafe(32)
        session[_KEY] = token
    return token


def check_csrf() -> None:
    """Refuse (400) an unsafe request whose token is missing or not the session's."""
    if request.method not in _UNSAFE:
        return
    view = current_app.view_functions.get(request.endpoint)
    if getattr(view, "csrf_exempt", False):  # signed by the platform instead (webhooks)
        return
    if g.get("restock_csrf_exempt"):  # authenticated by a Shopify session token (web.auth)
        return
    expected = session.get(_KEY)
    sent = request.form.get(FIELD) or request.headers.get("X-CSRF-Token")
    if not expected or not sent:
        abort(400, description="The form's security token is missing (your session may have "
                               "expired): reload the page and try again.")
    if not hmac.compare_digest(str(expected), str(sent)):
        abort(400, description="The form's security token does not match this session: "
                               "reload the page and try again.")


def init_csrf(app: Flask) -> None:
    """Check tokens before every request and offer ``csrf_token()`` to templates."""
    app.before_request(check_csrf)
    app.jinja_env.globals["csrf_token"] = csrf_token

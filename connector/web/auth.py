"""Who may see the admin pages: standalone logins and the embedded app's session tokens.

:func:`init_auth` installs one ``before_request`` hook (ahead of the CSRF check) and one
``after_request`` hook on the app. For every page request (everything except ``/api``,
``/webhooks``, ``/healthz``, ``/static``, the login pages and the Shopify install routes of
:mod:`connector.web.install`, which authenticate themselves):

1. **Embedded in Shopify.** A request carrying an App Bridge session token
   (``Authorization: Bearer <JWT>`` or ``?id_token=``; a bearer value that is not shaped
   like a JWT, such as an API key, is ignored here) is verified with
   :func:`connector.adapters.shopify.auth.verify_id_token` against ``SHOPIFY_API_KEY`` /
   ``SHOPIFY_API_SECRET`` (``SHOPIFY_OLD_API_SECRET`` while rotating). A valid token
   authenticates the request for its shop, and the page's shop is fixed to it: a
   ``?shop=`` naming another shop is refused. Expired, forged or foreign tokens (another
   app's, a shop restock does not know) answer **401** (HTML, or JSON with
   ``X-Shopify-Retry-Invalid-Session-Request: 1`` for a fetch with the header). Such a
   request needs no CSRF token (the token itself cannot be forged cross-site), links and
   same-app redirects carry ``id_token`` and ``host`` on, and the response gets
   ``Content-Security-Policy: frame-ancestors https://<shop domain> https://admin.shopify.com``.
   ID tokens live a minute: after that, open the app from the Shopify admin again.
2. **Logged in.** The session cookie names a :class:`~core.storage.User` whose password has
   not changed since (:func:`connector.web.users.fingerprint`).
3. **Otherwise** the request is anonymous. When logins are required (``Settings.env ==
   "production"``; ``app.config["RESTOCK_LOGIN_REQUIRED"]`` overrides) it is redirected to
   ``/login?next=<path>``; in the demo and test environments it goes through.

The signed-in identity is ``g.restock_auth`` (:class:`Identity`) or None.
"""
from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from flask import (Flask, Response, current_app, g, jsonify, redirect, render_template, request,
                   session, url_for)
from sqlalchemy import case, or_, select

from core.storage import Shop, User

from .common import db
from .users import fingerprint

__all__ = ["Identity", "init_auth", "login_required", "current_identity", "SESSION_USER",
           "SESSION_FP", "session_user", "safe_next", "keep_params", "log_in", "log_out"]

log = logging.getLogger(__name__)

SESSION_USER = "restock_user_id"
SESSION_FP = "restock_user_fp"
_OPEN_PREFIXES = ("/api/", "/webhooks/", "/static/")
_OPEN_PATHS = {"/api", "/webhooks", "/healthz"}
_OPEN_BLUEPRINTS = {"install", "login"}
_SHOPIFY_ADMIN = "https://admin.shopify.com"
_JWT = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*")


@dataclass(frozen=True)
class Identity:
    """Who is asking.

    Attributes:
        kind: ``user`` (a standalone login) or ``session_token`` (embedded in Shopify).
        label: the user's e-mail, or the Shopify staff user id.
        shop_domain: the token's shop domain (session tokens only).
        user_id: the :class:`~core.storage.User` id (logins only).
    """

    kind: str
    label: str | None
    shop_domain: str | None = None
    user_id: int | None = None


def login_required(app: Flask | None = None) -> bool:
    """Whether anonymous page requests are sent to ``/login`` (module docstring)."""
    app = app or current_app
    forced = app.config.get("RESTOCK_LOGIN_REQUIRED")
    if forced is not None:
        return bool(forced)
    settings = getattr(app.extensions.get("restock"), "settings", None)
    return getattr(settings, "env", "production") == "production"


def current_identity() -> Identity | None:
    """The request's :class:`Identity`, or None when anonymous."""
    return g.get("restock_auth")


def _open_path() -> bool:
    path = request.path
    if path in _OPEN_PATHS or path.startswith(_OPEN_PREFIXES):
        return True
    return request.blueprint in _OPEN_BLUEPRINTS or request.endpoint == "static"


def _session_token() -> tuple[str | None, bool]:
    """(token or None, whether it came in the Authorization header). A bearer credential
    that is not shaped like a JWT (an API key) does not authenticate pages: it is ignored."""
    header = request.headers.get("Authorization", "").strip()
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and _JWT.fullmatch(value.strip()):
        return value.strip(), True
    token = request.args.get("id_token")
    return (token.strip() or None) if token is not None else None, False


def _refuse(message: str, fetch: bool, reason: str = "invalid_session_token") -> Response:
    """401 for a refused session token: JSON for a fetch, else the error page."""
    db().rollback()
    if fetch:
        resp = jsonify(error=reason, message=message)
        resp.headers["X-Shopify-Retry-Invalid-Session-Request"] = "1"
    else:
        resp = Response(render_template(
            "error.html", code=401, title="Unauthorized",
            message=f"{message}. Open restock again from the Shopify admin."))
    resp.status_code = 401
    resp.headers["WWW-Authenticate"] = 'Bearer realm="restock"'
    return resp


def _shop_for(domain: str) -> Shop | None:
    return db().scalar(select(Shop).where(or_(Shop.domain == domain, Shop.name == domain))
                       .order_by(case((Shop.domain == domain, 0), else_=1), Shop.id).limit(1))


def _token_auth(token: str, fetch: bool) -> Response | None:
    """Verify an App Bridge session token and fix the request's shop (module docstring)."""
    from connector.adapters.shopify.auth import AuthError, verify_id_token

    cfg = current_app.config
    key, secret = cfg.get("SHOPIFY_API_KEY"), cfg.get("SHOPIFY_API_SECRET")
    if not key or not secret:
        return _refuse("Shopify session tokens are not accepted here: SHOPIFY_API_KEY and "
                       "SHOPIFY_API_SECRET are not configured", fetch, "not_configured")
    try:
        verified = verify_id_token(token, key, secret,
                                   old_api_secret=cfg.get("SHOPIFY_OLD_API_SECRET"))
    except AuthError as exc:
        log.info("refused session token on %s %s: %s", request.method, request.path, exc.reason)
        return _refuse(f"The Shopify session token was refused: {exc}", fetch, exc.reason)
    shop = _shop_for(verified.shop_domain)
    if shop is None:
        return _refuse(f"{verified.shop_domain} has not installed restock yet", fetch,
                       "unknown_shop")
    named = request.args.get("shop") or (request.form.get("shop")
                                         if request.method == "POST" else None)
    if named and named not in (shop.name, shop.domain, verified.shop_domain):
        return _refuse(f"shop={named!r} is not the shop of the session token "
                       f"({verified.shop_domain})", fetch, "shop_mismatch")
    g.restock_auth = Identity("session_token", verified.user_id, verified.shop_domain)
    g.restock_shop, g.restock_shop_param = shop, shop.name
    g.restock_frame_domain = verified.shop_domain
    g.restock_csrf_exempt = True
    if not fetch:  # a document load: links keep the token and the admin's host
        g.restock_link_params = {k: request.args[k] for k in ("id_token", "host", "embedded")
                                 if request.args.get(k)}
    return None


def session_user() -> User | None:
    """The logged-in user of the session cookie, or None (stale sessions are cleared)."""
    uid = session.get(SESSION_USER)
    if uid is None:
        return None
    user = db().get(User, uid) if isinstance(uid, int) else None
    if user is None or session.get(SESSION_FP) != fingerprint(user):
        session.pop(SESSION_USER, None)
        session.pop(SESSION_FP, None)
        return None
    return user


def safe_next(target: str | None, default: str) -> str:
    """``target`` when it is a path on this site (no scheme, no host), else ``default``."""
    if not target or not target.startswith("/") or target.startswith("//") \
            or "\\" in target or any(ord(c) < 32 for c in target):
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return default
    return target


def log_in(user: User) -> None:
    """Start a fresh session for ``user`` (the old session's data, CSRF token included, is
    dropped, so a planted session cannot be taken over)."""
    session.clear()
    session[SESSION_USER] = user.id
    session[SESSION_FP] = fingerprint(user)


def log_out() -> None:
    """End the session."""
    session.clear()


def _authenticate():
    """``before_request``: authenticate page requests (module docstring)."""
    g.restock_auth = None
    if _open_path():
        return None
    token, fetch = _session_token()
    if token is not None:
        return _token_auth(token, fetch)
    user = session_user()
    if user is not None:
        g.restock_auth = Identity("user", user.email, user_id=user.id)
        return None
    if login_required():
        if request.method in ("GET", "HEAD"):
            target = request.full_path if request.query_string else request.path
            return redirect(url_for("login.login", next=target))
        return redirect(url_for("login.login"), code=303)  # a form post is not replayed
    return None


def keep_params(location: str, params: dict) -> str:
    """``location`` with ``params`` added to its query (values already there win); a URL on
    another site is returned unchanged."""
    parts = urlsplit(location)
    if parts.scheme or parts.netloc or not parts.path.startswith("/"):
        return location  # another site: never hand it the token
    query = dict(parse_qsl(parts.query, keep_blank_values=True))
    for key, value in params.items():
        query.setdefault(key, value)
    return urlunsplit(("", "", parts.path, urlencode(query), parts.fragment))


def _after(response: Response) -> Response:
    """Frame and referrer headers for embedded requests; keep their parameters on
    same-app redirects (the install route's too)."""
    params = g.get("restock_link_params")
    if params is None and request.blueprint == "install" and request.args.get("id_token"):
        params = {k: request.args[k] for k in ("id_token", "host", "embedded")
                  if request.args.get(k)}
    if params and response.status_code in (301, 302, 303, 307, 308) and response.location:
        response.location = keep_params(response.location, params)
    domain = g.get("restock_frame_domain")
    if domain:
        response.headers["Content-Security-Policy"] = \
            f"frame-ancestors https://{domain} {_SHOPIFY_ADMIN}"
        response.headers["Referrer-Policy"] = "same-origin"
    elif request.blueprint == "login":
        response.headers.setdefault("Content-Security-Policy", "frame-ancestors 'none'")
    return response


def init_auth(app: Flask) -> None:
    """Authenticate before every other ``before_request`` hook (CSRF included), set the
    response headers, and offer ``current_identity()`` and ``login_required()`` to
    templates."""
    app.before_request_funcs.setdefault(None, []).insert(0, _authenticate)
    app.after_request(_after)
    app.jinja_env.globals["current_identity"] = current_identity
    app.jinja_env.globals["login_required"] = login_required

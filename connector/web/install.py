"""Installing restock on a Shopify shop and opening it from the Shopify admin.

Routes of :data:`install_bp` (blueprint name ``install``):

* ``GET /auth/install?shop=<name>.myshopify.com``: start an authorization-code install
  (non-embedded and legacy installs): store a one-time ``state`` nonce (also kept in the
  browser's session cookie) and redirect to Shopify's authorize page. When Shopify's install
  link carries ``hmac`` it is checked too.
* ``GET /auth/callback``: Shopify's redirect back: shop domain, HMAC, timestamp, ``state``
  (exists, unused, < 10 minutes, same shop, this browser), then the code is exchanged for an
  expiring offline token, stored encrypted, and the app's pages are opened for the shop.
* ``GET /app``: the embedded app's home. The App Bridge ID token comes as ``?id_token=`` (a
  document load) or ``Authorization: Bearer`` (a fetch). When the shop has no usable
  credential (first visit, reinstall, unreadable or expired tokens, missing scopes) the ID
  token is exchanged for an expiring offline token. A document load is redirected to the
  order lists with ``?shop=<shop name>`` (a new shop is named by its domain); a fetch gets
  ``{"shop", "name", "user_id", "url"}`` as JSON.

After every token grant here, ``app.config["SHOPIFY_ON_INSTALLED"](shop_domain, token)`` is
called when set (for example to subscribe webhooks); its failure is logged, not shown.

Settings are read when the blueprint is registered, from ``app.config`` first and then from
the :class:`~connector.config.Settings` in ``app.extensions["restock"]``: SHOPIFY_API_KEY,
SHOPIFY_API_SECRET, SHOPIFY_OLD_API_SECRET (optional, during a secret rotation),
SHOPIFY_SCOPES, SHOPIFY_APP_URL, SHOPIFY_OAUTH_BASE_URL (tests only) and RESTOCK_SECRET_KEY
(``Settings.secret_key``). Registering raises :class:`~connector.config.ConfigError` when the
API key or secret is missing, or the secret key outside demo and test.

Refusals answer 400 (bad shop, bad state, stale request), 401 (bad HMAC or ID token, refused
grant) or 502 (Shopify failed) with a message that says what is wrong; a fetch gets JSON
``{"error", "message"}`` and, on 401, ``X-Shopify-Retry-Invalid-Session-Request: 1`` so App
Bridge retries with a fresh ID token.
"""
from __future__ import annotations

import functools
import logging
from dataclasses import dataclass
from urllib.parse import urlencode

from flask import (Blueprint, Flask, abort, current_app, jsonify, redirect, request, session,
                   url_for)
from werkzeug.routing import BuildError

from connector.adapters.shopify.auth import (AuthError, ShopifyOAuth, callback_params,
                                             valid_shop_domain, verify_callback_hmac,
                                             verify_id_token)
from connector.adapters.shopify.tokens import (TokenCipher, consume_state,
                                               has_usable_credentials, new_state,
                                               shop_for_domain, store_tokens, token_cipher)
from connector.config import ConfigError
from core.storage import Shop

from .common import db

__all__ = ["install_bp", "InstallConfig", "EXTENSION", "ON_INSTALLED"]

log = logging.getLogger(__name__)

install_bp = Blueprint("install", __name__)

#: Key of the :class:`InstallConfig` in ``app.extensions``.
EXTENSION = "restock.install"
#: ``app.config`` key of the optional ``on_installed(shop_domain, token)`` hook.
ON_INSTALLED = "SHOPIFY_ON_INSTALLED"
_SESSION_STATE = "restock_oauth_state"


@dataclass(frozen=True)
class InstallConfig:
    """What the routes need, built once when the blueprint is registered."""

    oauth: ShopifyOAuth
    cipher: TokenCipher
    scopes: str
    app_url: str | None


def _setting(app: Flask, key: str, attr: str | None = None) -> str | None:
    value = app.config.get(key)
    if value in (None, ""):
        context = app.extensions.get("restock")
        settings = getattr(context, "settings", None)
        value = getattr(settings, attr or key.lower(), None)
    return None if value in (None, "") else str(value)


@install_bp.record_once
def _configure(state) -> None:
    app: Flask = state.app
    context = app.extensions.get("restock")
    env = getattr(getattr(context, "settings", None), "env", None)
    env = env or ("test" if app.testing else "production")
    key, secret = _setting(app, "SHOPIFY_API_KEY"), _setting(app, "SHOPIFY_API_SECRET")
    if not key or not secret:
        raise ConfigError("the Shopify install routes need the app's credentials: set "
                          "SHOPIFY_API_KEY and SHOPIFY_API_SECRET (Partner dashboard, or "
                          "`shopify app env show`)")
    scopes = ",".join(s.strip() for s in (_setting(app, "SHOPIFY_SCOPES") or "").split(",")
                      if s.strip())
    app_url = _setting(app, "SHOPIFY_APP_URL")
    app.extensions[EXTENSION] = InstallConfig(
        oauth=ShopifyOAuth(key, secret,
                           oauth_base_url=_setting(app, "SHOPIFY_OAUTH_BASE_URL"),
                           old_api_secret=_setting(app, "SHOPIFY_OLD_API_SECRET")),
        cipher=token_cipher(_setting(app, "RESTOCK_SECRET_KEY", "secret_key"), env),
        scopes=scopes, app_url=app_url.rstrip("/") if app_url else None)


def _config() -> InstallConfig:
    return current_app.extensions[EXTENSION]


def _is_fetch() -> bool:
    return request.headers.get("Authorization", "").startswith("Bearer ")


def _refusing(view):
    """Turn an :class:`AuthError` into a 4xx/5xx answer with its message."""

    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        try:
            return view(*args, **kwargs)
        except AuthError as exc:
            db().rollback()
            log.info("refused %s %s: %s (%s)", request.method, request.path, exc.reason, exc)
            if _is_fetch():
                headers = ({"X-Shopify-Retry-Invalid-Session-Request": "1"}
                           if exc.status == 401 else {})
                return jsonify(error=exc.reason, message=str(exc)), exc.status, headers
            abort(exc.status, description=str(exc))

    return wrapper


def _home(shop: Shop) -> str:
    """The order lists of ``shop``."""
    try:
        return url_for("lists.index", shop=shop.name)
    except BuildError:
        return "/?" + urlencode({"shop": shop.name})


def _installed(shop_domain: str, token: str) -> None:
    hook = current_app.config.get(ON_INSTALLED)
    if hook is None:
        return
    try:
        hook(shop_domain, token)
    except Exception:  # the install itself succeeded; the hook can be retried later
        log.exception("on_installed hook failed for %s", shop_domain)


def _shop_arg() -> str:
    shop = request.args.get("shop", "")
    if not valid_shop_domain(shop):
        raise AuthError("bad_shop", f"shop={shop!r} is not a shop domain: give "
                        "<name>.myshopify.com in lower case", 400)
    return shop


@install_bp.get("/auth/install")
@_refusing
def install():
    """Redirect to Shopify's authorize page with a fresh ``state`` nonce."""
    config = _config()
    shop = _shop_arg()
    if "hmac" in request.args:
        verify_callback_hmac(callback_params(request.args), config.oauth.api_secret,
                             old_api_secret=config.oauth.old_api_secret)
    nonce = new_state(db(), shop)
    db().commit()
    session[_SESSION_STATE] = nonce
    path = url_for(".callback")
    redirect_uri = (config.app_url + path) if config.app_url else url_for(".callback",
                                                                           _external=True)
    return redirect(config.oauth.authorize_url(shop, config.scopes, redirect_uri, nonce))


@install_bp.get("/auth/callback")
@_refusing
def callback():
    """Verify Shopify's redirect, exchange the code and store the token."""
    config = _config()
    shop = _shop_arg()
    params = callback_params(request.args)
    verify_callback_hmac(params, config.oauth.api_secret,
                         old_api_secret=config.oauth.old_api_secret)
    nonce = request.args.get("state")
    consume_state(db(), nonce, shop)
    db().commit()  # the state is spent even if what follows fails
    if session.pop(_SESSION_STATE, None) != nonce:
        raise AuthError("state_other_browser", "the install was started in another browser "
                        "(or its cookie was lost): start it again from /auth/install", 400)
    code = request.args.get("code")
    if not code:
        raise AuthError("missing_code", "Shopify's redirect carries no code", 400)
    result = config.oauth.exchange_code(shop, code)
    row = shop_for_domain(db(), shop)
    store_tokens(db(), row, "authorization_code", result, cipher=config.cipher)
    db().commit()
    _installed(shop, result.access_token)
    return redirect(_home(row))


@install_bp.get("/app")
@_refusing
def app_home():
    """The embedded app's entry: verify the ID token, get a token if needed, open the app."""
    config = _config()
    header = request.headers.get("Authorization", "")
    token = request.args.get("id_token") or (header[7:].strip() if _is_fetch() else "")
    identity = verify_id_token(token, config.oauth.api_key, config.oauth.api_secret,
                               old_api_secret=config.oauth.old_api_secret)
    named = request.args.get("shop")
    if named and named != identity.shop_domain:
        raise AuthError("shop_mismatch", f"shop={named!r} is not the shop of the ID token "
                        f"({identity.shop_domain})", 401)
    shop = shop_for_domain(db(), identity.shop_domain)
    granted = None
    if not has_usable_credentials(db(), shop, config.cipher, scopes=config.scopes):
        result = config.oauth.token_exchange(identity)
        store_tokens(db(), shop, "token_exchange", result, cipher=config.cipher)
        granted = result.access_token
    db().commit()
    if granted is not None:
        _installed(identity.shop_domain, granted)
    url = _home(shop)
    if _is_fetch() and not request.args.get("id_token"):
        return jsonify(shop=identity.shop_domain, name=shop.name, user_id=identity.user_id,
                       url=url)
    return redirect(url)

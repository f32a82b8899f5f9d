"""Who is calling the API: API keys and Shopify session tokens, each bound to one shop.

Every API request carries ``Authorization: Bearer <credential>``, where the credential is
either

* an **API key** ``rk_<prefix>_<secret>`` (``prefix``: 8 hex digits shown in listings;
  ``secret``: 32 random bytes, URL-safe base64). Only the SHA-256 hex digest of the whole key
  is stored (:class:`core.storage.ApiKey`); a request's key is hashed and looked up by that
  digest, so no comparison ever runs over the secret itself (the stored digest is compared
  again with :func:`hmac.compare_digest`). Revoked keys are refused; or
* a **Shopify session token** (App Bridge ID token, an HS256 JWT) verified by
  :func:`connector.adapters.shopify.auth.verify_id_token` against ``SHOPIFY_API_KEY`` and
  ``SHOPIFY_API_SECRET`` (``SHOPIFY_OLD_API_SECRET`` too while a secret is rotated): expired
  tokens and tokens of another app are refused. Its shop is the ``dest`` domain, which must
  be a shop restock knows (``Shop.domain``, or a shop named by its domain).

Anything else answers 401 with a JSON message and ``WWW-Authenticate: Bearer``. The shop
found is kept in ``flask.g`` for the request: every API view reads only that shop's rows.
"""
from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app, g, request
from flask_smorest import abort
from sqlalchemy import case, or_, select
from sqlalchemy.orm import Session

from core.purchasing import as_utc
from core.storage import ApiKey, Shop, utcnow

__all__ = ["KEY_PATTERN", "ApiCaller", "create_api_key", "revoke_api_key", "hash_key",
           "authenticate", "api_shop", "caller_for_key", "caller_for_session_token"]

#: ``rk_`` + 8 hex digits + ``_`` + the URL-safe secret.
KEY_PATTERN = re.compile(r"rk_([0-9a-f]{8})_([A-Za-z0-9_-]{32,128})")
#: How often ``ApiKey.last_used_at`` is written at most (not on every request).
LAST_USED_EVERY = timedelta(minutes=1)
_JWT = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*")


@dataclass(frozen=True)
class ApiCaller:
    """An authenticated caller.

    Attributes:
        shop_id: The shop every read and write of the request is limited to.
        kind: ``api_key`` or ``session_token``.
        label: The key's prefix, or the Shopify user id of a session token.
    """

    shop_id: int
    kind: str
    label: str | None


class _Refused(Exception):
    """A credential was refused; ``message`` says why (never echoing the credential)."""

    def __init__(self, message: str, session_token: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.session_token = session_token


def hash_key(key: str) -> str:
    """The stored form of an API key: SHA-256 of its UTF-8 bytes, in hex."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def create_api_key(session: Session, shop: Shop, name: str | None = None) -> str:
    """Make a new API key for ``shop`` and store its hash.

    Args:
        session: Database session (the row is flushed; the caller commits).
        shop: The shop the key reads and acts for.
        name: A label for the key, e.g. ``"ERP sync"``.

    Returns:
        The key ``rk_<prefix>_<secret>``. It is not stored anywhere: show it once.
    """
    prefix = secrets.token_hex(4)
    key = f"rk_{prefix}_{secrets.token_urlsafe(32)}"
    session.add(ApiKey(shop_id=shop.id, key_hash=hash_key(key), prefix=prefix, name=name,
                       created_at=utcnow()))
    session.flush()
    return key


def revoke_api_key(session: Session, shop: Shop, prefix: str) -> int:
    """Revoke the shop's keys whose prefix is ``prefix`` (``rk_`` may be included).

    Returns:
        How many keys were revoked now (0 when none matched or all were revoked already).
    """
    prefix = prefix.removeprefix("rk_").split("_", 1)[0]
    keys = session.scalars(select(ApiKey).where(ApiKey.shop_id == shop.id,
                                                ApiKey.prefix == prefix,
                                                ApiKey.revoked_at.is_(None))).all()
    now = utcnow()
    for key in keys:
        key.revoked_at = now
    session.flush()
    return len(keys)


def caller_for_key(session: Session, key: str, now: datetime | None = None) -> ApiCaller:
    """The caller an API key stands for.

    Raises:
        _Refused: malformed, unknown or revoked key.
    """
    match = KEY_PATTERN.fullmatch(key)
    if match is None:
        raise _Refused("the API key is malformed: expected rk_<prefix>_<secret> as printed by "
                       "`restock api-key create`")
    digest = hash_key(key)
    row = session.scalar(select(ApiKey).where(ApiKey.key_hash == digest))
    if row is None or not hmac.compare_digest(row.key_hash, digest) or \
            row.prefix != match.group(1):
        raise _Refused("unknown API key")
    if row.revoked_at is not None:
        raise _Refused(f"API key rk_{row.prefix}_... was revoked")
    now = now or utcnow()
    last = as_utc(row.last_used_at)
    if last is None or now - last >= LAST_USED_EVERY:
        row.last_used_at = now
        session.commit()
    return ApiCaller(shop_id=row.shop_id, kind="api_key", label=row.prefix)


def _shop_by_domain(session: Session, domain: str) -> Shop | None:
    return session.scalar(select(Shop).where(or_(Shop.domain == domain, Shop.name == domain))
                          .order_by(case((Shop.domain == domain, 0), else_=1), Shop.id)
                          .limit(1))


def caller_for_session_token(session: Session, token: str, config) -> ApiCaller:
    """The caller a Shopify session token stands for.

    Args:
        session: Database session.
        token: The JWT.
        config: ``app.config`` (SHOPIFY_API_KEY, SHOPIFY_API_SECRET, SHOPIFY_OLD_API_SECRET).

    Raises:
        _Refused: session tokens are not configured, the token fails verification, or its
            shop is unknown.
    """
    from connector.adapters.shopify.auth import AuthError, verify_id_token

    api_key, secret = config.get("SHOPIFY_API_KEY"), config.get("SHOPIFY_API_SECRET")
    if not api_key or not secret:
        raise _Refused("Shopify session tokens are not accepted here: SHOPIFY_API_KEY and "
                       "SHOPIFY_API_SECRET are not configured; use an API key")
    try:
        verified = verify_id_token(token, api_key, secret,
                                   old_api_secret=config.get("SHOPIFY_OLD_API_SECRET"))
    except AuthError as exc:
        raise _Refused(f"session token refused: {exc}", session_token=True) from None
    shop = _shop_by_domain(session, verified.shop_domain)
    if shop is None:
        raise _Refused(f"{verified.shop_domain} has not installed restock: open the app from "
                       "the Shopify admin first", session_token=True)
    return ApiCaller(shop_id=shop.id, kind="session_token", label=verified.user_id)


def _bearer() -> str:
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.strip().partition(" ")
    if not header.strip():
        raise _Refused("authentication required: send Authorization: Bearer <API key or "
                       "Shopify session token>")
    if scheme.lower() != "bearer" or not value.strip():
        raise _Refused("the Authorization header must be 'Bearer <credential>'")
    return value.strip()


def authenticate() -> None:
    """``before_request`` hook of the API blueprints: find the caller or answer 401.

    Sets ``g.api_caller`` (:class:`ApiCaller`) and ``g.api_shop`` (:class:`Shop`).
    """
    if request.method == "OPTIONS":
        return
    from connector.web.common import db

    session = db()
    try:
        credential = _bearer()
        if credential.startswith("rk_"):
            caller = caller_for_key(session, credential)
        elif _JWT.fullmatch(credential):
            caller = caller_for_session_token(session, credential, current_app.config)
        else:
            raise _Refused("the bearer credential is neither an API key nor a Shopify "
                           "session token")
        shop = session.get(Shop, caller.shop_id)
        if shop is None:  # deleted between the lookup and now
            raise _Refused("the credential's shop no longer exists")
    except _Refused as exc:
        headers = {"WWW-Authenticate": 'Bearer realm="restock"'}
        if exc.session_token:  # App Bridge retries with a fresh token
            headers["X-Shopify-Retry-Invalid-Session-Request"] = "1"
        abort(401, message=exc.message, headers=headers)
    g.api_caller = caller
    g.api_shop = shop


def api_shop() -> Shop:
    """The authenticated caller's shop (set by :func:`authenticate`)."""
    return g.api_shop

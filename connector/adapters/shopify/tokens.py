"""Shopify credentials in the database: install nonces, encrypted tokens, refresh on use.

* :func:`new_state` / :func:`consume_state`: one-time ``state`` nonces of an
  authorization-code install (:class:`core.storage.OAuthState`): they must exist, be unused,
  be younger than :data:`STATE_TTL` and name the same shop; a conditional UPDATE marks one
  used, so two concurrent callbacks cannot both pass.
* Tokens live in :class:`core.storage.ShopCredential`, encrypted with Fernet (AES-128-CBC +
  HMAC-SHA256) under a key derived from ``RESTOCK_SECRET_KEY`` by HKDF-SHA256 (RFC 5869).
* :func:`access_token` returns a usable token, renewing it first when it expires within
  :data:`REFRESH_MARGIN`; the new access and refresh tokens are written in one UPDATE and
  committed at once, because Shopify rotates the refresh token on every use.
"""
from __future__ import annotations

import base64
import logging
import secrets
from datetime import datetime, timedelta, timezone
from typing import Protocol

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import case, delete, or_, select, update
from sqlalchemy.orm import Session

from connector.config import ConfigError
from core.storage import OAuthState, Shop, ShopCredential

from .auth import AuthError, TokenResult, shop_subdomain, valid_shop_domain

__all__ = [
    "REFRESH_MARGIN", "STATE_TTL", "TokenCipher", "TokenRefresher", "access_token",
    "consume_state", "has_usable_credentials", "new_state", "shop_for_domain",
    "store_tokens", "token_cipher",
]

log = logging.getLogger(__name__)

#: A token that expires within this margin is refreshed before use.
REFRESH_MARGIN = timedelta(minutes=5)
#: How long an authorization-code ``state`` nonce stays usable.
STATE_TTL = timedelta(minutes=10)
PLATFORM = "shopify"
_DEMO_SECRET = "restock-demo-and-test-only-not-secret"
_HKDF_SALT = b"restock/shop-credentials"
_HKDF_INFO = b"fernet-key/v1"


def _utcnow() -> datetime:
    return datetime.now(timezone.utc)


def _aware(moment: datetime | None) -> datetime | None:
    """SQLite hands back naive datetimes: they are UTC."""
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=timezone.utc)


def new_state(session: Session, shop_domain: str, *, now: datetime | None = None) -> str:
    """Store a fresh one-time ``state`` nonce for an install of ``shop_domain``.

    States older than a day are deleted on the way. The caller commits.

    Returns:
        The nonce, to put in the authorize URL's ``state`` parameter.
    """
    now = now or _utcnow()
    session.execute(delete(OAuthState).where(OAuthState.created_at < now - timedelta(days=1)))
    nonce = secrets.token_urlsafe(32)
    session.add(OAuthState(nonce=nonce, shop_domain=shop_domain, created_at=now))
    session.flush()
    return nonce


def consume_state(session: Session, nonce: str | None, shop_domain: str, *,
                  now: datetime | None = None) -> None:
    """Check a callback's ``state`` and mark it used (the caller commits).

    Raises:
        AuthError: ``unknown_state``, ``state_used``, ``state_expired`` or
            ``state_shop_mismatch`` (status 400).
    """
    now = now or _utcnow()
    row = session.scalar(select(OAuthState).where(OAuthState.nonce == (nonce or "")))
    if row is None:
        raise AuthError("unknown_state", "the install's state is unknown: start the install "
                        "again from /auth/install", 400)
    if row.used_at is not None:
        raise AuthError("state_used", "the install's state was already used: start the "
                        "install again", 400)
    if _aware(row.created_at) < now - STATE_TTL:
        raise AuthError("state_expired", "the install took longer than "
                        f"{int(STATE_TTL.total_seconds() // 60)} minutes: start it again", 400)
    if row.shop_domain != shop_domain:
        raise AuthError("state_shop_mismatch", "the install was started for another shop",
                        400)
    done = session.execute(update(OAuthState)
                           .where(OAuthState.id == row.id, OAuthState.used_at.is_(None))
                           .values(used_at=now).execution_options(synchronize_session=False))
    if done.rowcount != 1:
        raise AuthError("state_used", "the install's state was already used: start the "
                        "install again", 400)


class TokenRefresher(Protocol):
    """What :func:`access_token` needs to renew a token (:class:`ShopifyOAuth` is one)."""

    def refresh(self, shop_domain: str, refresh_token: str,
                refresh_token_expires_at: datetime | None = None) -> TokenResult: ...

    def client_credentials(self, shop_domain: str) -> TokenResult: ...


class TokenCipher:
    """Fernet encryption of tokens under a key derived from ``RESTOCK_SECRET_KEY``.

    The Fernet key is HKDF-SHA256(secret, salt="restock/shop-credentials",
    info="fernet-key/v1", length=32), base64url-encoded (RFC 5869).
    """

    def __init__(self, secret_key: str) -> None:
        raw = HKDF(algorithm=hashes.SHA256(), length=32, salt=_HKDF_SALT,
                   info=_HKDF_INFO).derive(secret_key.encode("utf-8"))
        self._fernet = Fernet(base64.urlsafe_b64encode(raw))

    def encrypt(self, token: str) -> bytes:
        return self._fernet.encrypt(token.encode("utf-8"))

    def decrypt(self, blob: bytes) -> str:
        """Raises AuthError ``undecryptable`` when the key changed or the data is damaged."""
        try:
            return self._fernet.decrypt(bytes(blob)).decode("utf-8")
        except InvalidToken:
            raise AuthError("undecryptable", "a stored Shopify token cannot be decrypted with "
                            "RESTOCK_SECRET_KEY (was the key changed?): open the app from the "
                            "Shopify admin to get a new token", 401) from None


def token_cipher(secret_key: str | None, env: str = "production") -> TokenCipher:
    """The token cipher for ``RESTOCK_SECRET_KEY``.

    Args:
        secret_key: ``RESTOCK_SECRET_KEY``; in demo and test environments a fixed, public
            demo key is used when it is missing (never for real shops).
        env: ``RESTOCK_ENV``: production | demo | test.

    Raises:
        ConfigError: no key outside demo and test.
    """
    if secret_key:
        return TokenCipher(secret_key)
    if env in ("demo", "test"):
        log.warning("RESTOCK_SECRET_KEY is not set: Shopify tokens are encrypted with the "
                    "public demo key (RESTOCK_ENV=%s)", env)
        return TokenCipher(_DEMO_SECRET)
    raise ConfigError("restock encrypts Shopify access tokens with a key derived from "
                      "RESTOCK_SECRET_KEY: set it to a long random string (for example "
                      "`python -c 'import secrets; print(secrets.token_hex(32))'`) and keep "
                      "it stable, or run with RESTOCK_ENV=demo")


def shop_for_domain(session: Session, domain: str) -> Shop:
    """The shop with ``domain`` (or named ``domain``); created, named by its domain, if none."""
    shop_subdomain(domain)
    shop = session.scalar(select(Shop).where(or_(Shop.domain == domain, Shop.name == domain))
                          .order_by(case((Shop.domain == domain, 0), else_=1), Shop.id)
                          .limit(1))
    if shop is None:
        shop = Shop(name=domain, domain=domain, settings={})
        session.add(shop)
        session.flush()
    elif not shop.domain:
        shop.domain = domain
    return shop


def _credential(session: Session, shop: Shop) -> ShopCredential | None:
    return session.scalar(select(ShopCredential).where(ShopCredential.shop_id == shop.id,
                                                       ShopCredential.platform == PLATFORM))


def store_tokens(session: Session, shop: Shop, grant: str, result: TokenResult, *,
                 cipher: TokenCipher) -> ShopCredential:
    """Save (insert or replace) the shop's Shopify credential, tokens encrypted.

    Args:
        grant: ``token_exchange``, ``authorization_code`` or ``client_credentials``.
        result: What the token endpoint granted.
        cipher: From :func:`token_cipher`.

    Returns:
        The flushed credential; the caller commits.
    """
    cred = _credential(session, shop)
    if cred is None:
        cred = ShopCredential(shop_id=shop.id, platform=PLATFORM, installed_at=_utcnow())
        session.add(cred)
    elif cred.uninstalled_at is not None:
        cred.installed_at, cred.uninstalled_at = _utcnow(), None
    cred.grant = grant
    cred.access_token_enc = cipher.encrypt(result.access_token)
    cred.access_token_expires_at = result.expires_at
    cred.refresh_token_enc = cipher.encrypt(result.refresh_token) if result.refresh_token else None
    cred.refresh_token_expires_at = result.refresh_token_expires_at
    cred.scopes = result.scope
    session.flush()
    return cred


def _covers(granted: str | None, wanted: str | None) -> bool:
    """Whether the granted scopes include every wanted one (``write_x`` implies ``read_x``)."""
    have = {s.strip() for s in (granted or "").split(",") if s.strip()}
    have |= {"read_" + s[len("write_"):] for s in have if s.startswith("write_")}
    return all(s.strip() in have for s in (wanted or "").split(",") if s.strip())


def has_usable_credentials(session: Session, shop: Shop, cipher: TokenCipher, *,
                           scopes: str | None = None, now: datetime | None = None) -> bool:
    """Whether the shop has a credential that works now or can be refreshed.

    False when there is none, the app was uninstalled, the tokens cannot be decrypted, the
    access token expired without a live refresh token, or the granted scopes miss one of
    ``scopes``; the embedded app then runs a token exchange.
    """
    now = now or _utcnow()
    cred = _credential(session, shop)
    if cred is None or cred.uninstalled_at is not None or cred.access_token_enc is None:
        return False
    try:
        cipher.decrypt(cred.access_token_enc)
    except AuthError:
        return False
    if not _covers(cred.scopes, scopes):
        return False
    expires = _aware(cred.access_token_expires_at)
    if expires is None or expires > now + REFRESH_MARGIN or cred.grant == "client_credentials":
        return True
    refresh_expires = _aware(cred.refresh_token_expires_at)
    return cred.refresh_token_enc is not None and (refresh_expires is None or
                                                   refresh_expires > now)


def access_token(session: Session, shop: Shop, refresher: TokenRefresher, *,
                 cipher: TokenCipher, now: datetime | None = None) -> str:
    """A valid Admin API token for ``shop``, refreshed first when it expires soon.

    A token expiring within :data:`REFRESH_MARGIN` is renewed: by the refresh token, or by
    the client credentials grant for a credential that came from it. The new access and
    refresh tokens are written in one UPDATE, conditional on the refresh token still being
    the one used, and committed at once (Shopify rotates refresh tokens, so losing the new
    one to a later rollback would lock the shop out): renewing commits ``session``. The row
    is locked while renewing (``SELECT ... FOR UPDATE`` on PostgreSQL); when another worker
    renewed first, its token is returned.

    Raises:
        AuthError: ``not_installed``, ``undecryptable``, ``refresh_token_expired`` or the
            refresh's failure (``invalid_grant`` ...), each with what to do next.
    """
    now = now or _utcnow()
    domain = shop.domain or shop.name
    cred = _credential(session, shop)
    for attempt in ("read", "locked"):
        if cred is None or cred.uninstalled_at is not None or cred.access_token_enc is None:
            raise AuthError("not_installed", f"restock has no Shopify token for {domain}: "
                            "install the app or open it from the Shopify admin", 401)
        expires = _aware(cred.access_token_expires_at)
        if expires is None or expires > now + REFRESH_MARGIN:
            if attempt == "locked":
                session.commit()  # another worker renewed it meanwhile: release the lock
            return cipher.decrypt(cred.access_token_enc)
        if attempt == "read":  # lock the row (PostgreSQL) so one worker renews, and re-read
            session.refresh(cred, with_for_update=True)
    if not valid_shop_domain(domain):
        raise AuthError("bad_shop", f"shop {shop.name!r} has no myshopify domain to refresh "
                        "its token at", 400)
    used = cred.refresh_token_enc
    if cred.grant == "client_credentials":
        result = refresher.client_credentials(domain)
    else:
        refresh_expires = _aware(cred.refresh_token_expires_at)
        if used is None or (refresh_expires is not None and refresh_expires <= now):
            raise AuthError("refresh_token_expired", f"the Shopify token of {domain} expired "
                            "and cannot be refreshed: open the app from the Shopify admin "
                            "to get a new one", 401)
        try:
            result = refresher.refresh(domain, cipher.decrypt(used), refresh_expires)
        except AuthError as exc:
            session.expire(cred)
            again = _credential(session, shop)
            if again is not None and again.refresh_token_enc != used and again.access_token_enc:
                return cipher.decrypt(again.access_token_enc)  # another worker refreshed
            raise AuthError(exc.reason, f"{exc} -- the token of {domain} could not be "
                            "refreshed: open the app from the Shopify admin to get a new "
                            "one", exc.status) from None
    values = dict(access_token_enc=cipher.encrypt(result.access_token),
                  access_token_expires_at=result.expires_at,
                  refresh_token_enc=(cipher.encrypt(result.refresh_token)
                                     if result.refresh_token else None),
                  refresh_token_expires_at=result.refresh_token_expires_at)
    if result.scope:
        values["scopes"] = result.scope
    same = (ShopCredential.refresh_token_enc.is_(None) if used is None
            else ShopCredential.refresh_token_enc == used)
    done = session.execute(update(ShopCredential).where(ShopCredential.id == cred.id, same)
                           .values(**values).execution_options(synchronize_session=False))
    session.commit()
    session.expire(cred)
    if done.rowcount != 1:  # another worker refreshed first (SQLite has no row locks)
        return cipher.decrypt(_credential(session, shop).access_token_enc)
    return result.access_token

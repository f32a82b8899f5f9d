"""Talking to Shopify: shop domains, ID tokens, OAuth redirects and the token endpoint.

* :func:`valid_shop_domain`: exactly ``^[a-z0-9][a-z0-9-]*\\.myshopify\\.com$``.
* :func:`verify_id_token`: an App Bridge ID token (session token) is an HS256 JWT signed with
  the client secret. ShopifyAPI's ``shopify.session_token.decode_from_header`` checks the
  signature, ``aud`` == API key, ``exp``/``nbf`` (10 s leeway), the required claims
  ``iss dest sub jti sid``, an ``iss`` on a myshopify host and ``iss``/``dest`` on the same
  host; the ``dest`` host must also pass :func:`valid_shop_domain`. While a secret is being
  rotated the previous one is tried when the signature does not match.
* :func:`verify_callback_hmac`: an OAuth redirect's ``hmac`` = hex HMAC-SHA256(secret, the
  other query parameters sorted, ``k=v`` joined by ``&``), computed by ShopifyAPI's
  ``Session.calculate_hmac`` and compared in constant time; ``timestamp`` <= 1 day old.
* :class:`ShopifyOAuth`, the token endpoint ``POST https://{shop}/admin/oauth/access_token``:
  token exchange (``expiring=1``), refresh and client credentials through ``shopifyapp``
  (``token_exchange``, ``refresh_access_token``, ``exchange_using_client_credentials``); the
  authorize URL and the authorization-code exchange are written here from Shopify's
  documented protocol: ``shopifyapp`` has no authorization-code grant, and ShopifyAPI's
  ``Session.request_token`` keeps neither expiry nor refresh token and cannot be pointed
  elsewhere. ``oauth_base_url`` (tests) sends token-endpoint calls to another origin,
  keeping the path and ``Host: <shop>``, through an httpx transport given to ``shopifyapp``.

Every refusal raises :class:`AuthError` with a machine-readable ``reason``, a message that
says what is wrong and what to do, and the HTTP ``status`` a handler should answer with.
"""
from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Mapping
from urllib.parse import urlparse

import httpx
import jwt
import shopify_app
from shopify import Session as _ShopifySession
from shopify import session_token as _session_token

from connector.config import ConfigError

__all__ = ["AuthError", "IdToken", "ShopifyOAuth", "TokenResult", "callback_params",
           "shop_subdomain", "valid_shop_domain", "verify_callback_hmac", "verify_id_token"]

#: How old an OAuth redirect's ``timestamp`` may be (ShopifyAPI's replay window).
CALLBACK_MAX_AGE = timedelta(days=1)

_SHOP_DOMAIN = re.compile(r"[a-z0-9][a-z0-9-]*\.myshopify\.com")
_SUFFIX = ".myshopify.com"


class AuthError(Exception):
    """A request or token was refused.

    Attributes:
        reason: A short code, e.g. ``expired``, ``wrong_audience``, ``bad_hmac``.
        status: The HTTP status a web handler should answer with (400, 401, 502 ...).
    """

    def __init__(self, reason: str, message: str, status: int = 401) -> None:
        super().__init__(message)
        self.reason = reason
        self.status = status


def valid_shop_domain(domain: Any) -> bool:
    """Whether ``domain`` is exactly a ``<name>.myshopify.com`` shop domain.

    Args:
        domain: The candidate, e.g. from ``?shop=``; no scheme, no port, lower case.

    Returns:
        True only for ``^[a-z0-9][a-z0-9-]*\\.myshopify\\.com$``.
    """
    return isinstance(domain, str) and _SHOP_DOMAIN.fullmatch(domain) is not None


def shop_subdomain(domain: str) -> str:
    """``name`` of ``name.myshopify.com`` (the form shopifyapp's functions take).

    Raises:
        AuthError: ``domain`` is not a valid shop domain (400).
    """
    if not valid_shop_domain(domain):
        raise AuthError("bad_shop", f"{domain!r} is not a shop domain: expected "
                        "<name>.myshopify.com in lower case", status=400)
    return domain[: -len(_SUFFIX)]


@dataclass(frozen=True)
class IdToken:
    """A verified App Bridge ID token.

    Attributes:
        token: The JWT as received (it is the ``subject_token`` of a token exchange).
        shop_domain: ``<name>.myshopify.com`` from ``dest``.
        user_id: The Shopify staff user id (``sub``).
        claims: Every decoded claim.
    """

    token: str
    shop_domain: str
    user_id: str | None
    claims: dict = field(repr=False)


_JWT_REASONS: tuple[tuple[type[Exception], str, str], ...] = (
    (jwt.ExpiredSignatureError, "expired", "the ID token has expired: App Bridge must send "
                                           "a fresh one"),
    (jwt.ImmatureSignatureError, "not_yet_valid", "the ID token is not valid yet (nbf/iat in "
                                                  "the future: check the server clock)"),
    (jwt.InvalidAudienceError, "wrong_audience", "the ID token was issued to another app "
                                                 "(aud is not SHOPIFY_API_KEY)"),
    (jwt.InvalidSignatureError, "bad_signature", "the ID token's signature does not match "
                                                 "SHOPIFY_API_SECRET"),
    (jwt.MissingRequiredClaimError, "missing_claim", "the ID token lacks a required claim"),
    (jwt.InvalidAlgorithmError, "bad_algorithm", "the ID token is not signed with HS256"),
)


def _decode(token: str, api_key: str, secret: str) -> dict:
    try:
        return _session_token.decode_from_header(f"Bearer {token}", api_key, secret)
    except _session_token.MismatchedHostsError:
        raise AuthError("dest_mismatch", "the ID token's dest is not the shop that issued "
                        "it (iss and dest differ)") from None
    except _session_token.InvalidIssuerError:
        raise AuthError("bad_issuer", "the ID token's issuer is not a "
                        "<name>.myshopify.com shop") from None
    except _session_token.SessionTokenError as exc:
        cause = exc.__cause__
        for kind, reason, message in _JWT_REASONS:
            if isinstance(cause, kind):
                raise AuthError(reason, f"{message} ({exc})") from None
        raise AuthError("malformed", f"the ID token cannot be decoded ({exc})") from None


def verify_id_token(token: str, api_key: str, api_secret: str, *,
                    old_api_secret: str | None = None) -> IdToken:
    """Verify an App Bridge ID token and name its shop and user.

    Args:
        token: The JWT from ``?id_token=`` or ``Authorization: Bearer ...``.
        api_key: The app's client id (``SHOPIFY_API_KEY``), the expected ``aud``.
        api_secret: The app's client secret (``SHOPIFY_API_SECRET``).
        old_api_secret: The previous secret while rotating it, or None.

    Returns:
        The verified token with ``shop_domain`` and ``user_id``.

    Raises:
        AuthError: with reason ``missing``, ``malformed``, ``expired``, ``not_yet_valid``,
            ``wrong_audience``, ``bad_signature``, ``missing_claim``, ``bad_algorithm``,
            ``bad_issuer``, ``dest_mismatch`` or ``bad_dest``; status 401.
    """
    if not token:
        raise AuthError("missing", "no ID token: open the app from the Shopify admin "
                        "(App Bridge sends ?id_token= or Authorization: Bearer)")
    try:
        claims = _decode(token, api_key, api_secret)
    except AuthError as exc:
        if exc.reason != "bad_signature" or not old_api_secret:
            raise
        claims = _decode(token, api_key, old_api_secret)
    dest = str(claims.get("dest") or "")
    host = urlparse(dest).hostname if "://" in dest else None
    if not valid_shop_domain(host) or urlparse(dest).scheme != "https":
        raise AuthError("bad_dest", f"the ID token's dest {dest!r} is not "
                        "https://<name>.myshopify.com")
    sub = claims.get("sub")
    return IdToken(token=token, shop_domain=host, user_id=None if sub is None else str(sub),
                   claims=claims)


def callback_params(args) -> dict[str, Any]:
    """``request.args`` as ShopifyAPI's HMAC expects it: lists for ``key[]`` parameters."""
    if hasattr(args, "getlist"):
        return {k: (args.getlist(k) if k.endswith("[]") else args.get(k)) for k in args}
    return dict(args)


def verify_callback_hmac(params: Mapping[str, Any], api_secret: str, *,
                         old_api_secret: str | None = None, now: float | None = None) -> None:
    """Check the ``hmac`` and ``timestamp`` of an OAuth redirect from Shopify.

    Args:
        params: The query parameters (see :func:`callback_params`), ``hmac`` included.
        api_secret: The app's client secret.
        old_api_secret: The previous secret while rotating it, or None.
        now: Seconds since the epoch (tests); defaults to the clock.

    Raises:
        AuthError: ``bad_hmac`` (missing or wrong signature, 401) or ``stale_request``
            (``timestamp`` missing, not a number or more than a day old, 400).
    """
    params = dict(params)
    if not isinstance(params.get("hmac"), str) or not params["hmac"]:
        raise AuthError("bad_hmac", "the request carries no hmac: it does not come from Shopify")
    for secret in (api_secret, old_api_secret):
        if not secret:
            continue
        signer = type("_Signer", (_ShopifySession,), {"secret": secret})
        if signer.validate_hmac(params):
            break
    else:
        raise AuthError("bad_hmac", "the request's hmac does not match SHOPIFY_API_SECRET: it "
                        "was altered or forged")
    try:
        sent = int(str(params.get("timestamp")))
    except ValueError:
        raise AuthError("stale_request", "the request has no valid timestamp", 400) from None
    if sent < (time.time() if now is None else now) - CALLBACK_MAX_AGE.total_seconds():
        raise AuthError("stale_request", "the request is more than a day old: start the "
                        "install again", 400)


def _utcnow() -> datetime:
    return datetime.now(timezone.utc)


def _parse_iso(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text.replace("Z", "+00:00")) if text else None


@dataclass(frozen=True)
class TokenResult:
    """What the token endpoint granted. Expiries are absolute (UTC); None = never."""

    access_token: str
    scope: str = ""
    expires_at: datetime | None = None
    refresh_token: str | None = None
    refresh_token_expires_at: datetime | None = None

    def __repr__(self) -> str:  # never print the tokens
        return (f"TokenResult(scope={self.scope!r}, expires_at={self.expires_at}, "
                f"refresh={'yes' if self.refresh_token else 'no'})")

    @classmethod
    def from_response(cls, body: dict, now: datetime | None = None) -> "TokenResult":
        """Build from a token-endpoint JSON body (``expires_in`` seconds, relative)."""
        now = now or _utcnow()

        def at(key: str) -> datetime | None:
            return None if body.get(key) is None else now + timedelta(seconds=int(body[key]))

        return cls(access_token=str(body["access_token"]), scope=str(body.get("scope") or ""),
                   expires_at=at("expires_in"), refresh_token=body.get("refresh_token"),
                   refresh_token_expires_at=at("refresh_token_expires_in"))


class _RebaseTransport(httpx.BaseTransport):
    """Send every request to ``base`` (scheme, host, port, path prefix), keeping its path."""

    def __init__(self, base: str) -> None:
        self._base = httpx.URL(base)
        self._inner = httpx.HTTPTransport()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        prefix = self._base.path.rstrip("/")
        request.url = request.url.copy_with(scheme=self._base.scheme, host=self._base.host,
                                            port=self._base.port,
                                            path=prefix + request.url.path)
        return self._inner.handle_request(request)

    def close(self) -> None:
        self._inner.close()


class ShopifyOAuth:
    """Client of Shopify's token endpoint for one app.

    Args:
        api_key: Client id (``SHOPIFY_API_KEY``).
        api_secret: Client secret (``SHOPIFY_API_SECRET``).
        oauth_base_url: Send token-endpoint calls (and build the authorize URL) here instead
            of ``https://<shop>``; for tests against a local fake.
        timeout: Seconds per HTTP request.
        old_api_secret: The previous secret during a rotation (verification only).
    """

    def __init__(self, api_key: str, api_secret: str, *, oauth_base_url: str | None = None,
                 timeout: float = 15.0, old_api_secret: str | None = None) -> None:
        if not api_key or not api_secret:
            raise ConfigError("Shopify sign-in needs the app's credentials: set "
                              "SHOPIFY_API_KEY and SHOPIFY_API_SECRET (Partner dashboard or "
                              "`shopify app env show`)")
        self.api_key = api_key
        self.api_secret = api_secret
        self.old_api_secret = old_api_secret
        self.oauth_base_url = oauth_base_url.rstrip("/") if oauth_base_url else None
        self.timeout = timeout

    @property
    def _config(self) -> dict:
        return {"client_id": self.api_key, "client_secret": self.api_secret,
                "old_client_secret": self.old_api_secret}

    def _http(self) -> httpx.Client:
        transport = _RebaseTransport(self.oauth_base_url) if self.oauth_base_url else None
        return httpx.Client(timeout=self.timeout, transport=transport)

    def _origin(self, shop_domain: str) -> str:
        return self.oauth_base_url or f"https://{shop_domain}"

    @staticmethod
    def _failed(what: str, shop: str, result) -> AuthError:
        code = result.log.code
        status = next((h.res.status for h in reversed(result.http_logs or [])), None)
        hint = {"invalid_client": "; check SHOPIFY_API_KEY and SHOPIFY_API_SECRET",
                "network_error": "; Shopify could not be reached"}.get(code, "")
        refused = code in ("invalid_subject_token", "invalid_grant", "refresh_token_expired")
        return AuthError(code, f"the {what} for {shop} failed: {code}"
                         f"{f' (HTTP {status})' if status else ''}{hint}",
                         401 if refused else 502)

    @staticmethod
    def _result(token) -> TokenResult:
        return TokenResult(access_token=token.token, scope=token.scope or "",
                           expires_at=_parse_iso(token.expires),
                           refresh_token=getattr(token, "refresh_token", None) or None,
                           refresh_token_expires_at=_parse_iso(
                               getattr(token, "refresh_token_expires", None)))

    def token_exchange(self, id_token: IdToken) -> TokenResult:
        """Exchange a verified ID token for an expiring offline token (shopifyapp).

        Raises:
            AuthError: Shopify refused it (``invalid_subject_token``: 401) or failed (502).
        """
        details = shopify_app.IdTokenDetails(exchangeable=True, token=id_token.token,
                                             claims=id_token.claims)
        with self._http() as client:
            result = shopify_app.token_exchange("offline", self._config, id_token=details,
                                                expiring=True, http_client=client)
        if not result.ok or result.access_token is None:
            raise self._failed("token exchange", id_token.shop_domain, result)
        return self._result(result.access_token)

    def refresh(self, shop_domain: str, refresh_token: str,
                refresh_token_expires_at: datetime | None = None) -> TokenResult:
        """Trade a refresh token for a new access and refresh token (shopifyapp).

        Raises:
            AuthError: ``invalid_grant`` / ``refresh_token_expired`` (401) or another failure.
        """
        stored = {"shop": shop_subdomain(shop_domain), "refresh_token": refresh_token,
                  # no "expires": we already decided to refresh (see REFRESH_MARGIN), and
                  # shopifyapp would skip a token that still has more than 60 s left
                  "expires": "", "access_mode": "offline", "refresh_token_expires":
                  refresh_token_expires_at.isoformat() if refresh_token_expires_at else ""}
        with self._http() as client:
            result = shopify_app.refresh_access_token(stored, self._config, http_client=client)
        if not result.ok or result.access_token is None:
            raise self._failed("token refresh", shop_domain, result)
        return self._result(result.access_token)

    def client_credentials(self, shop_domain: str) -> TokenResult:
        """Get a token with the client credentials grant (apps of the shop's own org)."""
        with self._http() as client:
            result = shopify_app.exchange_using_client_credentials(
                shop_subdomain(shop_domain), self._config, http_client=client)
        if not result.ok or result.access_token is None:
            raise self._failed("client credentials grant", shop_domain, result)
        return self._result(result.access_token)

    def authorize_url(self, shop_domain: str, scopes: str, redirect_uri: str,
                      state: str) -> str:
        """Shopify's authorize page for an authorization-code install (offline access)."""
        query = httpx.QueryParams({"client_id": self.api_key, "scope": scopes,
                                   "redirect_uri": redirect_uri, "state": state})
        return f"{self._origin(shop_domain)}/admin/oauth/authorize?{query}"

    def exchange_code(self, shop_domain: str, code: str) -> TokenResult:
        """Exchange an authorization code for an expiring offline token (hand-written).

        Raises:
            AuthError: Shopify refused the code (401) or could not be reached (502).
        """
        shop_subdomain(shop_domain)
        form = {"client_id": self.api_key, "client_secret": self.api_secret, "code": code,
                "expiring": "1"}
        try:
            with self._http() as client:
                reply = client.post(f"https://{shop_domain}/admin/oauth/access_token",
                                    data=form, headers={"Accept": "application/json"})
        except httpx.HTTPError as exc:
            raise AuthError("network_error", f"cannot reach Shopify for {shop_domain}: "
                            f"{type(exc).__name__}", 502) from None
        try:
            body = reply.json()
        except ValueError:
            body = {}
        if reply.status_code != 200 or not body.get("access_token"):
            error = body.get("error") or f"HTTP {reply.status_code}"
            status = 401 if reply.status_code in (400, 401, 403) else 502
            raise AuthError(str(error), f"Shopify refused the authorization code for "
                            f"{shop_domain}: {error}", status)
        return TokenResult.from_response(body)

"""A small Shopify Admin GraphQL client with the one retry policy and typed errors.

:class:`AdminClient` POSTs ``{"query", "variables"}`` to
``{admin_url or https://<shop_domain>}/admin/api/<version>/graphql.json`` with the
``X-Shopify-Access-Token`` header and returns the response's ``data``.

Retry policy (all of it lives in :meth:`AdminClient.execute`; one budget of ``max_retries``
retries per call, shared by every kind of retry):

* HTTP 429: wait ``Retry-After`` seconds (exponential backoff when the header is missing or
  not a number), then retry; exhausted -> :class:`ShopifyThrottled`.
* HTTP 5xx, timeouts and connection errors: exponential backoff with equal jitter,
  ``d = min(backoff_cap, backoff_base * 2**attempt)``, sleep uniformly in ``[d/2, d]``;
  exhausted -> :class:`ShopifyServerError`.
* GraphQL error with ``extensions.code == "THROTTLED"``: wait
  ``(requestedQueryCost - currentlyAvailable) / restoreRate`` seconds, read from
  ``extensions.cost`` (Shopify's leaky bucket), then retry; exhausted -> ShopifyThrottled.
* HTTP 401/403 -> :class:`ShopifyAuthError`; any other GraphQL error ->
  :class:`ShopifyGraphQLError`; any other HTTP status -> :class:`ShopifyError`. No retry.

Proactive pacing: the client keeps the last ``throttleStatus`` and, before a call whose
expected cost is known (the ``expected_cost`` argument, else the ``requestedQueryCost`` last
seen for the same document), sleeps ``(expected - available) / restoreRate`` when the bucket,
refilled at ``restoreRate`` since the last response, holds less than that.

Every error carries the response's ``X-Request-Id`` as ``request_id`` (None when no response
arrived), which Shopify support asks for.
"""
from __future__ import annotations

import logging
import random
import time
from typing import Any, Callable

import requests

__all__ = [
    "AdminClient",
    "ShopifyAuthError",
    "ShopifyError",
    "ShopifyGraphQLError",
    "ShopifyServerError",
    "ShopifyThrottled",
]

log = logging.getLogger(__name__)


class ShopifyError(Exception):
    """Base of every Shopify client error.

    Attributes:
        request_id: The ``X-Request-Id`` response header, or None.
        status: The HTTP status code, or None when no response arrived.
    """

    def __init__(self, message: str, *, request_id: str | None = None,
                 status: int | None = None) -> None:
        super().__init__(message)
        self.request_id = request_id
        self.status = status

    def __str__(self) -> str:
        base = super().__str__()
        return f"{base} (request id {self.request_id})" if self.request_id else base


class ShopifyThrottled(ShopifyError):
    """Still rate limited (HTTP 429 or GraphQL THROTTLED) after every retry."""


class ShopifyServerError(ShopifyError):
    """5xx, timeout or connection error after every retry."""


class ShopifyAuthError(ShopifyError):
    """HTTP 401 or 403: the token is missing, invalid, revoked or lacks a scope."""


class ShopifyGraphQLError(ShopifyError):
    """The response carried GraphQL errors other than THROTTLED.

    Attributes:
        errors: The ``errors`` list of the response.
    """

    def __init__(self, message: str, errors: list[dict], **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.errors = errors


class _Retry(Exception):
    """Internal: a retryable failure, the seconds to wait and the error if retries run out."""

    def __init__(self, wait: float, error: ShopifyError) -> None:
        super().__init__(str(error))
        self.wait = wait
        self.error = error


class AdminClient:
    """Send GraphQL documents to one shop's Admin API.

    Args:
        shop_domain: ``<shop>.myshopify.com``.
        token: The Admin API access token.
        admin_url: Base URL replacing ``https://<shop_domain>`` (the sandbox fake, tests).
        api_version: Admin API version in the path.
        session: A ``requests.Session`` to reuse; a new one by default.
        max_retries: Retries per :meth:`execute` call, shared by every retry kind.
        sleep: Called with seconds to wait (injectable for tests).
        timeout: Seconds per HTTP request.
        backoff_base: First backoff step in seconds.
        backoff_cap: Largest backoff step in seconds.
        clock: Monotonic clock for pacing (injectable for tests).
        rng: Returns a float in [0, 1) for jitter (injectable for tests).
    """

    def __init__(self, shop_domain: str, token: str, admin_url: str | None = None,
                 api_version: str = "2026-07", session: requests.Session | None = None,
                 max_retries: int = 5, sleep: Callable[[float], None] = time.sleep,
                 timeout: float = 30, *, backoff_base: float = 1.0,
                 backoff_cap: float = 30.0, clock: Callable[[], float] = time.monotonic,
                 rng: Callable[[], float] = random.random) -> None:
        base = (admin_url or f"https://{shop_domain}").rstrip("/")
        self.shop_domain = shop_domain
        self.api_version = api_version
        self.endpoint = f"{base}/admin/api/{api_version}/graphql.json"
        self.session = session or requests.Session()
        self.max_retries = max_retries
        self.timeout = timeout
        self.backoff_base = backoff_base
        self.backoff_cap = backoff_cap
        self.last_cost: dict | None = None
        self._token = token
        self._sleep = sleep
        self._clock = clock
        self._rng = rng
        self._bucket: dict[str, float] | None = None
        self._costs: dict[str, float] = {}

    # ------------------------------------------------------------------ public
    def execute(self, query: str, variables: dict | None = None,
                expected_cost: float | None = None) -> dict:
        """Run one GraphQL document and return its ``data``.

        Args:
            query: The GraphQL document (normally a value of ``queries.DOCUMENTS``).
            variables: Its variables.
            expected_cost: Requested cost to pace for; defaults to the cost Shopify reported
                for the same document last time.

        Returns:
            The ``data`` object of the response.

        Raises:
            ShopifyAuthError: 401/403.
            ShopifyThrottled: still throttled after ``max_retries`` retries.
            ShopifyServerError: 5xx/timeouts/connection errors after ``max_retries`` retries.
            ShopifyGraphQLError: other GraphQL errors.
            ShopifyError: any other unexpected HTTP status or an unreadable body.
        """
        self._pace(expected_cost if expected_cost is not None else self._costs.get(query))
        body = {"query": query, "variables": variables or {}}
        attempt = 0
        while True:
            try:
                return self._attempt(query, body, attempt)
            except _Retry as retry:
                if attempt >= self.max_retries:
                    raise retry.error from None
                log.warning("shopify %s; retry %d/%d in %.2fs", retry.error, attempt + 1,
                            self.max_retries, retry.wait)
                self._wait(retry.wait)
                attempt += 1

    # ------------------------------------------------------------------ one attempt
    def _attempt(self, query: str, body: dict, attempt: int) -> dict:
        """Send once and return ``data``.

        Raises:
            _Retry: a retryable failure, with the wait and the error to raise when exhausted.
            ShopifyError: a failure that must not be retried.
        """
        headers = {"X-Shopify-Access-Token": self._token, "Content-Type": "application/json",
                   "Accept": "application/json"}
        try:
            resp = self.session.post(self.endpoint, json=body, headers=headers,
                                     timeout=self.timeout)
        except (requests.Timeout, requests.ConnectionError) as exc:
            raise _Retry(self._backoff(attempt), ShopifyServerError(
                f"{type(exc).__name__}: {exc}")) from None
        rid = resp.headers.get("X-Request-Id")
        status = resp.status_code
        if status in (401, 403):
            raise ShopifyAuthError(f"HTTP {status}: {resp.text[:200]}", request_id=rid,
                                   status=status)
        if status == 429:
            raise _Retry(self._retry_after(resp, attempt), ShopifyThrottled(
                "HTTP 429 Too Many Requests", request_id=rid, status=status))
        if status >= 500:
            raise _Retry(self._backoff(attempt), ShopifyServerError(
                f"HTTP {status}: {resp.text[:200]}", request_id=rid, status=status))
        if status != 200:
            raise ShopifyError(f"HTTP {status}: {resp.text[:200]}", request_id=rid,
                               status=status)
        try:
            payload = resp.json()
        except ValueError as exc:
            raise ShopifyError(f"response is not JSON: {exc}", request_id=rid,
                               status=status) from exc
        cost = (payload.get("extensions") or {}).get("cost")
        if cost:
            self._remember(query, cost)
        errors = payload.get("errors") or []
        if any((e.get("extensions") or {}).get("code") == "THROTTLED" for e in errors):
            raise _Retry(self._throttle_wait(cost, attempt), ShopifyThrottled(
                "GraphQL THROTTLED", request_id=rid, status=status))
        if errors:
            messages = "; ".join(str(e.get("message", e)) for e in errors)
            raise ShopifyGraphQLError(messages, errors, request_id=rid, status=status)
        return payload.get("data") or {}

    # ------------------------------------------------------------------ waits
    def _backoff(self, attempt: int) -> float:
        """Equal-jitter exponential backoff: uniform in [d/2, d], d capped."""
        step = min(self.backoff_cap, self.backoff_base * 2 ** attempt)
        return step / 2 + self._rng() * step / 2

    def _retry_after(self, resp: requests.Response, attempt: int) -> float:
        """Seconds from a numeric ``Retry-After`` header, else the backoff."""
        try:
            return max(0.0, float(resp.headers["Retry-After"]))
        except (KeyError, ValueError):
            return self._backoff(attempt)

    def _throttle_wait(self, cost: dict | None, attempt: int) -> float:
        """``(requestedQueryCost - currentlyAvailable) / restoreRate``, else the backoff."""
        try:
            status = cost["throttleStatus"]
            deficit = float(cost["requestedQueryCost"]) - float(status["currentlyAvailable"])
            return max(0.0, deficit / float(status["restoreRate"]))
        except (TypeError, KeyError, ValueError, ZeroDivisionError):
            return self._backoff(attempt)

    def _wait(self, seconds: float) -> None:
        """Sleep and credit the bucket with what it refilled meanwhile."""
        self._refill()
        if seconds > 0:
            self._sleep(seconds)
        if self._bucket is not None:
            b = self._bucket
            b["available"] = min(b["maximum"], b["available"] + seconds * b["rate"])
            b["at"] = self._clock()

    # ------------------------------------------------------------------ pacing
    def _remember(self, query: str, cost: dict) -> None:
        """Keep the bucket state and this document's requested cost."""
        self.last_cost = cost
        if cost.get("requestedQueryCost") is not None:
            self._costs[query] = float(cost["requestedQueryCost"])
        status = cost.get("throttleStatus") or {}
        try:
            self._bucket = {
                "available": float(status["currentlyAvailable"]),
                "rate": float(status["restoreRate"]),
                "maximum": float(status["maximumAvailable"]),
                "at": self._clock(),
            }
        except (KeyError, TypeError, ValueError):
            pass

    def _refill(self) -> None:
        """Fold the time since the last update into the bucket estimate."""
        b = self._bucket
        if b is None:
            return
        now = self._clock()
        b["available"] = min(b["maximum"], b["available"] + (now - b["at"]) * b["rate"])
        b["at"] = now

    def _pace(self, expected: float | None) -> None:
        """Sleep until the estimated bucket holds ``expected`` points."""
        if expected is None or self._bucket is None or self._bucket["rate"] <= 0:
            return
        self._refill()
        deficit = min(expected, self._bucket["maximum"]) - self._bucket["available"]
        if deficit > 0:
            wait = deficit / self._bucket["rate"]
            log.info("shopify pacing: %.2fs for %.0f points", wait, expected)
            self._wait(wait)

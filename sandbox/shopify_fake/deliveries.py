"""Signed webhook deliveries of the fake, with Shopify's headers and retries.

:class:`WebhookDispatcher` takes ``(topic, payload)`` events from the store's change hooks
and, for every subscription of that topic (``webhookSubscriptionCreate``, or
:meth:`WebhookDispatcher.subscribe`), POSTs the JSON body to the subscription's URI with:

* ``X-Shopify-Topic`` (``orders/create``), ``X-Shopify-Shop-Domain``,
  ``X-Shopify-API-Version`` (2026-07);
* ``X-Shopify-Hmac-Sha256`` = base64(HMAC-SHA256(app secret, raw body));
* ``X-Shopify-Event-Id`` (one per event, the same on every retry and for every
  subscription), ``X-Shopify-Webhook-Id`` (one per delivery, kept across retries),
  ``X-Shopify-Triggered-At`` (the store's clock when the change happened).

A delivery that gets no 2xx (an error status, a refused connection or a timeout) is retried
like Shopify does - Shopify retries 8 times over 4 hours with growing delays; the fake tries
``max_attempts`` times in all, waiting ``retry_base * 2**n`` seconds before retry ``n + 1``
- and each failed attempt and each final failure is recorded (:attr:`deliveries`,
:attr:`failures`). Deliveries run on one background thread, in event order, so the caller
(a test hook under the store lock) never waits for the network; :meth:`flush` waits until
everything queued so far is delivered or given up.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import queue
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Callable

__all__ = ["WebhookDispatcher", "Delivery", "TOPIC_ENUMS", "topic_header"]

log = logging.getLogger(__name__)

#: Webhook topics the fake sends, as ``X-Shopify-Topic`` values.
TOPICS = ("orders/create", "orders/updated", "orders/cancelled", "refunds/create",
          "inventory_levels/update", "inventory_items/update", "products/update",
          "customers/create", "customers/update", "bulk_operations/finish")
#: GraphQL ``WebhookSubscriptionTopic`` enum value -> header topic.
TOPIC_ENUMS = {t.replace("/", "_").upper(): t for t in TOPICS}


def topic_header(topic: str) -> str:
    """``ORDERS_CREATE`` or ``orders/create`` -> ``orders/create``."""
    return TOPIC_ENUMS.get(topic, topic)


@dataclass
class Delivery:
    """One event to one subscription: its outcome once finished."""

    topic: str
    uri: str
    event_id: str
    webhook_id: str
    attempts: int = 0
    status: int | None = None
    ok: bool = False
    errors: list[str] = field(default_factory=list)


class WebhookDispatcher:
    """Queue, sign and deliver webhook events (see the module docstring).

    Args:
        store: The fake store (its ``webhooks`` registry holds the subscriptions).
        shop_domain: ``X-Shopify-Shop-Domain``.
        secret: The app's client secret; without one nothing is sent (deliveries are
            recorded as failed: Shopify always signs).
        max_attempts: Tries per delivery, first one included.
        retry_base: Seconds before the first retry (doubling after each).
        timeout: Seconds per HTTP request.
        sleep: Waits between retries (inject to make tests fast).
        post: ``post(uri, body, headers, timeout) -> status``; default uses requests.
    """

    def __init__(self, store, shop_domain: str, secret: str | None, *, max_attempts: int = 4,
                 retry_base: float = 1.0, timeout: float = 5.0,
                 sleep: Callable[[float], None] = time.sleep,
                 post: Callable[[str, bytes, dict, float], int] | None = None) -> None:
        if max_attempts < 1:
            raise ValueError(f"max_attempts must be at least 1, not {max_attempts}")
        self.store, self.shop_domain, self.secret = store, shop_domain, secret
        self.max_attempts, self.retry_base, self.timeout = max_attempts, retry_base, timeout
        self.sleep, self._post = sleep, post or _requests_post
        self.deliveries: list[Delivery] = []
        self.failures: list[Delivery] = []
        self._queue: queue.Queue = queue.Queue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    # ------------------------------------------------------------------ subscriptions
    def subscribe(self, topic: str, uri: str) -> int:
        """Subscribe ``uri`` to ``topic`` (header or enum form) without GraphQL; returns the
        subscription id (an existing identical subscription is reused)."""
        enum = topic_header(topic).replace("/", "_").upper()
        if enum not in TOPIC_ENUMS:
            raise ValueError(f"unknown webhook topic {topic!r}; known: {sorted(TOPICS)}")
        with self.store.lock:
            for ident, sub in self.store.webhooks.items():
                if sub["topic"] == enum and sub["uri"] == uri:
                    return ident
            ident = self.store.new_id("webhook")
            self.store.webhooks[ident] = {"id": ident, "topic": enum, "uri": uri,
                                          "format": "JSON", "created_at": self.store.now()}
            return ident

    def _targets(self, topic: str) -> list[str]:
        with self.store.lock:
            return [s["uri"] for s in self.store.webhooks.values()
                    if topic_header(s["topic"]) == topic and str(s["uri"]).startswith("http")]

    # ------------------------------------------------------------------ sending
    def emit(self, topic: str, payload: dict) -> None:
        """Queue one event for every subscription of ``topic`` (no-op without any)."""
        uris = self._targets(topic)
        if not uris:
            return
        body = json.dumps(payload, separators=(",", ":")).encode("utf-8")
        triggered = self.store.now().isoformat()
        event_id = str(uuid.uuid4())
        for uri in uris:
            self._queue.put((Delivery(topic, uri, event_id, str(uuid.uuid4())), body,
                             triggered))
        self._ensure_thread()

    def _ensure_thread(self) -> None:
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._work, daemon=True,
                                                name="shopify-fake-webhooks")
                self._thread.start()

    def flush(self, timeout: float = 30.0) -> bool:
        """Wait until every queued delivery finished; False if ``timeout`` passed first."""
        end = time.monotonic() + timeout
        while self._queue.unfinished_tasks:
            if time.monotonic() >= end:
                return False
            time.sleep(0.01)
        return True

    def _work(self) -> None:
        while True:
            try:
                item = self._queue.get(timeout=1.0)
            except queue.Empty:
                return
            try:
                self._deliver(*item)
            except Exception:  # noqa: BLE001 - the worker must survive any one delivery
                log.exception("webhook delivery crashed")
            finally:
                self._queue.task_done()

    def headers(self, delivery: Delivery, body: bytes, triggered: str) -> dict:
        """Shopify's delivery headers for ``body``."""
        out = {"Content-Type": "application/json", "X-Shopify-Topic": delivery.topic,
               "X-Shopify-Shop-Domain": self.shop_domain, "X-Shopify-API-Version": "2026-07",
               "X-Shopify-Event-Id": delivery.event_id,
               "X-Shopify-Webhook-Id": delivery.webhook_id,
               "X-Shopify-Triggered-At": triggered}
        if self.secret:
            digest = hmac.new(self.secret.encode("utf-8"), body, hashlib.sha256).digest()
            out["X-Shopify-Hmac-Sha256"] = base64.b64encode(digest).decode("ascii")
        return out

    def _deliver(self, delivery: Delivery, body: bytes, triggered: str) -> None:
        headers = self.headers(delivery, body, triggered)
        for attempt in range(self.max_attempts):
            if attempt:
                self.sleep(self.retry_base * 2 ** (attempt - 1))
            delivery.attempts = attempt + 1
            try:
                delivery.status = self._post(delivery.uri, body, headers, self.timeout)
                problem = None if 200 <= delivery.status < 300 else f"HTTP {delivery.status}"
            except Exception as exc:  # noqa: BLE001 - refused, reset, timeout: retry
                delivery.status, problem = None, f"{type(exc).__name__}: {exc}"
            if problem is None:
                delivery.ok = True
                break
            delivery.errors.append(f"attempt {attempt + 1}: {problem}")
            log.warning("webhook %s to %s: %s", delivery.topic, delivery.uri, problem)
        with self._lock:
            self.deliveries.append(delivery)
            if not delivery.ok:
                self.failures.append(delivery)


def _requests_post(uri: str, body: bytes, headers: dict, timeout: float) -> int:
    import requests

    return requests.post(uri, data=body, headers=headers, timeout=timeout).status_code

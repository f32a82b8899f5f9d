"""Shopify webhook receiver: verify, check, persist to the inbox, answer fast.

One endpoint, ``POST /webhooks/shopify``, takes every topic (``X-Shopify-Topic``) for every
shop (``X-Shopify-Shop-Domain``). The request does no computing: it stores one
:class:`core.storage.WebhookEvent` row and answers; :func:`connector.jobs.inbox.drain_inbox`
does the work later.

Order of work and answers:

1. Body size: a declared ``Content-Length`` over the cap (``SHOPIFY_WEBHOOK_MAX_BYTES``,
   default 2 MiB) is refused with 413 before anything is read; a body without a length
   (``wsgi.input_terminated``) is read only up to the cap plus one byte.
2. Signature: ``X-Shopify-Hmac-Sha256`` must equal base64(HMAC-SHA256(app secret, raw
   body)), compared with :func:`hmac.compare_digest`; missing or wrong -> 401. The secret is
   ``app.config["SHOPIFY_API_SECRET"]``; when it is not configured the answer is 503 (our
   misconfiguration: Shopify retries and nothing is lost once it is set).
3. Topic: a topic restock does not subscribe to is logged and answered 200, not stored.
4. JSON: a body that is not a UTF-8 JSON object (``NaN``/``Infinity`` included) -> 400.
5. Schema: Shopify's JSON Schema for the topic (``webhooks/schemas/``, from npm
   ``shopify-webhook-schemas``, API 2026-07) is checked by the inbox drain, off the request
   path (several ms for an order), through :func:`schema_errors`. A payload that fails is
   **processed like any other**, with the findings kept in ``error``. Why not refuse it: the
   published schemas are generated from documentation and are stricter than what Shopify
   sends (its own example payloads fail them for ``products/update``, ``image`` null, and
   ``inventory_items/update``, ``cost`` null; the orders schema allows no refunds and no
   guest orders). Refusing (4xx) would make Shopify resend the same bytes for hours.
6. Persist: source ``shopify``, ``event_id`` from ``X-Shopify-Event-Id`` (else
   ``X-Shopify-Webhook-Id``, else a hash of topic, shop and body), topic, shop domain,
   ``X-Shopify-Triggered-At``, the raw payload text, status ``pending``. The row goes through
   the group-commit writer (:mod:`webhooks.inbox_writer`): the request waits until the
   transaction holding it has committed, then answers 200 ``accepted``; an event id already
   in the inbox is not stored again and is answered 200 ``duplicate``.

No input yields a 500: a database that cannot be reached answers 503 (Shopify retries); any
other unexpected error is logged and answered 200 so a bad payload is never retried forever.

The endpoint is a plain WSGI handler put in front of the Flask app when the blueprint is
registered (it needs no session, cookie, template or CSRF machinery: the HMAC is its proof
of origin), which saves Flask's per-request work on the one path Shopify drives at volume.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
from functools import lru_cache
from importlib import resources

from flask import Blueprint
from sqlalchemy.exc import SQLAlchemyError

from connector.adapters.shopify.webhook_transform import parse_time

from .inbox_writer import WriterTimeout, writer_for

__all__ = ["shopify_webhooks", "WebhookEndpoint", "TOPICS", "MAX_BODY_BYTES", "PATH", "sign",
           "schema_errors"]

log = logging.getLogger(__name__)

#: Topics restock subscribes to (each has a schema in ``webhooks/schemas``).
TOPICS = ("orders/create", "orders/updated", "orders/cancelled", "refunds/create",
          "inventory_levels/update", "inventory_items/update", "products/update",
          "customers/create", "customers/update", "bulk_operations/finish", "app/uninstalled",
          "customers/data_request", "customers/redact", "shop/redact")
_TOPICS = frozenset(TOPICS)
#: Default body cap; override with ``app.config["SHOPIFY_WEBHOOK_MAX_BYTES"]``.
MAX_BODY_BYTES = 2 * 1024 * 1024
#: Where Shopify posts (the subscriptions' callback path).
PATH = "/webhooks/shopify"
_MAX_ERRORS = 5


def sign(secret: str, body: bytes) -> str:
    """The ``X-Shopify-Hmac-Sha256`` value of ``body``: base64(HMAC-SHA256(secret, body))."""
    digest = hmac.new(secret.encode("utf-8"), body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def _signature_ok(secret: str, body: bytes, header: str | None) -> bool:
    if not header:
        return False
    try:
        sent = base64.b64decode(header.strip().encode("ascii"), validate=True)
    except (ValueError, UnicodeEncodeError):
        return False
    expected = hmac.new(secret.encode("utf-8"), body, hashlib.sha256).digest()
    return hmac.compare_digest(expected, sent)


@lru_cache(maxsize=None)
def _validator(topic: str):
    from jsonschema.validators import validator_for

    name = topic.replace("/", "_") + ".json"
    path = resources.files("webhooks").joinpath("schemas").joinpath(name)
    schema = json.loads(path.read_text("utf-8"))
    cls = validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)


def schema_errors(topic: str, payload) -> list[str]:
    """Up to five ``path: message`` strings saying how ``payload`` breaks the topic's schema."""
    errors = []
    for err in _validator(topic).iter_errors(payload):
        path = "/".join(str(p) for p in err.absolute_path) or "(root)"
        errors.append(f"{path}: {err.message[:200]}")
        if len(errors) >= _MAX_ERRORS:
            break
    return errors


# ------------------------------------------------------------------ request helpers
class _BadRequest(Exception):
    """The request itself is unreadable (answered 400)."""


def _read_body(environ: dict, limit: int) -> bytes | None:
    """The raw body, or ``None`` when it is longer than ``limit`` bytes."""
    declared = environ.get("CONTENT_LENGTH") or ""
    stream = environ["wsgi.input"]
    if declared.strip():
        try:
            length = int(declared)
        except ValueError:
            raise _BadRequest("Content-Length is not a number") from None
        if length < 0:
            raise _BadRequest("Content-Length is negative")
        if length > limit:
            return None
        body = stream.read(length) if length else b""
        if len(body) != length:
            raise _BadRequest("the body is shorter than its Content-Length")
        return body
    if not environ.get("wsgi.input_terminated"):
        return b""  # no length and no end marker: the server gives no body (as werkzeug)
    chunks, size = [], 0
    while size <= limit:
        chunk = stream.read(min(65536, limit + 1 - size))
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    return None if size > limit else b"".join(chunks)


def _reject_constant(name: str):
    raise ValueError(f"{name} is not JSON")


def _header(environ: dict, key: str, max_len: int) -> str | None:
    """A request header (``key`` as in the WSGI environ), NULs removed, trimmed, capped."""
    value = environ.get(key)
    if value is None:
        return None
    value = value.replace("\x00", "").strip()
    return value[:max_len] or None


def _event_id(environ: dict, topic: str, shop: str | None, body: bytes) -> str:
    value = (_header(environ, "HTTP_X_SHOPIFY_EVENT_ID", 1024)
             or _header(environ, "HTTP_X_SHOPIFY_WEBHOOK_ID", 1024))
    if value is None:
        digest = hashlib.sha256(f"{topic}\n{shop}\n".encode() + body).hexdigest()
        return f"sha256:{digest}"
    if len(value) > 255:
        return "sha256:" + hashlib.sha256(value.encode("utf-8", "replace")).hexdigest()
    return value


# ------------------------------------------------------------------ the endpoint
_REASONS = {200: "200 OK", 400: "400 Bad Request", 401: "401 Unauthorized",
            405: "405 Method Not Allowed", 413: "413 Payload Too Large",
            503: "503 Service Unavailable"}


def receive(app, environ: dict) -> tuple[int, str]:
    """Verify, check and store one Shopify webhook; ``(HTTP status, answer word)``."""
    try:
        return _receive(app, environ)
    except _BadRequest as exc:
        log.warning("shopify webhook: unreadable request: %s", exc)
        return 400, "malformed"
    except (SQLAlchemyError, WriterTimeout):
        log.exception("shopify webhook: database unavailable, asking Shopify to retry")
        return 503, "unavailable"
    except Exception:  # never a 500: log and acknowledge
        log.exception("shopify webhook: unexpected error; acknowledged without storing")
        return 200, "error"


def _receive(app, environ: dict) -> tuple[int, str]:
    config = app.config
    limit = int(config.get("SHOPIFY_WEBHOOK_MAX_BYTES", MAX_BODY_BYTES))
    body = _read_body(environ, limit)
    if body is None:
        log.warning("shopify webhook: body over %d bytes refused", limit)
        return 413, "too_large"
    secret = config.get("SHOPIFY_API_SECRET")
    if not secret:
        log.error("shopify webhook: SHOPIFY_API_SECRET is not configured; cannot verify")
        return 503, "not_configured"
    if not _signature_ok(secret, body, environ.get("HTTP_X_SHOPIFY_HMAC_SHA256")):
        log.warning("shopify webhook: missing or wrong HMAC signature")
        return 401, "unauthorized"
    topic = _header(environ, "HTTP_X_SHOPIFY_TOPIC", 128) or ""
    shop = _header(environ, "HTTP_X_SHOPIFY_SHOP_DOMAIN", 255)
    shop = shop.lower() if shop else None
    if topic not in _TOPICS:
        log.info("shopify webhook: topic %r is not handled; acknowledged", topic[:64])
        return 200, "ignored"
    try:
        text = body.decode("utf-8")
        payload = json.loads(text, parse_constant=_reject_constant)
    except (ValueError, RecursionError):
        log.warning("shopify webhook: %s body is not JSON", topic)
        return 400, "malformed"
    if not isinstance(payload, dict):
        log.warning("shopify webhook: %s body is not a JSON object", topic)
        return 400, "malformed"
    row = {"source": "shopify", "event_id": _event_id(environ, topic, shop, body),
           "topic": topic, "shop_domain": shop,
           "triggered_at": parse_time(environ.get("HTTP_X_SHOPIFY_TRIGGERED_AT")),
           "payload": text, "status": "pending"}
    sessions = app.extensions["restock"].sessions
    return 200, writer_for(sessions).submit(row)  # returns once the row is committed


class WebhookEndpoint:
    """WSGI middleware: ``POST /webhooks/shopify`` here, every other request to ``inner``."""

    def __init__(self, app, inner):
        self.app = app
        self.inner = inner

    def __call__(self, environ, start_response):
        if environ.get("PATH_INFO") != PATH:
            return self.inner(environ, start_response)
        if environ.get("REQUEST_METHOD") != "POST":
            code, word, extra = 405, "method_not_allowed", [("Allow", "POST")]
        else:
            (code, word), extra = receive(self.app, environ), []
        data = b'{"status":"%s"}\n' % word.encode()
        start_response(_REASONS[code], [("Content-Type", "application/json"),
                                        ("Content-Length", str(len(data)))] + extra)
        return [data]


shopify_webhooks = Blueprint("shopify_webhooks", __name__)


@shopify_webhooks.record_once
def _mount(state) -> None:
    """Put :class:`WebhookEndpoint` in front of the app's WSGI callable (once per app)."""
    state.app.wsgi_app = WebhookEndpoint(state.app, state.app.wsgi_app)

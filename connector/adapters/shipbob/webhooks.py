"""Verify and parse ShipBob webhook deliveries (API 2026-01 subscriptions).

The description defines the subscription (``POST /2026-01/webhook``: ``topics``, ``url`` and a
``secret`` "used to sign the webhook payload") and the topics (``Webhooks.Topics``), but not
the signature. ShipBob's developer documentation ("Webhooks", signature verification) defines
it as the Standard Webhooks scheme:

* headers ``webhook-id`` (unique per message, stable across retries), ``webhook-timestamp``
  (Unix seconds), ``webhook-signature`` (space-separated ``v1,<base64 signature>`` entries)
  and ``x-webhook-topic`` (``order.shipped`` ...);
* signed content ``f"{webhook_id}.{webhook_timestamp}.{raw_body}"``;
* ``signature = base64(HMAC-SHA256(key, signed_content))`` where ``key`` is the base64-decoded
  part of the secret after ``whsec_``.

:func:`verify_signature` recomputes it over the *raw* body, compares in constant time against
every ``v1`` entry, and refuses timestamps more than ``tolerance`` seconds (5 minutes, the
Standard Webhooks recommendation) from now, so a captured delivery cannot be replayed later.
Deduplicate on :attr:`ShipBobWebhookEvent.webhook_id`.

No topic carries inventory or receiving data: poll those (see :mod:`.adapter`).
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Mapping

from .openapi import load_description

__all__ = [
    "DEFAULT_TOLERANCE",
    "ID_HEADER",
    "SIGNATURE_HEADER",
    "TIMESTAMP_HEADER",
    "TOPIC_HEADER",
    "ShipBobWebhookEvent",
    "WebhookError",
    "WebhookPayloadError",
    "WebhookSignatureError",
    "parse_webhook",
    "sign",
    "verify_signature",
    "webhook_topics",
]

ID_HEADER = "webhook-id"
TIMESTAMP_HEADER = "webhook-timestamp"
SIGNATURE_HEADER = "webhook-signature"
TOPIC_HEADER = "x-webhook-topic"
DEFAULT_TOLERANCE = 300
_FAMILIES = {"order": "shipment", "return": "return", "billing": "billing"}


class WebhookError(ValueError):
    """A delivery that must not be processed."""


class WebhookSignatureError(WebhookError):
    """Missing headers, a bad signature, or a timestamp outside the tolerance: answer 401."""


class WebhookPayloadError(WebhookError):
    """Correctly signed, but the body is not a JSON object or the topic header is missing."""


@dataclass(frozen=True)
class ShipBobWebhookEvent:
    """One verified delivery.

    Attributes:
        webhook_id: ``webhook-id``: the deduplication key.
        topic: ``x-webhook-topic`` (``order.shipped``, ``return.completed`` ...).
        timestamp: ``webhook-timestamp`` as an aware UTC datetime.
        payload: The parsed JSON body.
        known: Whether the topic is in the description's ``Webhooks.Topics``.
        kind: ``shipment`` (``order.*``), ``return``, ``billing`` or ``unknown``.
        order_id, shipment_id, reference_id, status: Read from the payload when it has them
            under those names (None otherwise); ``object_id`` is its ``id``.
    """

    webhook_id: str
    topic: str
    timestamp: datetime
    payload: dict = field(repr=False)
    known: bool
    kind: str
    object_id: Any = None
    order_id: Any = None
    shipment_id: Any = None
    reference_id: str | None = None
    status: str | None = None


def webhook_topics() -> tuple[str, ...]:
    """The topics ``Webhooks.Topics`` lists in the packaged description."""
    return tuple(load_description().schema("Webhooks.Topics")["enum"])


def _key(secret: str) -> bytes:
    """The HMAC key: base64-decoded after ``whsec_``; a secret without the prefix is tried as
    base64 first, then used as its UTF-8 bytes."""
    text = secret[len("whsec_"):] if secret.startswith("whsec_") else secret
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        if secret.startswith("whsec_"):
            raise WebhookSignatureError("the webhook secret after whsec_ is not base64") from None
        return secret.encode("utf-8")


def sign(secret: str, webhook_id: str, timestamp: int | str, body: bytes) -> str:
    """The ``webhook-signature`` value (``v1,<base64>``) for one delivery."""
    content = f"{webhook_id}.{timestamp}.".encode() + body
    digest = hmac.new(_key(secret), content, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode("ascii")


def _header(headers: Mapping[str, str], name: str) -> str | None:
    value = headers.get(name)
    if value is None:
        value = next((v for k, v in headers.items() if k.lower() == name), None)
    return value


def verify_signature(secret: str, headers: Mapping[str, str], body: bytes, *,
                     tolerance: int = DEFAULT_TOLERANCE, now: float | None = None) -> None:
    """Check a delivery's signature and timestamp.

    Args:
        secret: The subscription's secret (``whsec_...``).
        headers: The request headers (any case).
        body: The raw request body, exactly as received.
        tolerance: Largest accepted distance, in seconds, between the timestamp and now.
        now: Unix time to compare with (injectable for tests).

    Raises:
        WebhookSignatureError: naming what failed.
    """
    if not secret:
        raise WebhookSignatureError("no webhook secret configured")
    msg_id = _header(headers, ID_HEADER)
    stamp = _header(headers, TIMESTAMP_HEADER)
    given = _header(headers, SIGNATURE_HEADER)
    missing = [n for n, v in ((ID_HEADER, msg_id), (TIMESTAMP_HEADER, stamp),
                              (SIGNATURE_HEADER, given)) if not v]
    if missing:
        raise WebhookSignatureError(f"missing header {', '.join(missing)}")
    try:
        sent_at = int(stamp)
    except ValueError:
        raise WebhookSignatureError(f"{TIMESTAMP_HEADER} is not Unix seconds: {stamp!r}") from None
    current = time.time() if now is None else now
    if abs(current - sent_at) > tolerance:
        raise WebhookSignatureError(f"{TIMESTAMP_HEADER} {sent_at} is more than {tolerance}s "
                                    f"from now")
    expected = sign(secret, msg_id, stamp, body).split(",", 1)[1].encode()
    for entry in given.split():
        version, _, value = entry.partition(",")
        if version == "v1" and hmac.compare_digest(value.encode(), expected):
            return
    raise WebhookSignatureError("no webhook-signature entry matches")


def parse_webhook(secret: str, headers: Mapping[str, str], body: bytes, *,
                  tolerance: int = DEFAULT_TOLERANCE,
                  now: float | None = None) -> ShipBobWebhookEvent:
    """Verify a delivery, then parse it into a :class:`ShipBobWebhookEvent`.

    A topic the description does not list is still returned (``known=False``) so the caller
    can log it and answer 2xx.

    Raises:
        WebhookSignatureError: as :func:`verify_signature` (checked before the body is read).
        WebhookPayloadError: no topic header, or the body is not a JSON object.
    """
    verify_signature(secret, headers, body, tolerance=tolerance, now=now)
    topic = _header(headers, TOPIC_HEADER)
    if not topic:
        raise WebhookPayloadError(f"missing header {TOPIC_HEADER}")
    try:
        payload = json.loads(body)
    except ValueError as exc:
        raise WebhookPayloadError(f"body is not JSON: {exc}") from None
    if not isinstance(payload, dict):
        raise WebhookPayloadError("body is not a JSON object")
    status = payload.get("status")
    return ShipBobWebhookEvent(
        webhook_id=_header(headers, ID_HEADER),
        topic=topic,
        timestamp=datetime.fromtimestamp(int(_header(headers, TIMESTAMP_HEADER)), timezone.utc),
        payload=payload,
        known=topic in webhook_topics(),
        kind=_FAMILIES.get(topic.split(".", 1)[0], "unknown"),
        object_id=payload.get("id"),
        order_id=payload.get("order_id"),
        shipment_id=payload.get("shipment_id"),
        reference_id=payload.get("reference_id"),
        status=status if isinstance(status, str) else None,
    )

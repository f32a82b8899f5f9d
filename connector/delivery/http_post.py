"""The ``http`` channel: the order as signed JSON, POSTed to the supplier's endpoint.

Supplier settings (``Supplier.delivery``)::

    {"method": "http", "url": "https://supplier.example/orders",
     "secret_env": "ACME_PO_SECRET",          # or "secret": "..." (stored in the database)
     "timeout": 10, "headers": {"X-Account": "123"}}

Request: ``POST url`` with the JSON body of
:meth:`~connector.delivery.document.OrderDocument.to_json` (keys sorted, no spaces, UTF-8)
and the headers

* ``Content-Type: application/json``
* ``Idempotency-Key: <the order's idempotency key>`` (the same on every attempt),
* ``X-Restock-Signature: sha256=<hex HMAC-SHA256(secret, body)>``,
* ``X-Restock-Order: <order number>``.

Any 2xx reply is success; the reply's ``id`` (JSON) or ``Location`` header is kept as the
remote reference. 4xx replies other than 408, 409, 425 and 429 are permanent refusals;
everything else (5xx, timeouts, connection errors) is retried later.
"""
from __future__ import annotations

import hashlib
import hmac

import requests

from .channels import ChannelCall, ChannelNotConfigured, DeliveryError
from .document import payload_bytes

__all__ = ["sign", "verify", "send_http", "SIGNATURE_HEADER"]

SIGNATURE_HEADER = "X-Restock-Signature"
_RETRYABLE_4XX = {408, 409, 425, 429}


def sign(secret: str, body: bytes) -> str:
    """``sha256=`` + hex HMAC-SHA256 of ``body`` keyed with ``secret`` (UTF-8)."""
    return "sha256=" + hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


def verify(secret: str, body: bytes, header: str | None) -> bool:
    """Whether ``header`` is the signature of ``body`` (constant-time comparison)."""
    return bool(header) and hmac.compare_digest(sign(secret, body), header)


def _secret(call: ChannelCall) -> str:
    cfg = call.config
    if cfg.get("secret"):
        return str(cfg["secret"])
    name = cfg.get("secret_env")
    if name and call.settings.environ.get(name):
        return call.settings.environ[name]
    where = f"environment variable {name}" if name else "delivery.secret_env (or secret)"
    raise ChannelNotConfigured(f"HTTP delivery to supplier {call.order.supplier_name!r} has no "
                               f"signing secret: set {where}")


def send_http(call: ChannelCall) -> str | None:
    """POST the order; returns the remote reference (or None)."""
    url = call.config.get("url")
    if not url:
        raise ChannelNotConfigured(f"HTTP delivery to supplier {call.order.supplier_name!r} "
                                   "has no url: set delivery.url")
    body = payload_bytes(call.order)
    headers = dict(call.config.get("headers") or {})
    headers.update({"Content-Type": "application/json",
                    "Idempotency-Key": call.order.idempotency_key,
                    SIGNATURE_HEADER: sign(_secret(call), body),
                    "X-Restock-Order": call.order.number})
    timeout = float(call.config.get("timeout") or call.settings.timeout)
    try:
        resp = requests.post(url, data=body, headers=headers, timeout=timeout)
    except requests.Timeout:
        raise DeliveryError(f"HTTP POST {url} timed out after {timeout:g} s") from None
    except requests.RequestException as exc:
        raise DeliveryError(f"HTTP POST {url} failed: {type(exc).__name__}: {exc}") from None
    if 200 <= resp.status_code < 300:
        try:
            ref = resp.json().get("id") if resp.content else None
        except (ValueError, AttributeError):
            ref = None
        return str(ref) if ref is not None else resp.headers.get("Location")
    text = resp.text[:200].strip()
    permanent = 400 <= resp.status_code < 500 and resp.status_code not in _RETRYABLE_4XX
    raise DeliveryError(f"HTTP POST {url} answered {resp.status_code}"
                        + (f": {text}" if text else ""), permanent=permanent)

"""ShipBob (REST API 2026-01) adapter: the WMS that holds the stock and receives the POs.

Submodules:
    openapi: the packaged OpenAPI 3.1 description, :func:`validate_request`,
        :func:`validate_response` (JSON Schema 2020-12 via ``jsonschema``).
    formats: the ``format`` checks used by that validation.
    errors: :class:`ShipBobError` and its subclasses.
    client: :class:`ShipBobClient`: bearer auth, the one retry policy, every request and
        response validated.
    adapter: :func:`pull_inventory`, :func:`push_purchase_order`, :func:`poll_receiving`.
    webhooks: :func:`parse_webhook` / :func:`verify_signature` (Standard Webhooks HMAC).

Nothing is imported eagerly here, so importing the package loads no description.
"""
from __future__ import annotations

__all__ = ["adapter", "client", "errors", "formats", "openapi", "webhooks"]

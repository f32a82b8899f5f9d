"""Shopify Admin GraphQL adapter: schema validation, the documents restock sends, a client.

Submodules:
    schema: the real Admin 2026-07 schema, :func:`validate_document`, :func:`estimate_cost`.
    queries: every GraphQL document, collected in ``DOCUMENTS``.
    client: :class:`AdminClient` with the one retry policy and typed errors.

Nothing is imported eagerly here, so importing the package builds no schema.
"""
from __future__ import annotations

__all__ = ["client", "queries", "schema"]

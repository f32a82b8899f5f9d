"""Tryton ERP adapter: JSON-RPC client, pull/push mapping and the sync into storage.

Submodules:
    client: :class:`TrytonClient` (JSON-RPC over ``requests``) and its typed errors.
    adapter: :func:`pull` (catalog, warehouses, stock, suppliers), :func:`push_purchase`,
        :func:`pull_receipts`.
    sync: :func:`erp_sync` (pull -> storage in one transaction), sending purchase orders and
        applying receipts.

Importing the package imports nothing heavy; import the submodules you need.
"""
from __future__ import annotations

__all__ = ["client", "adapter", "sync"]

"""The Shopify sync streams, declared as data, and the bulk JSONL reassembly they share.

One :class:`Stream` per synced entity (the singer / dlt pattern): its name (the bookmark key
is ``shopify:<name>`` in ``sync_state``), the :data:`~.queries.DOCUMENTS` key of its paged
document and of its bulk backfill body, the cursor field and the primary key.

Modes:

* ``incremental`` - pages filtered ``updated_at:>'<bookmark - overlap>'`` sorted by
  ``UPDATED_AT``; the bookmark is the largest ``updatedAt`` loaded, never past the sync start.
* ``full`` - small, unfiltered entities read whole every sync (locations).
* ``snapshot`` - current state read whole every sync and stored as of the sync day
  (inventory levels: a daily snapshot needs every level, changed or not).

Streams run in :data:`STREAMS` order: locations and products before inventory levels and
orders, customers before orders, so that references resolve.

External ids are the numeric part of the GID (``gid://shopify/Order/5000000001`` ->
``"5000000001"``), so they match the ids of Shopify's CSV exports and webhooks.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Iterable

__all__ = ["Stream", "STREAMS", "STREAM_NAMES", "bookmark_key", "numeric_id", "gid_type",
           "reassemble", "parse_jsonl"]


@dataclass(frozen=True)
class Stream:
    """One synced entity.

    Attributes:
        name: Stream name (``restock shopify sync`` prints it; the bookmark key derives
            from it).
        document: Key in ``DOCUMENTS`` of the paged query.
        root: Field of the paged query's ``data`` holding the connection (for inventory
            levels, ``location`` whose ``inventoryLevels`` is paged).
        mode: ``incremental``, ``full`` or ``snapshot``.
        bulk_document: Key in ``DOCUMENTS`` of the bulk backfill body, or None.
        cursor_field: Field the bookmark follows.
        primary_key: Field identifying a record.
        children: GID type of a bulk child line -> the parent's connection field it belongs to.
    """

    name: str
    document: str
    root: str
    mode: str
    bulk_document: str | None = None
    cursor_field: str = "updatedAt"
    primary_key: str = "id"
    children: dict[str, str] = field(default_factory=dict)


STREAMS: tuple[Stream, ...] = (
    Stream("locations", "locations", "locations", "full"),
    Stream("products", "products", "products", "incremental", "bulk_products",
           children={"ProductVariant": "variants"}),
    Stream("inventory_levels", "inventory_levels", "location", "snapshot",
           "bulk_inventory_levels", children={"InventoryLevel": "inventoryLevels"}),
    Stream("customers", "customers", "customers", "incremental", "bulk_customers"),
    Stream("orders", "orders", "orders", "incremental", "bulk_orders",
           children={"LineItem": "lineItems"}),
)
"""Every stream, in the order a sync runs them."""

STREAM_NAMES = tuple(s.name for s in STREAMS)


def bookmark_key(stream: Stream) -> str:
    """The ``sync_state.stream`` value of a stream."""
    return f"shopify:{stream.name}"


def numeric_id(gid: str | None) -> str | None:
    """``"gid://shopify/Order/123"`` (or ``.../InventoryLevel/1?inventory_item_id=2``) ->
    ``"123"``; None stays None."""
    if gid is None:
        return None
    return str(gid).split("?")[0].rsplit("/", 1)[-1]


def gid_type(gid: str) -> str:
    """``"gid://shopify/LineItem/1"`` -> ``"LineItem"``."""
    return str(gid).split("?")[0].split("/")[-2]


def parse_jsonl(text: str | bytes) -> list[dict]:
    """Objects of a JSONL document (blank lines skipped).

    Raises:
        ValueError: a line is not JSON (the message gives its number).
    """
    if isinstance(text, bytes):
        text = text.decode("utf-8")
    out = []
    for number, line in enumerate(text.splitlines(), start=1):
        if line.strip():
            try:
                out.append(json.loads(line))
            except ValueError as exc:
                raise ValueError(f"bulk result line {number} is not JSON: {exc}") from None
    return out


def reassemble(lines: Iterable[dict], children: dict[str, str]) -> list[dict]:
    """Rebuild nested objects from Shopify's flat bulk JSONL.

    Root lines (no ``__parentId``) are returned in file order; a child line goes into its
    parent's connection field (from ``children``, by the child's GID type) as
    ``{"nodes": [...]}``, the shape of a paged query, so one transform reads both. Children
    may come before or after their parent. Every root gets every child field, empty if it
    has no children.

    Raises:
        ValueError: a child whose parent is not in the file, or of an undeclared type.
    """
    roots: list[dict] = []
    by_id: dict[str, dict] = {}
    pending: list[dict] = []
    for line in lines:
        if "__parentId" in line:
            pending.append(line)
        else:
            roots.append(line)
            by_id[line.get("id")] = line
            for name in children.values():
                line.setdefault(name, {"nodes": []})
    for line in pending:
        parent = by_id.get(line.pop("__parentId"))
        kind = gid_type(line.get("id", ""))
        if parent is None:
            raise ValueError(f"bulk result: {line.get('id')} refers to a parent not in the file")
        if kind not in children:
            raise ValueError(f"bulk result: unexpected child object {line.get('id')}")
        parent[children[kind]]["nodes"].append(line)
    return roots

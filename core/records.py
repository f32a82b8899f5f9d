"""Canonical intake records: the one shape every source (sandbox, Shopify CSV exports, the
Shopify API, an ERP) turns its data into before it is loaded into storage.

A :class:`ShopRecords` holds one pandas DataFrame per entity. Columns are listed in
:data:`COLUMNS`; a frame may be empty but must carry at least the required columns. External
ids are strings and unique per entity within a shop; loading the same records twice changes
nothing (see :mod:`core.ingest`).

Stock columns (``inventory``) are Shopify's inventory states: ``on_hand`` is physically
there; ``committed`` is on hand and promised to placed orders; ``reserved`` is on hand and
held back (draft orders, holds) - both are not sellable and are kept apart; ``available`` is
what can be sold; ``incoming`` is on its way. ``variants.tracked`` is False when the shop does
not count the item's stock (its levels mean nothing). ``orders.source`` is the raw source
name, ``orders.channel`` its :mod:`core.channels` value (filled from ``source`` on load
when absent).

Timestamps are timezone-aware UTC ``pandas.Timestamp`` values; dates in
``inventory.date`` are naive ``datetime64[ns]`` day starts (the shop's local calendar day).
"""
from __future__ import annotations

from dataclasses import dataclass, field, fields

import pandas as pd

__all__ = ["COLUMNS", "REQUIRED", "ShopRecords", "RecordsError"]

#: Every column an entity frame may carry, in order. Columns not listed are ignored.
COLUMNS: dict[str, list[str]] = {
    "locations": ["external_id", "name", "kind"],  # kind: warehouse | store
    "products": ["external_id", "handle", "title", "family", "vendor", "status", "created_at"],
    "variants": [
        "external_id", "product_external_id", "sku", "barcode", "title", "price", "unit_cost",
        "status", "created_at", "successor_sku", "inventory_item_id", "tracked",
    ],
    "suppliers": ["external_id", "name", "email", "min_order_value", "currency"],
    "supplier_items": [
        "supplier_external_id", "sku", "supplier_sku", "unit_cost", "lead_time_days",
        "lead_time_std_days", "moq", "case_pack",
    ],
    "customers": [
        "external_id", "created_at", "email", "first_name", "last_name", "phone",
        "accepts_marketing",
    ],
    "orders": [
        "external_id", "name", "created_at", "processed_at", "cancelled_at", "source",
        "location_external_id", "customer_external_id", "currency", "subtotal", "total",
        "discount_codes", "tags", "channel",
    ],
    "order_lines": [
        "external_id", "order_external_id", "sku", "quantity", "refunded_quantity", "price",
        "discount",
    ],
    "inventory": [
        "sku", "location_external_id", "date", "available", "on_hand", "incoming", "committed",
        "reserved",
    ],
    "campaigns": ["external_id", "name", "starts_at", "ends_at", "skus", "discount_pct"],
}

#: Columns that must be present and non-null.
REQUIRED: dict[str, list[str]] = {
    "locations": ["external_id", "name"],
    "products": ["external_id", "title"],
    "variants": ["external_id", "product_external_id", "sku"],
    "suppliers": ["external_id", "name"],
    "supplier_items": ["supplier_external_id", "sku", "lead_time_days"],
    "customers": ["external_id"],
    "orders": ["external_id", "created_at"],
    "order_lines": ["external_id", "order_external_id", "sku", "quantity"],
    "inventory": ["sku", "location_external_id", "date"],
    "campaigns": ["external_id", "name", "starts_at", "ends_at"],
}


class RecordsError(ValueError):
    """Records that cannot be loaded; the message names the entity and what to fix."""


def _empty(name: str) -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype="object") for c in COLUMNS[name]})


@dataclass
class ShopRecords:
    """One DataFrame per entity (see :data:`COLUMNS`)."""

    locations: pd.DataFrame = field(default_factory=lambda: _empty("locations"))
    products: pd.DataFrame = field(default_factory=lambda: _empty("products"))
    variants: pd.DataFrame = field(default_factory=lambda: _empty("variants"))
    suppliers: pd.DataFrame = field(default_factory=lambda: _empty("suppliers"))
    supplier_items: pd.DataFrame = field(default_factory=lambda: _empty("supplier_items"))
    customers: pd.DataFrame = field(default_factory=lambda: _empty("customers"))
    orders: pd.DataFrame = field(default_factory=lambda: _empty("orders"))
    order_lines: pd.DataFrame = field(default_factory=lambda: _empty("order_lines"))
    inventory: pd.DataFrame = field(default_factory=lambda: _empty("inventory"))
    campaigns: pd.DataFrame = field(default_factory=lambda: _empty("campaigns"))

    def entities(self) -> list[str]:
        return [f.name for f in fields(self)]

    def validate(self) -> "ShopRecords":
        """Check required columns and values; return a copy with every listed column present.

        Raises:
            RecordsError: naming the entity, and the missing columns or the first bad row.
        """
        out = {}
        for name in self.entities():
            frame = getattr(self, name)
            missing = [c for c in REQUIRED[name] if c not in frame.columns]
            if missing:
                raise RecordsError(f"{name}: missing required columns {', '.join(missing)}")
            frame = frame.copy()
            for col in COLUMNS[name]:
                if col not in frame.columns:
                    frame[col] = None
            for col in REQUIRED[name]:
                nulls = frame[col].isna()
                if nulls.any():
                    row = int(nulls.to_numpy().nonzero()[0][0])
                    raise RecordsError(f"{name}: row {row} has no value in required column {col}")
            key = ["external_id"] if "external_id" in frame.columns and name != "inventory" else None
            if name == "inventory":
                key = ["sku", "location_external_id", "date"]
            elif name == "supplier_items":
                key = ["supplier_external_id", "sku"]
            dup = frame.duplicated(key)
            if dup.any():
                row = int(dup.to_numpy().nonzero()[0][0])
                raise RecordsError(f"{name}: row {row} repeats the key {key} of an earlier row")
            out[name] = frame[COLUMNS[name]]
        return ShopRecords(**out)

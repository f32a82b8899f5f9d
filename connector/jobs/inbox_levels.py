"""The inventory snapshot row of an ``inventory_levels/update`` webhook (for the inbox drain).

Shopify's payload says only ``available``. The row for the event's day (in the shop's time
zone) keeps the last stored committed, reserved and incoming of that SKU and location, and
its on hand becomes available + committed + reserved (Shopify's identity for the states
restock reads). The planning position (on hand - committed - reserved) is then exactly the
new ``available``; a change of committed or reserved alone (which Shopify also announces as
a new ``available``) is put right by the next sync, which reads every state.
"""
from __future__ import annotations

from datetime import datetime, timezone
from zoneinfo import ZoneInfo

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from connector.adapters.shopify.webhook_transform import WebhookChange
from core.storage import InventorySnapshot, Location, Shop, Variant

__all__ = ["inventory_row"]


def inventory_row(session: Session, shop: Shop, change: WebhookChange,
                  triggered: datetime | None) -> dict | None:
    """The ``inventory`` record row of ``change``, or None when no variant has its item."""
    inv = change.inventory
    item = inv["inventory_item_id"]
    sku = session.scalar(select(Variant.sku).where(
        Variant.shop_id == shop.id,
        Variant.inventory_item_id.in_([item, f"gid://shopify/InventoryItem/{item}"])))
    if sku is None:
        return None
    when = change.updated_at or triggered or datetime.now(timezone.utc)
    try:
        zone = ZoneInfo(shop.timezone or "UTC")
    except (KeyError, ValueError):  # an unknown zone name: fall back to UTC days
        zone = timezone.utc
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    day = when.astimezone(zone).replace(tzinfo=None, hour=0, minute=0, second=0, microsecond=0)
    row = {"sku": sku, "location_external_id": inv["location_external_id"],
           "date": pd.Timestamp(day), "available": inv["available"]}
    last = session.execute(
        select(InventorySnapshot.committed, InventorySnapshot.reserved,
               InventorySnapshot.incoming)
        .join(Variant, Variant.id == InventorySnapshot.variant_id)
        .join(Location, Location.id == InventorySnapshot.location_id)
        .where(InventorySnapshot.shop_id == shop.id, Variant.sku == sku,
               Location.external_id == inv["location_external_id"],
               InventorySnapshot.day <= day.date())
        .order_by(InventorySnapshot.day.desc()).limit(1)).first()
    if last is not None and inv["available"] is not None:
        # the payload has only `available`: keep the last known committed, reserved and
        # incoming, and on hand = available + committed + reserved (Shopify's identity for
        # the states restock reads), so the plan's position stays `available`
        committed, reserved = last.committed or 0.0, last.reserved or 0.0
        row.update(committed=committed, reserved=reserved, incoming=last.incoming,
                   on_hand=inv["available"] + committed + reserved)
    return row

"""Objects of the fake shop (plain dataclasses; timestamps are timezone-aware UTC)."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

__all__ = ["StoreLocation", "StoreProduct", "StoreVariant", "StoreLevel", "StoreCustomer",
           "StoreOrder", "StoreLine", "StoreRefund", "ITEM_ID_OFFSET", "QUANTITY_NAMES"]

#: Inventory item id = variant id + this offset.
ITEM_ID_OFFSET = 40_000_000_000
#: The inventory states the fake keeps per level (the ones restock reads).
QUANTITY_NAMES = ("available", "on_hand", "incoming", "committed", "reserved")


@dataclass
class StoreLocation:
    """A location; ``fulfills_online`` marks the warehouse."""

    id: int
    name: str
    fulfills_online: bool
    created_at: datetime
    updated_at: datetime
    is_active: bool = True


@dataclass
class StoreProduct:
    """A product; ``status`` is ACTIVE, ARCHIVED or DRAFT."""

    id: int
    title: str
    handle: str
    vendor: str
    product_type: str
    status: str  # ACTIVE | ARCHIVED | DRAFT
    created_at: datetime
    updated_at: datetime
    variant_ids: list[int] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)


@dataclass
class StoreVariant:
    """A variant and its inventory item (``item_id``)."""

    id: int
    product_id: int
    sku: str | None
    barcode: str | None
    title: str
    price: float
    unit_cost: float | None
    created_at: datetime
    updated_at: datetime
    tracked: bool = True

    @property
    def item_id(self) -> int:
        return self.id + ITEM_ID_OFFSET


@dataclass
class StoreLevel:
    """Quantities of one inventory item at one location, by state name."""

    item_id: int
    location_id: int
    quantities: dict[str, int]
    updated_at: datetime


@dataclass
class StoreCustomer:
    """A customer; ``marketing_state`` is Shopify's email marketing state."""

    id: int
    first_name: str | None
    last_name: str | None
    email: str | None
    phone: str | None
    marketing_state: str
    created_at: datetime
    updated_at: datetime
    tags: list[str] = field(default_factory=list)
    order_ids: list[int] = field(default_factory=list)


@dataclass
class StoreLine:
    """An order line item; ``variant_id`` is None for a custom (unknown SKU) line."""

    id: int
    order_id: int
    sku: str | None
    quantity: int
    price: float
    discount: float
    variant_id: int | None


@dataclass
class StoreRefund:
    """A refund: ``lines`` are ``(refund line id, line item id, quantity)``."""

    id: int
    order_id: int
    created_at: datetime
    lines: list[tuple[int, int, int]]  # (refund line id, line item id, quantity)


@dataclass
class StoreOrder:
    """An order; ``retail_location_id`` is set for POS orders only."""

    id: int
    name: str
    created_at: datetime
    processed_at: datetime
    cancelled_at: datetime | None
    source_name: str
    retail_location_id: int | None
    customer_id: int | None
    currency: str
    subtotal: float
    total: float
    discount_codes: list[str]
    tags: list[str]
    updated_at: datetime
    line_ids: list[int] = field(default_factory=list)
    refund_ids: list[int] = field(default_factory=list)

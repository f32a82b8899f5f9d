"""Changes to the fake shop: test hooks (new order, cancellation, refund, stock, consent) and
the writes behind mutations. Mixed into :class:`sandbox.shopify_fake.store.FakeStore`.

Each change stamps ``updated_at`` with the store's wall clock, touches the customer of a
changed order (Shopify moves a customer's ``updatedAt`` when its orders change) and bumps
``version`` so sorted views are rebuilt.

Each change also announces itself as Shopify would, through the store's ``dispatcher``
(:class:`.deliveries.WebhookDispatcher`, set by :func:`.app.make_fake_app`): a new order
``orders/create``; a cancellation ``orders/cancelled`` and ``orders/updated``; a refund
``refunds/create`` and ``orders/updated``; a stock change ``inventory_levels/update``; an
inventory item change (cost, tracked) ``inventory_items/update``; a price or status change
``products/update``; a new customer ``customers/create``; a consent change
``customers/update``. Payloads (:mod:`.payloads`) are built under the lock, at the change.
"""
from __future__ import annotations

from datetime import datetime

from . import payloads
from .model import QUANTITY_NAMES, StoreCustomer, StoreLevel, StoreLine, StoreOrder, StoreRefund

__all__ = ["StoreHooks"]


class StoreHooks:
    """Mutating methods of the fake store (see the module docstring)."""

    dispatcher = None  # a .deliveries.WebhookDispatcher once make_fake_app sets one

    def _emit(self, topic: str, build) -> None:
        """Send ``build()`` as a ``topic`` webhook when a dispatcher is set."""
        if self.dispatcher is not None:
            self.dispatcher.emit(topic, build())

    def insert_order(self, order: StoreOrder, lines: list[StoreLine]) -> StoreOrder:
        """Add a complete order (ids chosen by the caller, e.g. the sandbox's) and send
        ``orders/create``."""
        with self.lock:
            if order.id in self.orders:
                raise ValueError(f"order {order.id} already exists")
            for line in lines:
                self.lines[line.id] = line
                order.line_ids.append(line.id)
            self.orders[order.id] = order
            if order.customer_id is not None and order.customer_id in self.customers:
                self.customers[order.customer_id].order_ids.append(order.id)
            self._touch_order(order, order.updated_at)
            self._emit("orders/create", lambda: payloads.order_payload(self, order))
            return order

    def add_customer(self, customer: StoreCustomer) -> StoreCustomer:
        """Add a customer and send ``customers/create``."""
        with self.lock:
            if customer.id in self.customers:
                raise ValueError(f"customer {customer.id} already exists")
            self.customers[customer.id] = customer
            self.version += 1
            self._emit("customers/create", lambda: payloads.customer_payload(self, customer))
            return customer

    def update_inventory_item(self, sku: str, *, tracked: bool | None = None,
                              cost: float | None = None):
        """Change a SKU's inventory item (``tracked``, unit ``cost``); sends
        ``inventory_items/update``."""
        with self.lock:
            v = self.variant_by_sku(sku)
            if v is None:
                raise KeyError(f"unknown SKU {sku!r}")
            if tracked is not None:
                v.tracked = bool(tracked)
            if cost is not None:
                v.unit_cost = float(cost)
            v.updated_at = self.now()
            self.version += 1
            self._emit("inventory_items/update",
                       lambda: payloads.inventory_item_payload(self, v.id))
            return v

    def update_product(self, product_id: int, *, title: str | None = None,
                       status: str | None = None, prices: dict[str, float] | None = None):
        """Change a product's title, status (ACTIVE, ARCHIVED, DRAFT) or its variants'
        prices by SKU; sends ``products/update``."""
        with self.lock:
            p = self.products[product_id]
            if title is not None:
                p.title = title
            if status is not None:
                if status.upper() not in ("ACTIVE", "ARCHIVED", "DRAFT"):
                    raise ValueError(f"status must be ACTIVE, ARCHIVED or DRAFT, not {status!r}")
                p.status = status.upper()
            when = self.now()
            for sku, price in (prices or {}).items():
                v = self.variant_by_sku(sku)
                if v is None or v.product_id != product_id:
                    raise KeyError(f"SKU {sku!r} is not a variant of product {product_id}")
                v.price, v.updated_at = float(price), when
            p.updated_at = when
            self.version += 1
            self._emit("products/update", lambda: payloads.product_payload(self, p))
            return p

    def _touch_order(self, order, when: datetime) -> None:
        order.updated_at = max(order.updated_at, when)
        if order.customer_id in self.customers:
            c = self.customers[order.customer_id]
            c.updated_at = max(c.updated_at, when)
        self.version += 1

    def add_order(self, lines: list[tuple[str, int]], *, customer_id: int | None = None,
                  source_name: str = "web", location_id: int | None = None,
                  created_at: datetime | None = None, discount_codes: list[str] | None = None,
                  tags: list[str] | None = None, price: float | None = None) -> StoreOrder:
        """Place an order. ``lines`` are ``(sku, quantity)``; an unknown SKU makes a custom
        line item (no variant) priced ``price`` or 0. POS orders need ``location_id``.

        Returns:
            The new order (``updated_at`` = ``created_at`` = now unless given).
        """
        with self.lock:
            when = created_at or self.now()
            number = 1001 + len(self.orders)
            subtotal = 0.0
            order = StoreOrder(self._next("order"), f"#{number}", when, when, None,
                               source_name, location_id if source_name == "pos" else None,
                               customer_id, "USD", 0.0, 0.0, list(discount_codes or []),
                               list(tags or []), when)
            for sku, qty in lines:
                v = self.variant_by_sku(sku)
                unit = v.price if v else float(price or 0.0)
                line = StoreLine(self._next("line"), order.id, sku, int(qty), unit, 0.0,
                                 v.id if v else None)
                self.lines[line.id] = line
                order.line_ids.append(line.id)
                subtotal += unit * qty
            order.subtotal = order.total = round(subtotal, 2)
            self.orders[order.id] = order
            if customer_id is not None and customer_id in self.customers:
                self.customers[customer_id].order_ids.append(order.id)
            self._touch_order(order, when)
            self._emit("orders/create", lambda: payloads.order_payload(self, order))
            return order

    def cancel_order(self, order_id: int, at: datetime | None = None) -> StoreOrder:
        """Cancel an order (its ``cancelled_at`` and ``updated_at`` become now)."""
        with self.lock:
            order = self.orders[order_id]
            order.cancelled_at = at or self.now()
            self._touch_order(order, order.cancelled_at)
            self._emit("orders/cancelled", lambda: payloads.order_payload(self, order))
            self._emit("orders/updated", lambda: payloads.order_payload(self, order))
            return order

    def add_refund(self, order_id: int, lines: list[tuple[int, int]],
                   at: datetime | None = None) -> StoreRefund:
        """Refund ``(line item id, quantity)`` pairs of an order.

        Raises:
            ValueError: a line is not in the order, or more units than remain are refunded.
        """
        with self.lock:
            order = self.orders[order_id]
            for lid, qty in lines:
                if lid not in order.line_ids:
                    raise ValueError(f"line item {lid} is not in order {order_id}")
                if qty < 1 or self.refunded_quantity(lid) + qty > self.lines[lid].quantity:
                    raise ValueError(f"cannot refund {qty} more units of line item {lid}")
            when = at or self.now()
            refund = self._refund(order, list(lines), when)
            self._touch_order(order, when)
            self._emit("refunds/create", lambda: payloads.refund_payload(self, refund.id))
            self._emit("orders/updated", lambda: payloads.order_payload(self, order))
            return refund

    def set_inventory(self, sku: str, location_id: int, **quantities: int) -> StoreLevel:
        """Set quantities (``available=..., on_hand=...``) of a SKU at a location."""
        with self.lock:
            v = self.variant_by_sku(sku)
            if v is None:
                raise KeyError(f"unknown SKU {sku!r}")
            key = (v.item_id, location_id)
            level = self.levels.get(key) or StoreLevel(
                v.item_id, location_id, dict.fromkeys(QUANTITY_NAMES, 0), self.now())
            unknown = set(quantities) - set(QUANTITY_NAMES)
            if unknown:
                raise ValueError(f"unknown quantity names {sorted(unknown)}")
            level.quantities.update({k: int(q) for k, q in quantities.items()})
            level.updated_at = self.now()
            self.levels[key] = level
            self.version += 1
            self._emit("inventory_levels/update",
                       lambda: payloads.inventory_level_payload(level))
            return level

    def set_marketing(self, customer_id: int, state: str) -> StoreCustomer:
        """Change a customer's email marketing state (SUBSCRIBED, UNSUBSCRIBED, ...)."""
        with self.lock:
            c = self.customers[customer_id]
            c.marketing_state = state
            c.updated_at = self.now()
            self.version += 1
            self._emit("customers/update", lambda: payloads.customer_payload(self, c))
            return c

    # ------------------------------------------------------------------ mutation support
    def add_tags(self, owner, tags: list[str]) -> None:
        """Union ``tags`` into an order, customer or product's tags and touch it."""
        with self.lock:
            for t in tags:
                t = t.strip()
                if t and t not in owner.tags:
                    owner.tags.append(t)
            owner.updated_at = max(owner.updated_at, self.now())
            self.version += 1

    def new_id(self, kind: str) -> int:
        """A fresh id for a metafield or webhook subscription."""
        with self.lock:
            return self._next(kind)

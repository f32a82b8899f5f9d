"""Changes to the fake shop: test hooks (new order, cancellation, refund, stock, consent) and
the writes behind mutations. Mixed into :class:`sandbox.shopify_fake.store.FakeStore`.

Each change stamps ``updated_at`` with the store's wall clock, touches the customer of a
changed order (Shopify moves a customer's ``updatedAt`` when its orders change) and bumps
``version`` so sorted views are rebuilt.
"""
from __future__ import annotations

from datetime import datetime

from .model import QUANTITY_NAMES, StoreCustomer, StoreLevel, StoreLine, StoreOrder, StoreRefund

__all__ = ["StoreHooks"]


class StoreHooks:
    """Mutating methods of the fake store (see the module docstring)."""

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
            return order

    def cancel_order(self, order_id: int, at: datetime | None = None) -> StoreOrder:
        """Cancel an order (its ``cancelled_at`` and ``updated_at`` become now)."""
        with self.lock:
            order = self.orders[order_id]
            order.cancelled_at = at or self.now()
            self._touch_order(order, order.cancelled_at)
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
            return level

    def set_marketing(self, customer_id: int, state: str) -> StoreCustomer:
        """Change a customer's email marketing state (SUBSCRIBED, UNSUBSCRIBED, ...)."""
        with self.lock:
            c = self.customers[customer_id]
            c.marketing_state = state
            c.updated_at = self.now()
            self.version += 1
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

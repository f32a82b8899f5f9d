"""In-memory Shopify shop data behind the fake: built once from a sandbox shop, mutable through
test hooks.

Ids are the sandbox's numeric external ids (``gid://shopify/Order/5000000001`` is sandbox
order ``"5000000001"``); inventory items, refunds and refund lines get ids of their own.
Every object carries ``updated_at``; an order's is its last event (created, cancelled,
refunded, tagged), a customer's the later of its creation and its orders' last events.

Refunds: the sandbox only says how many units of a line were refunded, so every order with
refunded lines gets one refund, dated 1-10 days after the order (never after the last day of
the history), holding all of its refunded lines.

Every change goes through a method of :class:`.hooks.StoreHooks` that bumps
:attr:`FakeStore.version` (search indexes are rebuilt lazily) and runs under
:attr:`FakeStore.lock`.
"""
from __future__ import annotations

import threading
from datetime import datetime, timedelta
from typing import Callable

import pandas as pd

from .hooks import StoreHooks
from .model import (ITEM_ID_OFFSET, QUANTITY_NAMES, StoreCustomer, StoreLevel, StoreLine,
                    StoreLocation, StoreOrder, StoreProduct, StoreRefund, StoreVariant)

__all__ = ["FakeStore", "StoreLocation", "StoreProduct", "StoreVariant", "StoreLevel",
           "StoreCustomer", "StoreOrder", "StoreLine", "StoreRefund", "ITEM_ID_OFFSET",
           "QUANTITY_NAMES"]

_REFUND_ID_START = 9_000_000_001
_REFUND_LINE_ID_START = 9_500_000_001
_NEW_ORDER_ID_START = 6_000_000_001
_NEW_LINE_ID_START = 14_000_000_001


def _utc(value) -> datetime | None:
    if value is None or value is pd.NaT or (isinstance(value, float) and value != value):
        return None
    ts = pd.Timestamp(value)
    if pd.isna(ts):
        return None
    ts = ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")
    return ts.to_pydatetime()


def _split(text) -> list[str]:
    if text is None or (isinstance(text, float) and text != text):
        return []
    return [t.strip() for t in str(text).split(",") if t.strip()]


class FakeStore(StoreHooks):
    """The shop's objects, indexes and test hooks.

    Args:
        records: The sandbox shop's :class:`core.records.ShopRecords`.
        history_end: Last instant of the sandbox history (refunds are dated before it).
        now: Wall clock for timestamps of changes made after start-up.
        marketplace_source: ``sourceName`` given to the sandbox's marketplace orders.
    """

    def __init__(self, records, history_end: datetime, now: Callable[[], datetime],
                 marketplace_source: str = "amazon") -> None:
        self.lock = threading.RLock()
        self.version = 0
        self.now = now
        self.locations: dict[int, StoreLocation] = {}
        self.products: dict[int, StoreProduct] = {}
        self.variants: dict[int, StoreVariant] = {}
        self.levels: dict[tuple[int, int], StoreLevel] = {}
        self.customers: dict[int, StoreCustomer] = {}
        self.orders: dict[int, StoreOrder] = {}
        self.lines: dict[int, StoreLine] = {}
        self.refunds: dict[int, StoreRefund] = {}
        self.metafields: dict[tuple[str, str, str], dict] = {}
        self.webhooks: dict[int, dict] = {}
        self.draft_orders: dict[int, dict] = {}
        self.discounts: dict[int, dict] = {}
        self.flow_triggers: list[dict] = []
        self.invoices: list[dict] = []
        self._ids = {"order": _NEW_ORDER_ID_START, "line": _NEW_LINE_ID_START,
                     "refund": _REFUND_ID_START, "refund_line": _REFUND_LINE_ID_START,
                     "metafield": 30_000_000_001, "webhook": 1_400_000_001,
                     "draft_order": 1_100_000_001, "draft_line": 1_150_000_001,
                     "discount": 1_200_000_001}
        self._build(records, history_end, marketplace_source)

    # ------------------------------------------------------------------ build
    def _build(self, rec, history_end: datetime, marketplace_source: str) -> None:
        epoch = _utc(rec.orders["created_at"].min()) if len(rec.orders) else history_end
        for r in rec.locations.itertuples(index=False):
            opened = epoch - timedelta(days=400)
            self.locations[int(r.external_id)] = StoreLocation(
                int(r.external_id), str(r.name), (r.kind or "warehouse") == "warehouse",
                opened, opened)
        for r in rec.products.itertuples(index=False):
            created = _utc(r.created_at) or epoch
            self.products[int(r.external_id)] = StoreProduct(
                int(r.external_id), str(r.title), str(r.handle or ""), str(r.vendor or ""),
                str(r.family or ""), "ACTIVE", created, created)
        archived: dict[int, list[bool]] = {}
        for r in rec.variants.itertuples(index=False):
            created = _utc(r.created_at) or epoch
            pid = int(r.product_external_id)
            v = StoreVariant(int(r.external_id), pid, r.sku, r.barcode, str(r.title or ""),
                             float(r.price), None if pd.isna(r.unit_cost) else float(r.unit_cost),
                             created, created)
            self.variants[v.id] = v
            product = self.products[pid]
            product.variant_ids.append(v.id)
            product.updated_at = max(product.updated_at, created)
            archived.setdefault(pid, []).append(r.status == "archived")
        for pid, flags in archived.items():
            if all(flags):
                self.products[pid].status = "ARCHIVED"
        by_sku = {v.sku: v for v in self.variants.values()}
        if len(rec.inventory):
            last = rec.inventory.sort_values("date").groupby(
                ["sku", "location_external_id"], sort=False).tail(1)
            for r in last.itertuples(index=False):
                v = by_sku.get(r.sku)
                if v is None:
                    continue
                day_end = _utc(r.date) + timedelta(days=1, seconds=-1)
                qty = {"available": int(r.available), "on_hand": int(r.on_hand),
                       "incoming": int(r.incoming), "committed": int(r.committed),
                       "reserved": 0}
                self.levels[(v.item_id, int(r.location_external_id))] = StoreLevel(
                    v.item_id, int(r.location_external_id), qty, day_end)
        for r in rec.customers.itertuples(index=False):
            cid = int(r.external_id)
            state = "SUBSCRIBED" if bool(r.accepts_marketing) else (
                "UNSUBSCRIBED" if cid % 3 == 0 else "NOT_SUBSCRIBED")
            created = _utc(r.created_at) or epoch
            self.customers[cid] = StoreCustomer(cid, r.first_name, r.last_name, r.email,
                                                r.phone, state, created, created)
        sources = {"marketplace": marketplace_source}
        for r in rec.orders.itertuples(index=False):
            oid = int(r.external_id)
            created = _utc(r.created_at)
            source = sources.get(r.source, r.source or "web")
            cust = None if r.customer_external_id is None or pd.isna(r.customer_external_id) \
                else int(r.customer_external_id)
            loc = int(r.location_external_id) if r.source == "pos" and \
                r.location_external_id is not None else None
            cancelled = _utc(r.cancelled_at)
            self.orders[oid] = StoreOrder(
                oid, str(r.name), created, _utc(r.processed_at) or created, cancelled,
                str(source), loc, cust, str(r.currency or "USD"), float(r.subtotal),
                float(r.total), _split(r.discount_codes), _split(r.tags),
                max(created, cancelled or created))
            if cust is not None and cust in self.customers:
                self.customers[cust].order_ids.append(oid)
        refunded: dict[int, list[tuple[int, int]]] = {}
        for r in rec.order_lines.itertuples(index=False):
            v = by_sku.get(r.sku)
            line = StoreLine(int(r.external_id), int(r.order_external_id), r.sku,
                             int(r.quantity), float(r.price), float(r.discount or 0.0),
                             v.id if v else None)
            self.lines[line.id] = line
            self.orders[line.order_id].line_ids.append(line.id)
            if int(r.refunded_quantity or 0) > 0:
                refunded.setdefault(line.order_id, []).append((line.id, int(r.refunded_quantity)))
        for oid in sorted(refunded):
            order = self.orders[oid]
            delay = timedelta(days=1 + oid % 10, seconds=oid % 7919)
            when = max(order.created_at, min(order.created_at + delay, history_end))
            self._refund(order, refunded[oid], when)
        for c in self.customers.values():
            for oid in c.order_ids:
                c.updated_at = max(c.updated_at, self.orders[oid].updated_at)

    def _next(self, kind: str) -> int:
        value = self._ids[kind]
        self._ids[kind] = value + 1
        return value

    def _refund(self, order: StoreOrder, lines: list[tuple[int, int]],
                when: datetime) -> StoreRefund:
        refund = StoreRefund(self._next("refund"), order.id, when,
                             [(self._next("refund_line"), lid, q) for lid, q in lines])
        self.refunds[refund.id] = refund
        order.refund_ids.append(refund.id)
        order.updated_at = max(order.updated_at, when)
        return refund

    # ------------------------------------------------------------------ derived values
    def refunded_quantity(self, line_id: int) -> int:
        """Units of a line item refunded so far."""
        order = self.orders[self.lines[line_id].order_id]
        return sum(q for rid in order.refund_ids for _, lid, q in self.refunds[rid].lines
                   if lid == line_id)

    def amount_spent(self, customer: StoreCustomer) -> float:
        """Totals of the customer's orders that are not cancelled, less refunded units."""
        total = 0.0
        for oid in customer.order_ids:
            o = self.orders[oid]
            if o.cancelled_at is None:
                total += o.total - sum(self.refunded_quantity(lid) * self.lines[lid].price
                                       for lid in o.line_ids)
        return round(max(total, 0.0), 2)

    def variant_by_sku(self, sku: str) -> StoreVariant | None:
        for v in self.variants.values():
            if v.sku == sku:
                return v
        return None

"""Replay the sandbox's later days into a running fake as its clock advances.

With ``make_fake_app(..., replay_from=DAY)`` the fake serves the sandbox shop as it was at
the end of ``DAY`` (orders, customers and stock up to then); :class:`Replay` holds the rest
of the sandbox's ground truth and, when :meth:`.app.ShopifyFake.advance` moves the fake's
clock, releases every event up to the new time in time order, through the store's hooks,
so each one is also sent as a webhook:

* a customer whose ``created_at`` has come -> ``customers/create``;
* an order whose ``created_at`` has come -> ``orders/create`` (the sandbox's ids, lines,
  prices and totals; ``marketplace`` orders get the fake's marketplace ``sourceName``);
* its ``cancelled_at`` -> ``orders/cancelled`` + ``orders/updated``;
* its refunded units, dated like the store's own refunds (1-10 days after the order, never
  after the sandbox's last day) -> ``refunds/create`` + ``orders/updated``;
* each finished day's stock, where it differs from the fake's -> ``inventory_levels/update``.

So after advancing to the sandbox's end the fake holds exactly the sandbox's ground truth
(what :class:`.store.FakeStore` builds without a cut-off, refund dates aside).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import pandas as pd

from core.records import ShopRecords

from .model import StoreCustomer, StoreLine, StoreOrder
from .store import _split, _utc

__all__ = ["Replay", "split_records", "refund_time"]


def refund_time(order_id: int, created: datetime, history_end: datetime) -> datetime:
    """When the fake dates the refund of an order (the rule :class:`.store.FakeStore` uses)."""
    delay = timedelta(days=1 + order_id % 10, seconds=order_id % 7919)
    return max(created, min(created + delay, history_end))


def split_records(rec: ShopRecords, cutoff_end: datetime) -> ShopRecords:
    """The part of the sandbox records known at ``cutoff_end``: orders created by then (and
    their lines), customers created by then or buying by then, stock days ending by then."""
    end = pd.Timestamp(cutoff_end)
    orders = rec.orders[rec.orders["created_at"] <= end]
    lines = rec.order_lines[rec.order_lines["order_external_id"].isin(set(orders["external_id"]))]
    buyers = set(orders["customer_external_id"].dropna())
    customers = rec.customers[(rec.customers["created_at"] <= end)
                              | rec.customers["external_id"].isin(buyers)]
    day = end.tz_convert("UTC").tz_localize(None).normalize()
    inventory = rec.inventory[rec.inventory["date"] <= day]
    cancelled = orders["cancelled_at"].where(orders["cancelled_at"] <= end)
    orders = orders.assign(cancelled_at=cancelled)
    return ShopRecords(**{**{n: getattr(rec, n) for n in rec.entities()},
                          "orders": orders, "order_lines": lines, "customers": customers,
                          "inventory": inventory})


@dataclass(order=True)
class _Event:
    when: datetime
    rank: int  # customers before orders before cancellations, refunds, stock at one instant
    seq: int
    kind: str
    data: object = None


class Replay:
    """The sandbox's events after the cut-off, released by :meth:`release`.

    Args:
        store: The fake store (built from :func:`split_records`).
        records: The full sandbox records.
        cutoff_end: Last instant the store already holds.
        history_end: Last instant of the sandbox history.
        marketplace_source: ``sourceName`` of the sandbox's marketplace orders.
    """

    def __init__(self, store, records: ShopRecords, cutoff_end: datetime,
                 history_end: datetime, marketplace_source: str) -> None:
        self.store, self.cutoff_end, self.history_end = store, cutoff_end, history_end
        self.marketplace_source = marketplace_source
        self.released: dict[str, int] = {}
        events: list[_Event] = []
        end = pd.Timestamp(cutoff_end)
        known = set(store.customers)
        for r in records.customers.itertuples(index=False):
            if int(r.external_id) not in known:
                events.append(_Event(_utc(r.created_at) or cutoff_end, 0, len(events),
                                     "customer", r))
        lines: dict[str, list] = {}
        for r in records.order_lines.itertuples(index=False):
            lines.setdefault(r.order_external_id, []).append(r)
        for r in records.orders.itertuples(index=False):
            created = _utc(r.created_at)
            cancelled = _utc(r.cancelled_at)
            if created > cutoff_end:
                events.append(_Event(created, 1, len(events), "order",
                                     (r, lines.get(r.external_id, []))))
            if cancelled is not None and cancelled > cutoff_end:
                events.append(_Event(max(cancelled, created), 2, len(events), "cancel",
                                     int(r.external_id)))
            if created > cutoff_end:
                refunded = [(int(li.external_id), int(li.refunded_quantity or 0))
                            for li in lines.get(r.external_id, [])
                            if int(li.refunded_quantity or 0) > 0]
                if refunded:
                    when = refund_time(int(r.external_id), created, history_end)
                    events.append(_Event(when, 3, len(events), "refund",
                                         (int(r.external_id), refunded)))
        later = records.inventory[records.inventory["date"]
                                  > end.tz_convert("UTC").tz_localize(None).normalize()]
        for day, rows in later.groupby("date", sort=True):
            when = _utc(day) + timedelta(days=1, seconds=-1)
            events.append(_Event(when, 4, len(events), "stock", rows))
        self._events = sorted(events)
        self._next = 0

    @property
    def pending(self) -> int:
        """Events not released yet."""
        return len(self._events) - self._next

    def next_time(self) -> datetime | None:
        """When the next held event happens (None when all are out)."""
        return self._events[self._next].when if self.pending else None

    def release(self, until: datetime, set_time=None) -> dict[str, int]:
        """Apply every event up to ``until``; ``set_time(when)`` is called before each one
        (the fake moves its clock there, so webhooks carry the event's time). Returns the
        number of events applied per kind."""
        out: dict[str, int] = {}
        while self.pending and self._events[self._next].when <= until:
            event = self._events[self._next]
            self._next += 1
            if set_time is not None:
                set_time(event.when)
            n = getattr(self, f"_{event.kind}")(event)
            out[event.kind] = out.get(event.kind, 0) + n
        for kind, n in out.items():
            self.released[kind] = self.released.get(kind, 0) + n
        return out

    # ------------------------------------------------------------------ event kinds
    def _customer(self, event: _Event) -> int:
        r = event.data
        cid = int(r.external_id)
        if cid in self.store.customers:
            return 0
        state = "SUBSCRIBED" if bool(r.accepts_marketing) else (
            "UNSUBSCRIBED" if cid % 3 == 0 else "NOT_SUBSCRIBED")
        self.store.add_customer(StoreCustomer(cid, r.first_name, r.last_name, r.email,
                                              r.phone, state, event.when, event.when))
        return 1

    def _order(self, event: _Event) -> int:
        r, rows = event.data
        oid = int(r.external_id)
        cust = None if r.customer_external_id is None or pd.isna(r.customer_external_id) \
            else int(r.customer_external_id)
        loc = int(r.location_external_id) if r.source == "pos" and \
            r.location_external_id is not None else None
        source = self.marketplace_source if r.source == "marketplace" else (r.source or "web")
        order = StoreOrder(oid, str(r.name), event.when, _utc(r.processed_at) or event.when,
                           None, str(source), loc, cust, str(r.currency or "USD"),
                           float(r.subtotal), float(r.total), _split(r.discount_codes),
                           _split(r.tags), event.when)
        found = self.store.variant_by_sku
        lines = [StoreLine(int(li.external_id), oid, li.sku, int(li.quantity), float(li.price),
                           float(li.discount or 0.0),
                           found(li.sku).id if found(li.sku) else None) for li in rows]
        self.store.insert_order(order, lines)
        return 1

    def _cancel(self, event: _Event) -> int:
        if event.data not in self.store.orders:
            return 0
        self.store.cancel_order(event.data, at=event.when)
        return 1

    def _refund(self, event: _Event) -> int:
        oid, lines = event.data
        self.store.add_refund(oid, lines, at=event.when)
        return 1

    def _stock(self, event: _Event) -> int:
        n = 0
        for r in event.data.itertuples(index=False):
            v = self.store.variant_by_sku(r.sku)
            if v is None:
                continue
            qty = {"available": int(r.available), "on_hand": int(r.on_hand),
                   "incoming": int(r.incoming), "committed": int(r.committed)}
            level = self.store.levels.get((v.item_id, int(r.location_external_id)))
            if level is not None and all(level.quantities.get(k) == q for k, q in qty.items()):
                continue
            self.store.set_inventory(r.sku, int(r.location_external_id), **qty)
            n += 1
        return n

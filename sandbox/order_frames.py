"""The ``orders`` and ``order_lines`` intake frames.

Lines are priced at the variant price; during a campaign, lines of its SKUs get the
campaign's discount (``discount = price * quantity * pct``) and the order carries the
campaign code in ``discount_codes``. ``subtotal`` is after discounts; ``total`` adds online
shipping (5.95 below 60.00). About 2 % of lines are partly refunded (``refunded_quantity``
between 1 and the quantity; refunded units are not restocked). About 1 % of orders are
preceded by a *cancelled* copy (same customer, lines and location, placed up to an hour
earlier, ``cancelled_at`` set): cancelled orders never consumed stock and are not part of the
demand truth; only lines of orders with ``cancelled_at`` null count as sales.

Order names run ``#1001, #1002, ...`` in ``created_at`` order over all channels. Tags:
``marketplace`` for marketplace orders, ``wholesale`` for orders with a line of 10+ units.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from sandbox.baskets import Orders
from sandbox.catalog import Catalog
from sandbox.demand import Campaigns
from sandbox.model import Calendar
from core.channels import channel_for_source

__all__ = ["order_frames", "campaign_index"]

_P_CANCEL = 0.01
_P_REFUND = 0.02
_FREE_SHIPPING = 60.0
_SHIPPING = 5.95


def campaign_index(campaigns: Campaigns, n_skus: int, n_days: int) -> np.ndarray:
    """Campaign index per SKU x day (int16), -1 outside campaigns."""
    idx = np.full((n_skus, n_days), -1, dtype=np.int16)
    for c in range(campaigns.n):
        idx[campaigns.skus[c], campaigns.start_day[c]:campaigns.end_day[c] + 1] = c
    return idx


def order_frames(rng: np.random.Generator, orders: Orders, owner: np.ndarray, cat: Catalog,
                 campaigns: Campaigns, cal: Calendar,
                 customer_ids: np.ndarray) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Build the orders and order_lines frames.

    Args:
        rng: The shop's random generator.
        orders: Orders and lines from :func:`sandbox.baskets.build_orders`.
        owner: Customer index per order (-1 = guest).
        cat: The catalog.
        campaigns: The campaigns.
        cal: The calendar.
        customer_ids: External ids of the customers.

    Returns:
        ``(orders, order_lines)`` with the columns of :data:`core.records.COLUMNS`.
    """
    n_o, n_l = orders.n, len(orders.line_order)
    lo, lk, lq = orders.line_order, orders.line_sku, orders.line_qty
    ci = campaign_index(campaigns, cat.n, cal.n)[lk, orders.day[lo]].astype(np.int64)
    price = cat.price[lk]
    pct = np.where(ci >= 0, campaigns.pct[np.maximum(ci, 0)], 0) / 100.0
    discount = np.round(price * lq * pct, 2)
    refunded = np.where(rng.random(n_l) < _P_REFUND, 1 + rng.binomial(lq - 1, 0.3), 0)

    subtotal = np.round(np.bincount(lo, weights=price * lq - discount, minlength=n_o), 2)
    code = np.full(n_o, -1, dtype=np.int64)
    np.maximum.at(code, lo, ci)
    bulk = np.zeros(n_o, dtype=bool)
    bulk[lo[lq >= 10]] = True
    shipping = np.where((orders.group == 0) & (subtotal < _FREE_SHIPPING), _SHIPPING, 0.0)

    # cancelled copies placed shortly before the real order
    dup = np.flatnonzero(rng.random(n_o) < _P_CANCEL)
    o_src = np.r_[np.arange(n_o), dup]
    is_dup = np.r_[np.zeros(n_o, bool), np.ones(len(dup), bool)]
    seconds = orders.seconds.copy()
    dup_sec = np.maximum(0.0, seconds[dup] - np.floor(rng.uniform(120, 3600, size=len(dup))))
    sec_all = np.r_[seconds, dup_sec]
    cancel_after = np.floor(rng.uniform(300, 3000, size=len(dup)))
    day_all = orders.day[o_src]
    order = np.lexsort((~is_dup, sec_all, day_all))  # by day, time, cancelled copy first
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))

    ids = np.array([str(5_000_000_001 + i) for i in range(len(order))], dtype=object)
    names = np.array([f"#{1001 + i}" for i in range(len(order))], dtype=object)
    created = cal.utc(day_all, sec_all)
    cancelled_ns = np.full(len(o_src), np.iinfo(np.int64).min, dtype=np.int64)
    cancelled_ns[n_o:] = created.asi8[n_o:] + (cancel_after * 1e9).astype(np.int64)
    source = np.array(["web", "marketplace", "pos"], dtype=object)[np.minimum(orders.group, 2)]
    src = source[o_src]
    own = owner[o_src]
    cust = np.where(own >= 0, customer_ids[np.maximum(own, 0)], None)
    codes = np.array(campaigns.code + [None], dtype=object)[np.where(code >= 0, code, campaigns.n)]
    tags = np.full(n_o, None, dtype=object)
    tags[bulk] = "wholesale"
    tags[orders.group == 1] = "marketplace"
    tags[bulk & (orders.group == 1)] = "marketplace, wholesale"

    orders_df = pd.DataFrame({
        "external_id": ids[rank],
        "name": names[rank],
        "created_at": created,
        "processed_at": created,
        "cancelled_at": pd.to_datetime(cancelled_ns, unit="ns", utc=True),
        "source": src,
        "location_external_id": (orders.loc[o_src] + 1).astype(str).astype(object),
        "customer_external_id": cust,
        "currency": "USD",
        "subtotal": subtotal[o_src],
        "total": np.round(subtotal + shipping, 2)[o_src],
        "discount_codes": codes[o_src],
        "tags": tags[o_src],
        "channel": [channel_for_source(x) for x in src],  # as ingest would derive it
    }).iloc[order].reset_index(drop=True)

    # lines: real lines, then copies for cancelled orders
    dup_pos = np.full(n_o, -1, dtype=np.int64)
    dup_pos[dup] = n_o + np.arange(len(dup))
    dup_lines = np.flatnonzero(dup_pos[lo] >= 0)
    l_src = np.r_[np.arange(n_l), dup_lines]
    l_order = np.r_[lo, dup_pos[lo[dup_lines]]]
    l_refund = np.r_[refunded, np.zeros(len(dup_lines), np.int64)]
    l_ord = np.lexsort((l_src, rank[l_order]))
    lines_df = pd.DataFrame({
        "external_id": np.array([str(13_000_000_001 + i) for i in range(len(l_src))], dtype=object),
        "order_external_id": ids[rank[l_order[l_ord]]],
        "sku": cat.sku[lk[l_src[l_ord]]],
        "quantity": lq[l_src[l_ord]].astype(np.int64),
        "refunded_quantity": l_refund[l_ord].astype(np.int64),
        "price": price[l_src[l_ord]],
        "discount": discount[l_src[l_ord]],
    })
    return orders_df, lines_df

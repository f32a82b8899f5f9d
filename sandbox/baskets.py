"""From sold units to orders: truncate wanted lines by stock and group them into baskets.

Within a SKU x location x day cell the wanted lines arrive in a random order and are served
until the stock sold that day runs out; the line that hits the limit is served partly (the
rest is lost). Sold lines of one location and day are shuffled and cut into baskets of 1-4
lines (a new basket starts with probability 0.6 after each line); bulk lines (10+ units) are
orders of their own. Duplicate SKUs in a basket are merged into one line. Warehouse baskets
are online-store orders (85 %) or marketplace orders; store baskets are POS orders.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sandbox.demand import Lines

__all__ = ["Orders", "CHANNELS", "build_orders", "group_of_channel"]

#: Order sources; the channel group of an order is ``0`` web, ``1`` marketplace, ``1 + l`` POS at
#: location index ``l >= 1``.
CHANNELS = ("web", "marketplace", "pos")
_P_NEW_BASKET = 0.6
_MAX_LINES = 4
_BULK = 10
_P_WEB = 0.85
_WEB_HOURS = np.array([1, 0.6, 0.4, 0.3, 0.3, 0.5, 1, 2, 3, 4, 4.5, 5, 5.5, 5, 4.5, 4.5, 5,
                       5.5, 6.5, 7.5, 8, 7, 4.5, 2.5], dtype=np.float64)


def group_of_channel(channel: str, loc_index: int) -> int:
    """Channel group index of a source at a location index (0 = warehouse)."""
    if channel == "web":
        return 0
    if channel == "marketplace":
        return 1
    return 1 + loc_index


@dataclass
class Orders:
    """Orders (index ``o``) and their lines (index ``j``, sorted by order)."""

    day: np.ndarray
    loc: np.ndarray
    group: np.ndarray
    seconds: np.ndarray  # seconds into the day of ``created_at``
    line_order: np.ndarray
    line_sku: np.ndarray
    line_qty: np.ndarray

    @property
    def n(self) -> int:
        """Number of orders."""
        return len(self.day)


def sold_lines(lines: Lines, sold: np.ndarray) -> np.ndarray:
    """Units sold per wanted line, given the units sold per cell (flat ``(K*L*D,)``)."""
    if len(lines.cell) == 0:
        return np.zeros(0, np.int64)
    starts = np.r_[True, lines.cell[1:] != lines.cell[:-1]]
    grp = np.cumsum(starts) - 1
    cs = np.cumsum(lines.qty)
    before = cs - lines.qty
    before = before - before[starts][grp]
    return np.clip(sold[lines.cell] - before, 0, lines.qty)


def build_orders(rng: np.random.Generator, lines: Lines, sold: np.ndarray,
                 n_locations: int, n_days: int) -> Orders:
    """Turn wanted lines into orders of sold lines.

    Args:
        rng: The shop's random generator.
        lines: Wanted lines in arrival order within each cell.
        sold: Units sold per cell, shape ``(K * L, D)``.
        n_locations: Number of locations ``L``.
        n_days: Number of days ``D``.

    Returns:
        The orders with their lines.
    """
    got = sold_lines(lines, sold.ravel())
    keep = got > 0
    cell, qty = lines.cell[keep], got[keep]
    k = cell // (n_locations * n_days)
    loc = (cell // n_days) % n_locations
    day = cell % n_days
    key = loc * n_days + day
    perm = rng.permutation(len(cell))
    order = perm[np.argsort(key[perm], kind="stable")]
    k, loc, day, key, qty = k[order], loc[order], day[order], key[order], qty[order]

    n = len(k)
    bulk = qty >= _BULK
    start = rng.random(n) < _P_NEW_BASKET
    if n:
        start |= np.r_[True, key[1:] != key[:-1]]
        start |= bulk
        start[1:] |= bulk[:-1]
    idx = np.arange(n)
    first = np.maximum.accumulate(np.where(start, idx, 0)) if n else idx
    pos = idx - first
    start |= (pos > 0) & (pos % _MAX_LINES == 0)
    basket = np.cumsum(start) - 1

    # merge duplicate SKUs within a basket
    o2 = np.lexsort((k, basket))
    basket, k, qty, loc, day = basket[o2], k[o2], qty[o2], loc[o2], day[o2]
    new = np.r_[True, (basket[1:] != basket[:-1]) | (k[1:] != k[:-1])] if n else np.zeros(0, bool)
    line_id = np.cumsum(new) - 1
    line_qty = np.bincount(line_id, weights=qty).astype(np.int64) if n else np.zeros(0, np.int64)
    line_sku, line_order = k[new], basket[new]

    n_orders = int(basket[-1]) + 1 if n else 0
    heads = np.r_[True, basket[1:] != basket[:-1]] if n else np.zeros(0, bool)
    o_loc, o_day = loc[heads], day[heads]
    web = rng.random(n_orders) < _P_WEB
    group = np.where(o_loc == 0, np.where(web, 0, 1), 1 + o_loc)
    hours_w = _WEB_HOURS / _WEB_HOURS.sum()
    web_sec = (rng.choice(24, size=n_orders, p=hours_w) + rng.random(n_orders)) * 3600.0
    pos_sec = rng.uniform(9 * 3600, 19 * 3600, size=n_orders)
    seconds = np.floor(np.where(o_loc == 0, web_sec, pos_sec))
    return Orders(day=o_day, loc=o_loc, group=group, seconds=seconds,
                  line_order=line_order, line_sku=line_sku, line_qty=line_qty)

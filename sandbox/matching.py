"""Assign orders to customers: shopping trips and quantity-adjusted consumable re-buys.

Orders are generated from SKU demand first (so the SKU-level truth is exact); customers then
*claim* orders, day by day:

* Re-buys first: a customer who holds a consumable SKU whose supply ran out (due day reached)
  claims an unclaimed order of their home channel group that contains that SKU on that day.
  If there is none (no sale, stock-out, all taken) the re-buy waits a day, up to
  :data:`REBUY_PATIENCE` days; after that the customer stops buying that SKU. A re-buy of a
  switched SKU after its switch day looks for the successor SKU instead.
* Then shopping trips (see :mod:`sandbox.customers`): the customer claims a random unclaimed
  order of their group that day; if none is left the trip waits up to :data:`TRIP_PATIENCE`
  days, then is lost.

Claiming an order makes every consumable line in it a supply the customer consumes. The
first purchase of a consumable is a trial that turns into a habit with probability
:data:`P_ADOPT` (otherwise no re-buy follows); once held, every purchase schedules the next
re-buy, due ``max(previous due, today) + quantity * cycle_days * noise`` days
later (noise ~ LogNormal(0, 0.1)), so two units last twice as long. Re-buys stop once the
customer has dropped out (after the day of their dropout trip). Unclaimed orders are guest
orders (no customer). Re-buys are extra orders on top of the BG/NBD trips and do not cause
dropout.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sandbox.baskets import Orders
from sandbox.catalog import Catalog
from sandbox.customers import Population

__all__ = ["Matching", "P_ADOPT", "REBUY_PATIENCE", "TRIP_PATIENCE", "assign_customers"]

P_ADOPT = 0.4
REBUY_PATIENCE = 14
TRIP_PATIENCE = 7
_NOISE_SIGMA = 0.1


@dataclass
class Matching:
    """Result of the assignment.

    Attributes:
        owner: Customer index per order, -1 for guest orders.
        cp_customer, cp_sku, cp_last_day, cp_last_qty, cp_due, cp_active: One entry per
            customer x consumable SKU taken up as a habit: last purchase day and quantity,
            the due day (continuous) of the next re-buy, and whether the customer still buys
            it.
        lost_trips: Trips that found no order within the patience window.
        dropped_rebuys: Re-buys given up after the patience window.
    """

    owner: np.ndarray
    cp_customer: np.ndarray
    cp_sku: np.ndarray
    cp_last_day: np.ndarray
    cp_last_qty: np.ndarray
    cp_due: np.ndarray
    cp_active: np.ndarray
    lost_trips: int
    dropped_rebuys: int


def _index(keys: np.ndarray, values: np.ndarray, rng: np.random.Generator):
    perm = rng.permutation(len(keys))
    o = perm[np.argsort(keys[perm], kind="stable")]
    k, v = keys[o], values[o]
    uniq, first, counts = np.unique(k, return_index=True, return_counts=True)
    spans = dict(zip(uniq.tolist(), first.tolist()))
    ends = dict(zip(uniq.tolist(), (first + counts).tolist()))
    return v.tolist(), spans, ends


def assign_customers(rng: np.random.Generator, orders: Orders, pop: Population, cat: Catalog,
                     n_days: int) -> Matching:
    """Let customers claim orders (see the module docstring).

    Args:
        rng: The shop's random generator.
        orders: Orders built from the SKU demand.
        pop: Customers with their simulated trips.
        cat: The catalog (consumables, cycles, SKU switches).
        n_days: Length of the history in days.

    Returns:
        Owners of the orders and the consumable holdings of every customer.
    """
    d_n, k_n = n_days, cat.n
    # random order of each group x day pool
    pool, pool_pos, pool_end = _index(orders.group * d_n + orders.day, np.arange(orders.n), rng)
    # consumable lines: order lookup by (group, sku, day), and lines per order
    cons = np.flatnonzero(cat.consumable[orders.line_sku])
    c_order, c_sku = orders.line_order[cons], orders.line_sku[cons]
    c_key = (orders.group[c_order] * k_n + c_sku) * d_n + orders.day[c_order]
    cand, cand_pos, cand_end = _index(c_key, c_order, rng)
    noise = np.exp(rng.normal(0.0, _NOISE_SIGMA, size=len(cons)))
    factor = (orders.line_qty[cons] * cat.cycle_days[c_sku] * noise).tolist()
    adopt = (rng.random(len(cons)) < P_ADOPT).tolist()
    c_qty = orders.line_qty[cons].tolist()
    c_sku_l = c_sku.tolist()
    # consumable lines are sorted by order: lines of order o are bounds[o]:bounds[o + 1]
    bounds = np.searchsorted(c_order, np.arange(orders.n + 1)).tolist()

    succ_of = np.full(k_n, -1, dtype=np.int64)
    succ_of[cat.predecessor[cat.predecessor >= 0]] = np.flatnonzero(cat.predecessor >= 0)
    succ_l, end_l = succ_of.tolist(), cat.end_day.tolist()
    group_l = pop.group.tolist()
    death_day = np.where(np.isfinite(pop.death), np.floor(pop.death), 10 * d_n + 10)
    death_day = death_day.astype(np.int64).tolist()

    owner = [-1] * orders.n
    trips: list[list[tuple[int, int]]] = [[] for _ in range(d_n + 1)]
    for c, day in zip(pop.trip_c.tolist(), np.floor(pop.trip_t).astype(np.int64).tolist()):
        trips[day].append((c, day))
    rebuys: list[list[tuple[int, int, int, int]]] = [[] for _ in range(d_n + 1)]
    # (c, k) -> [version, due, last_day, last_qty, active]
    holding: dict[tuple[int, int], list] = {}
    lost_trips = dropped = 0

    def claim(c: int, o: int, d: int) -> None:
        owner[o] = c
        for j in range(bounds[o], bounds[o + 1]):
            k = c_sku_l[j]
            h = holding.get((c, k))
            if h is None:
                if not adopt[j]:
                    continue
                h = holding[(c, k)] = [0, float(d), d, 0, True]
            base = max(h[1], float(d)) if h[4] else float(d)
            h[0] += 1
            h[1] = base + factor[j]
            h[2], h[3], h[4] = d, c_qty[j], True
            due = int(h[1])
            if due < d_n:
                rebuys[due].append((c, k, h[0], due))

    def take(key: int, index: list[int], pos: dict, end: dict) -> int:
        i = pos.get(key)
        if i is None:
            return -1
        stop = end[key]
        while i < stop and owner[index[i]] >= 0:
            i += 1
        pos[key] = i
        return index[i] if i < stop else -1

    for d in range(d_n):
        for c, k, version, due in rebuys[d]:
            h = holding[(c, k)]
            if h[0] != version:
                continue
            if d > death_day[c]:
                h[4] = False
                continue
            want = succ_l[k] if (d >= end_l[k] and succ_l[k] >= 0) else k
            o = take((group_l[c] * k_n + want) * d_n + d, cand, cand_pos, cand_end)
            if o >= 0:
                if want != k:
                    h[4] = False
                claim(c, o, d)
            elif d + 1 - due <= REBUY_PATIENCE:
                rebuys[d + 1].append((c, k, version, due))
            else:
                h[4] = False
                dropped += 1
        for c, first in trips[d]:
            o = take(group_l[c] * d_n + d, pool, pool_pos, pool_end)
            if o >= 0:
                claim(c, o, d)
            elif d + 1 - first <= TRIP_PATIENCE:
                trips[d + 1].append((c, first))
            else:
                lost_trips += 1

    keys = sorted(holding)
    vals = [holding[k] for k in keys]
    return Matching(
        owner=np.array(owner, dtype=np.int64),
        cp_customer=np.array([k[0] for k in keys], dtype=np.int64),
        cp_sku=np.array([k[1] for k in keys], dtype=np.int64),
        cp_last_day=np.array([v[2] for v in vals], dtype=np.int64),
        cp_last_qty=np.array([v[3] for v in vals], dtype=np.int64),
        cp_due=np.array([v[1] for v in vals], dtype=np.float64),
        cp_active=np.array([v[4] for v in vals], dtype=bool),
        lost_trips=lost_trips,
        dropped_rebuys=dropped,
    )

"""Stock simulation: a deliberately naive replenishment policy that causes real stock-outs.

Per SKU x location (``kl = k * L + l``), one day at a time (vectorised over all ``kl``):

1. Morning: replenishment orders due today arrive (``on_hand += qty``, ``incoming -= qty``);
   SKUs launched today get their opening stock.
2. Sales: ``sold = min(wanted, on_hand)``; the shortfall ``wanted - sold`` is a lost sale.
3. Evening: ``available = on_hand`` is the end-of-day sellable stock (never negative).
4. Review: every 14 days (phase per supplier) each live SKU x location orders up to
   ``30 + stated_lead_time / 2`` days of its average *sales* of the last 30 days, minus
   stock on hand and on order. The average is censored by stock-outs (it under-orders after
   a stock-out), lags ramps and season starts, and half the lead time is too little cover
   for slow or erratic suppliers, so stock-outs happen (typically 5-12 % of wanted units).
   An order is at least the MOQ and rounded up to the case pack; a SKU with nothing on hand
   or on order always orders at least one MOQ (no permanent death spiral). Every supplier x
   location order draws one lead time ``max(1, round(Normal(mean, std)))`` days, shared by
   its lines.

Opening stock is 15-60 days of the first 30 days' expected demand (on the first day, or on
the launch day of SKUs created later); it is not a receipt. ``committed`` is the part of the
warehouse's sales of the day not yet shipped at the end of the day (Binomial(sold, 0.1)); it
is reported inside ``on_hand`` (``on_hand = available + committed``) and shipped next day.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sandbox.catalog import Catalog

__all__ = ["StockResult", "simulate_stock", "REVIEW_DAYS", "COVER_DAYS"]

REVIEW_DAYS = 14
COVER_DAYS = 30
_MAX_LEAD = 120


@dataclass
class StockResult:
    """Daily stock arrays of shape ``(K * L, D)`` (int32) and the replenishment orders."""

    sold: np.ndarray
    available: np.ndarray
    incoming: np.ndarray
    committed: np.ndarray
    po_kl: np.ndarray  # replenishment order lines: kl index
    po_ordered: np.ndarray  # order day
    po_received: np.ndarray  # arrival day (may be >= D: not received within the history)
    po_qty: np.ndarray


def simulate_stock(rng: np.random.Generator, cat: Catalog, wanted: np.ndarray,
                   expected: np.ndarray, n_locations: int) -> StockResult:
    """Run the replenishment simulation.

    Args:
        rng: The shop's random generator.
        cat: The catalog (MOQ, case packs, suppliers, life span of each SKU).
        wanted: Wanted units, shape ``(K * L, D)``.
        expected: Expected units, shape ``(K, L, D)`` (sizes the opening stock).
        n_locations: Number of locations ``L``.

    Returns:
        Sold / available / incoming / committed units per day and the replenishment orders.
    """
    kl_n, d_n = wanted.shape
    k_of = np.repeat(np.arange(cat.n), n_locations)
    l_of = np.tile(np.arange(n_locations), cat.n)
    created = cat.created_day[k_of]
    end = cat.end_day[k_of]
    first = np.maximum(created, 0)
    exp_kl = expected.reshape(kl_n, d_n)
    idx = first[:, None] + np.arange(30)[None, :]
    opening_rate = np.take_along_axis(exp_kl, np.minimum(idx, d_n - 1), axis=1).mean(axis=1)
    opening = np.round(opening_rate * rng.uniform(15, 60, size=kl_n)).astype(np.int64)
    launch_days: dict[int, np.ndarray] = {}
    for day in np.unique(first[first > 0]).tolist():
        launch_days[day] = np.flatnonzero(first == day)

    moq, pack = cat.moq[k_of], cat.case_pack[k_of]
    sup = cat.supplier[k_of]
    phase = cat.sup_phase[sup]
    lt_mean, lt_std = cat.sup_lt_mean, cat.sup_lt_std

    on_hand = np.where(first == 0, opening, 0).astype(np.int64)
    incoming = np.zeros(kl_n, np.int64)
    arrivals = np.zeros((kl_n, d_n + _MAX_LEAD + 1), np.int32)
    sold = np.zeros((kl_n, d_n), np.int32)
    available = np.zeros((kl_n, d_n), np.int32)
    incoming_hist = np.zeros((kl_n, d_n), np.int32)
    roll = np.zeros(kl_n, np.int64)
    po: list[tuple[np.ndarray, int, np.ndarray, np.ndarray]] = []
    rows = np.arange(kl_n)

    for d in range(d_n):
        today = arrivals[:, d]
        on_hand += today
        incoming -= today
        if d in launch_days:
            on_hand[launch_days[d]] += opening[launch_days[d]]
        s = np.minimum(wanted[:, d], on_hand)
        sold[:, d] = s
        on_hand -= s
        roll += s
        if d >= COVER_DAYS:
            roll -= sold[:, d - COVER_DAYS]
        available[:, d] = on_hand

        lt_draw = np.clip(np.round(rng.normal(lt_mean[:, None], lt_std[:, None],
                                              size=(len(lt_mean), n_locations))), 1, _MAX_LEAD)
        review = ((d - phase) % REVIEW_DAYS == 0) & (created <= d) & (end > d + 1)
        if review.any():
            r = rows[review]
            hist = np.minimum(COVER_DAYS, d - first[r] + 1)
            cover = COVER_DAYS + 0.5 * cat.sup_lt_stated[sup[r]]
            target = np.ceil(cover * roll[r] / hist).astype(np.int64)
            pos = on_hand[r] + incoming[r]
            need = np.where(pos <= 0, np.maximum(target - pos, 1), target - pos)
            go = need > 0
            r, need = r[go], need[go]
            qty = np.maximum(need, moq[r])
            qty = -(-qty // pack[r]) * pack[r]
            lt = lt_draw[sup[r], l_of[r]].astype(np.int64)
            arrivals[r, d + lt] += qty
            incoming[r] += qty
            po.append((r, d, d + lt, qty))
        incoming_hist[:, d] = incoming

    committed = np.zeros_like(sold)
    wh = l_of == 0
    committed[wh] = rng.binomial(sold[wh], 0.1).astype(np.int32)
    if po:
        po_kl = np.concatenate([p[0] for p in po])
        po_ordered = np.concatenate([np.full(len(p[0]), p[1]) for p in po])
        po_received = np.concatenate([p[2] for p in po])
        po_qty = np.concatenate([p[3] for p in po])
    else:
        po_kl = po_ordered = po_received = po_qty = np.zeros(0, np.int64)
    return StockResult(sold=sold, available=available, incoming=incoming_hist, committed=committed,
                       po_kl=po_kl, po_ordered=po_ordered, po_received=po_received, po_qty=po_qty)

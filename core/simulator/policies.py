"""Baseline replenishment policies and the two bounds restock is measured against.

Notation: L = the item's lead time (``lead_time_days``), R = the review period of the run
(days between reviews), IP = on hand + on order (the inventory position). The velocity and
min/max quantities are rounded by the engine (half up, at least the MOQ, a case-pack
multiple); the (R, S) policies use :func:`core.policy.plan_item`'s own pack rules.

- :class:`VelocityPolicy` (Stocky-style "days of stock"): v = average daily *sales* of the
  last 30 days (fewer for a younger SKU; sales as recorded, stockout days not corrected);
  order up to S = v x (L + R + N), N the merchant's extra days of stock; q = S - IP.
- :class:`MinMaxPolicy` (Odoo-style reordering rule): a = average daily sales of the last
  90 days; min = a x L, max = min + a x R. Odoo's rule: when the forecast quantity (on hand
  + incoming - outgoing, here IP) is *below* min, order max - IP. Odoo's scheduler checks
  the rules every day, so by default this policy is consulted daily (``check_days=1``),
  not only on review days; R only sets the spread between min and max.
- :class:`OraclePolicy` (perfect-foresight bound): knows the true demand and the lead time
  of every future order. The order placed at review r arrives on day a_r and covers the
  days [a_r, a') until the earliest arrival a' of any later order; it orders exactly the
  least quantity that leaves no shortage in [a_r, a') given the projected stock (current
  stock and earlier orders, lost sales before a_r): q = max(0, max_{d in [a_r, a')}
  (D[a_r..d] - I(a_r) - Q[a_r..d])), I(a_r) the projected stock at the start of day a_r,
  D and Q cumulative demand and earlier receipts. No safety stock. With this partition every
  day after the first arrival is covered by exactly one order, so the oracle serves
  everything that a warm start and lead times allow, with the least stock any policy with
  the same review days and ordering constraints can hold.
- :class:`KnownDistributionPolicy`: the (R, S) policy of :mod:`core.policy` fed the true
  daily demand mean (as the forecast) and the true daily variance (sigma_d^2 = mean
  variance over the protection interval L + R, days independent) instead of estimates:
  the best any forecast can do with that policy.

The (R, S) safety factor is :func:`core.service.safety_factor`: a fill-rate target
(SPP loss-function method) unless the service kind is ``"cycle"``.
"""
from __future__ import annotations

import math

import numpy as np

from ..policy import PolicyResult, cycle_level_for, demand_over, plan_item, round_order
from .engine import History, Item, Policy, SimContext

__all__ = ["rs_decision", "VelocityPolicy", "MinMaxPolicy", "OraclePolicy",
           "KnownDistributionPolicy"]


def rs_decision(daily: np.ndarray, sigma_d: float, target: float, kind: str, item: Item,
                review_days: float, on_hand: float, pipeline: float) -> PolicyResult:
    """(R, S) decision of :func:`core.policy.plan_item` for a fill-rate or cycle target.

    For ``kind="fill"``: mu = D(L + R) / (L + R), sigma_P = sqrt((L + R) sigma_d^2 +
    mu^2 sigma_L^2), k = fill_rate_k(target, mu_Q, sigma_P) with mu_Q the demand per order
    cycle (:func:`core.service.order_cycle_units`: mu x R, or the MOQ / case pack when
    larger), and plan_item runs with the cycle level Phi(k) (whose quantile is k). For
    ``kind="cycle"``: plan_item with target.
    """
    lt, lt_sd = float(item.lead_time_days), float(item.lead_time_std_days or 0.0)
    level = cycle_level_for(kind, target, daily, sigma_d, lt, review_days, lt_sd,
                            int(item.moq or 1), int(item.case_pack or 1))
    return plan_item(daily, sigma_d, level, lt, review_days, on_hand, pipeline, 0.0, lt_sd,
                     int(item.moq or 1), int(item.case_pack or 1))


def _avg(x: np.ndarray) -> float:
    return float(x.mean()) if x.size else 0.0


class VelocityPolicy(Policy):
    """Order up to v30 x (L + R + N) (see module docstring)."""

    name = "velocity"

    def __init__(self, days_of_stock: float = 0.0, window: int = 30):
        self.days_of_stock = float(days_of_stock)
        self.window = int(window)

    def decide(self, t: int, history: History, on_hand: float, pipeline: float,
               item: Item) -> float:
        v = _avg(history.last(item.index, self.window))
        level = v * (float(item.lead_time_days) + self.ctx.review_days + self.days_of_stock)
        return max(0.0, level - on_hand - pipeline)


class MinMaxPolicy(Policy):
    """Odoo-style min/max rule, checked every ``check_days`` (see module docstring)."""

    name = "minmax"

    def __init__(self, window: int = 90, check_days: int = 1):
        self.window = int(window)
        self.review_days = int(check_days)

    def levels(self, history: History, item: Item) -> tuple[float, float]:
        """(min, max) = (a L, a L + a R) from the average daily sales a of the window."""
        a = _avg(history.last(item.index, self.window))
        low = a * float(item.lead_time_days)
        return low, low + a * self.ctx.review_days

    def decide(self, t: int, history: History, on_hand: float, pipeline: float,
               item: Item) -> float:
        low, high = self.levels(history, item)
        ip = on_hand + pipeline
        return high - ip if ip < low else 0.0


class OraclePolicy(Policy):
    """Perfect-foresight bound (see module docstring).

    Args:
        demand: (n, S) true demand of the simulated days.
    """

    name = "oracle"

    def __init__(self, demand: np.ndarray):
        self.demand = np.asarray(demand, dtype=float)

    def setup(self, ctx: SimContext) -> None:
        super().setup(ctx)
        self._orders: dict[int, list[tuple[int, int]]] = {}

    def _next_arrival(self, i: int, s: int) -> int:
        """Earliest arrival day of an order placed at a review after simulated day s."""
        n_sim, r = self.demand.shape[1], self.ctx.review_days
        later = np.arange(s + r, n_sim, r)
        if later.size == 0:
            return n_sim
        return int(min(n_sim, (later + self.ctx.lead_times[i, later]).min()))

    def initial_stock(self, t: int, history: History, item: Item) -> float:
        s = t - self.ctx.t0
        return float(self.demand[item.index, s:self._next_arrival(item.index, s)].sum())

    def decide(self, t: int, history: History, on_hand: float, pipeline: float,
               item: Item) -> float:
        i, s = item.index, t - self.ctx.t0
        dem, n_sim = self.demand[i], self.demand.shape[1]
        a = s + int(self.ctx.lead_times[i, s])
        stop = self._next_arrival(i, s)
        if a >= n_sim or stop <= a:
            return 0.0
        arr = np.zeros(n_sim + 1)
        for day, q in self._orders.get(i, []):
            if day > s:
                arr[day] += q
        stock = on_hand
        for d in range(s, a):
            stock = max(stock + (arr[d] if d > s else 0.0) - dem[d], 0.0)
        gap = np.cumsum(dem[a:stop]) - np.cumsum(arr[a:stop]) - stock
        need = max(0.0, float(gap.max()))
        q = round_order(math.ceil(need - 1e-9), item.moq, item.case_pack)
        if q > 0:
            self._orders.setdefault(i, []).append((a, q))
        return float(q)


class KnownDistributionPolicy(Policy):
    """(R, S) with the true daily mean and variance (see module docstring).

    Args:
        mean: (n, S') true expected demand from the first simulated day (S' >= S; beyond
            its end the last day is repeated).
        var: (n, S') true variance of daily demand.
        service_level: target (an item's own ``service_level`` wins).
        kind: ``"fill"`` or ``"cycle"``.
    """

    name = "known_distribution"

    def __init__(self, mean: np.ndarray, var: np.ndarray, service_level: float = 0.95,
                 kind: str = "fill"):
        self.mean = np.asarray(mean, dtype=float)
        self.var = np.asarray(var, dtype=float)
        self.service_level, self.kind = service_level, kind

    def _result(self, t: int, on_hand: float, pipeline: float, item: Item) -> PolicyResult:
        i, s = item.index, t - self.ctx.t0
        protect = float(item.lead_time_days) + self.ctx.review_days
        f = self.mean[i, s:] if s < self.mean.shape[1] else self.mean[i, -1:]
        v = self.var[i, s:s + max(1, math.ceil(protect))]
        sigma_d = math.sqrt(max(float(v.mean()), 0.0)) if v.size else 0.0
        target = item.service_level or self.service_level
        return rs_decision(f, sigma_d, target, self.kind, item, self.ctx.review_days,
                           on_hand, pipeline)

    def decide(self, t: int, history: History, on_hand: float, pipeline: float,
               item: Item) -> float:
        return float(self._result(t, on_hand, pipeline, item).recommended_qty)

    def initial_stock(self, t: int, history: History, item: Item) -> float:
        return self._result(t, 0.0, 0.0, item).order_up_to

"""Day-by-day inventory simulation with lost sales, lead-time draws and pluggable policies.

A :class:`Scenario` holds, per item (SKU), the observed sales history before the first
simulated day and the true demand of every simulated day. :func:`simulate` runs one
:class:`Policy` over it. Each simulated day t, in this order:

1. receipts due on day t arrive (``on_hand += q``);
2. on a review day the policy decides an order quantity q, rounded with
   :func:`core.policy.round_order` (half up, at least the MOQ, a case-pack multiple; a
   no-op on quantities that already satisfy MOQ and case pack, such as those of
   :func:`core.policy.plan_item`'s own pack rules); the order arrives at the start of day t + L, L drawn from the item's lead-time distribution
   ``max(1, round(Normal(lead_time_days, lead_time_std_days)))``;
3. the day's demand is served from stock, ``served = min(demand, on_hand)``; the shortfall
   is lost (no backorders);
4. the day is marked *censored* (a stockout day, as in :mod:`core.demand`) when the
   end-of-day stock is <= 0.

Review days are every ``review_days`` days from the first simulated day (a policy may set
its own ``review_days``, e.g. a daily min/max check). Lead times are drawn once per item and
day from ``numpy.random.default_rng(seed)`` before the run, so every policy run with the
same seed meets the same lead time for an order placed on the same day (common random
numbers: policy differences are not lead-time luck).

Information: the policy sees a :class:`History` built for the day it decides: read-only
copies of the sales and stockout flags of days < t only (the simulated days' sales are what
the simulation sold, censored by its stock, never the demand). Asking a :class:`History`
for day t or later raises :class:`LookaheadError`. Policies that are *told* the future (the
oracle bound, the known-distribution policy) receive it explicitly when built.

Warm start: an item whose initial on-hand stock is NaN starts with
``policy.initial_stock(...)`` units (by default the quantity it would order with nothing on
hand or on order) and places no order on the first day, so the policy is judged, not an
inherited stock position.
"""
from __future__ import annotations

from abc import ABC, abstractmethod

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..policy import round_order
from .measures import measure, overall

__all__ = ["Item", "Scenario", "History", "SimContext", "Policy", "SimResult", "LookaheadError",
           "draw_lead_times", "simulate"]


class LookaheadError(IndexError):
    """A policy asked for data of the day it decides on or later."""


@dataclass(frozen=True)
class Item:
    """One simulated SKU; ``index`` is its row in the scenario's arrays."""

    index: int
    sku: str
    lead_time_days: float
    lead_time_std_days: float = 0.0
    moq: int = 1
    case_pack: int = 1
    unit_cost: float = 0.0
    price: float = 0.0
    service_level: float | None = None  # per-item target; None: the policy's


@dataclass
class Scenario:
    """What a simulation runs on.

    Attributes:
        days: every day, history then simulated days (length ``t0 + S``).
        history_sold: observed sales of the history days, shape (n, t0).
        history_censored: stockout flags of the history days, shape (n, t0) (None: none).
        demand: true demand of the simulated days, shape (n, S).
        items: one :class:`Item` per row, ``items[i].index == i``.
        first_day: index of each item's first history day (earlier days are unknown, not
            zero); None: 0 for all.
        initial_on_hand: stock on hand on the first simulated day, NaN = warm start; None:
            warm start for all.
    """

    days: pd.DatetimeIndex
    history_sold: np.ndarray
    demand: np.ndarray
    items: list[Item]
    history_censored: np.ndarray | None = None
    first_day: np.ndarray | None = None
    initial_on_hand: np.ndarray | None = None

    @property
    def t0(self) -> int:
        return int(self.history_sold.shape[1])

    @property
    def n(self) -> int:
        return len(self.items)

    def subset(self, rows) -> "Scenario":
        """The scenario restricted to item rows ``rows`` (re-indexed from 0)."""
        rows = np.asarray(rows, dtype=int)
        items = [Item(**{**self.items[r].__dict__, "index": j}) for j, r in enumerate(rows)]
        pick = (lambda a: None if a is None else np.asarray(a)[rows])
        return Scenario(days=self.days, history_sold=self.history_sold[rows],
                        demand=self.demand[rows], items=items,
                        history_censored=pick(self.history_censored),
                        first_day=pick(self.first_day), initial_on_hand=pick(self.initial_on_hand))


def _frozen(a: np.ndarray) -> np.ndarray:
    a = np.array(a, copy=True)
    a.flags.writeable = False
    return a


class History:
    """What is known at the start of day ``t``: sales and stockout flags of days < t.

    Attributes:
        t: the day the policy decides on (index into the scenario's days).
        days: the dates of days 0..t-1.
        sold: read-only (n, t) array of units sold per day.
        stockout: read-only (n, t) bool array, True on days that ended with no stock.
        first_day: (n,) index of each item's first known day.
    """

    def __init__(self, t: int, days: pd.DatetimeIndex, sold: np.ndarray, stockout: np.ndarray,
                 first_day: np.ndarray):
        self.t = t
        self.days = days[:t]
        self.sold = _frozen(sold[:, :t])
        self.stockout = _frozen(stockout[:, :t])
        self.first_day = _frozen(first_day)

    def _check(self, stop: int) -> None:
        if stop > self.t:
            raise LookaheadError(f"day {stop - 1} is not known on day {self.t}")

    def series(self, i: int, start: int | None = None, stop: int | None = None) -> np.ndarray:
        """Sales of item ``i`` on days [max(start, first day), stop); stop <= t."""
        stop = self.t if stop is None else stop
        self._check(stop)
        lo = max(int(self.first_day[i]), 0 if start is None else start)
        return self.sold[i, lo:stop]

    def last(self, i: int, n_days: int) -> np.ndarray:
        """Sales of item ``i`` over the last ``n_days`` known days (fewer if it is younger)."""
        return self.series(i, start=self.t - n_days)

    def day(self, i: int, d: int) -> float:
        """Sales of item ``i`` on day ``d``; raises :class:`LookaheadError` for d >= t."""
        self._check(d + 1)
        return float(self.sold[i, d])


@dataclass(frozen=True)
class SimContext:
    """Given to :meth:`Policy.setup`: the run's calendar and review period.

    ``lead_times[i, s]`` is the lead time of an order placed for item i on simulated day
    t0 + s; only a perfect-foresight policy may look at it.
    """

    t0: int
    t_end: int
    review_days: int
    days: pd.DatetimeIndex
    lead_times: np.ndarray


class Policy(ABC):
    """Base class of replenishment policies.

    A policy implements :meth:`decide`; :meth:`setup` and :meth:`prepare` are optional hooks
    (``prepare`` runs once per review day before the per-item decisions, for batch work such
    as forecasting the whole catalogue). ``review_days`` overrides the run's review period
    for when the policy is consulted (None: the run's).
    """

    name = "policy"
    review_days: int | None = None

    def setup(self, ctx: SimContext) -> None:
        self.ctx = ctx

    def prepare(self, t: int, history: History) -> None:
        """Batch work before the review of day ``t`` (default: nothing)."""

    @abstractmethod
    def decide(self, t: int, history: History, on_hand: float, pipeline: float,
               item: Item) -> float:
        """Units to order on day ``t`` (before rounding to MOQ and case pack)."""

    def initial_stock(self, t: int, history: History, item: Item) -> float:
        """Warm-start stock: what the policy would order with nothing on hand or on order."""
        return self.decide(t, history, 0.0, 0.0, item)


@dataclass
class SimResult:
    """``skus``: per-item measures (see :mod:`core.simulator.measures`) indexed by SKU;
    ``overall``: the aggregates; the daily paths are (n, S) arrays over simulated days."""

    skus: pd.DataFrame
    overall: dict
    on_hand: np.ndarray
    served: np.ndarray
    demand: np.ndarray
    orders: np.ndarray
    receipts: np.ndarray


def draw_lead_times(items: list[Item], n_days: int, seed: int = 0) -> np.ndarray:
    """(n, n_days) lead times: max(1, round(Normal(L, sigma_L))) per item and order day."""
    rng = np.random.default_rng(seed)
    mean = np.array([float(it.lead_time_days) for it in items])[:, None]
    std = np.array([float(it.lead_time_std_days or 0.0) for it in items])[:, None]
    draws = rng.normal(size=(len(items), n_days)) * np.nan_to_num(std) + mean
    return np.maximum(1, np.rint(draws)).astype(int)


def simulate(scenario: Scenario, policy: Policy, review_days: int = 7, seed: int = 0) -> SimResult:
    """Run ``policy`` over ``scenario`` (see the module docstring for the daily sequence).

    Args:
        scenario: history, true demand and items.
        policy: the replenishment policy.
        review_days: days between reviews; also the length of the cycles of
            ``cycle_service_level``.
        seed: seed of the lead-time draws.

    Returns:
        The measures and daily paths.
    """
    n, t0 = scenario.n, scenario.t0
    dem = np.asarray(scenario.demand, dtype=float)
    n_sim = dem.shape[1]
    t_end = t0 + n_sim
    sold = np.zeros((n, t_end))
    sold[:, :t0] = scenario.history_sold
    out = np.zeros((n, t_end), dtype=bool)
    if scenario.history_censored is not None:
        out[:, :t0] = scenario.history_censored
    first = (np.zeros(n, dtype=int) if scenario.first_day is None
             else np.asarray(scenario.first_day, dtype=int))
    lead = draw_lead_times(scenario.items, n_sim, seed)
    policy.setup(SimContext(t0=t0, t_end=t_end, review_days=review_days, days=scenario.days,
                            lead_times=lead))
    every = int(policy.review_days or review_days)
    init = (np.full(n, np.nan) if scenario.initial_on_hand is None
            else np.asarray(scenario.initial_on_hand, dtype=float))
    warm = np.isnan(init)
    on_hand = np.where(warm, 0.0, init)
    arrivals = np.zeros((n, n_sim + 1))  # column n_sim: arrives after the horizon
    on_hand_path = np.zeros((n, n_sim))
    orders = np.zeros((n, n_sim))
    for s in range(n_sim):
        t = t0 + s
        on_hand += arrivals[:, s]
        if s % every == 0:
            hist = History(t, scenario.days, sold, out, first)
            policy.prepare(t, hist)
            for it in scenario.items:
                i = it.index
                if s == 0 and warm[i]:
                    on_hand[i] = float(math.ceil(max(policy.initial_stock(t, hist, it), 0.0)))
                    continue
                q = round_order(policy.decide(t, hist, float(on_hand[i]),
                                              float(arrivals[i, s + 1:].sum()), it),
                                it.moq, it.case_pack)
                if q > 0:
                    orders[i, s] = q
                    arrivals[i, min(s + int(lead[i, s]), n_sim)] += q
        served = np.minimum(dem[:, s], np.maximum(on_hand, 0.0))
        on_hand -= served
        sold[:, t] = served
        out[:, t] = on_hand <= 0
        on_hand_path[:, s] = on_hand
    skus = [it.sku for it in scenario.items]
    cost = np.array([float(it.unit_cost or 0.0) for it in scenario.items])
    per = measure(skus, dem, sold[:, t0:], on_hand_path, cost, review_days)
    return SimResult(skus=per, overall=overall(per, n_sim), on_hand=on_hand_path,
                     served=sold[:, t0:], demand=dem, orders=orders,
                     receipts=arrivals[:, :n_sim])

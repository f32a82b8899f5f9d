"""Customer population: a BG/NBD repeat-buying process per customer.

Each customer ``i`` has a home channel group (online store, marketplace or one retail
store), a join time ``t0`` (continuous days since the first day; 30 % join in the first 30
days, the rest uniformly over the history), a purchase rate ``lambda_i = c_g * x_i`` with
``x_i ~ Gamma(0.6, 1)`` (capped at 0.5 per day) and a dropout probability
``p_i ~ Beta(0.8, 3)``. The first shopping trip is at ``t0``; then trips follow a Poisson
process with rate ``lambda_i`` and, after each repeat trip, the customer drops out for good
with probability ``p_i``. ``c_g`` is calibrated per group so that the expected number of trips
within the history equals a target share of that group's orders (web 35 %, marketplace 25 %,
POS 10 %; consumable re-buys claim more on top, see :mod:`sandbox.matching`), using the
BG/NBD individual mean ``E[X(t)] = (1 - exp(-lambda p t)) / p`` repeat trips. Trips are
simulated 365 days past the end so that the next trip after the end is known.

Truth semantics: ``rate_per_day`` = ``lambda_i``; ``dropout_p`` = ``p_i``; ``dropout_date`` =
day of the trip after which the customer dropped out (NaT if not within the look-ahead);
``alive_at_end`` = not dropped out by the end of the last day; ``next_trip_date`` = first
trip after the last day (NaT if dead at the end or none within 365 days).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from sandbox.model import Calendar

__all__ = [
    "Population", "GROUP_SHARES", "LOOKAHEAD_DAYS", "build_population", "customer_ids",
    "customers_frame",
]

#: Target share of orders placed by customers' own trips, per channel group kind.
GROUP_SHARES = {"web": 0.35, "marketplace": 0.25, "pos": 0.10}
LOOKAHEAD_DAYS = 365
_R, _A, _B = 0.6, 0.8, 3.0
_MAX_RATE = 0.5
_FIRST = ("Ada", "Ben", "Chloe", "David", "Emma", "Felix", "Grace", "Hugo", "Iris", "Jonas",
          "Kara", "Liam", "Mia", "Noah", "Olivia", "Paul", "Quinn", "Rosa", "Sam", "Tara",
          "Umar", "Vera", "Will", "Xena", "Yusuf", "Zoe")
_LAST = ("Smith", "Jones", "Miller", "Garcia", "Chen", "Novak", "Rossi", "Müller", "Kim",
         "Dubois", "Silva", "Okafor", "Larsen", "Nakamura", "Schmidt", "Brown", "Wilson")


@dataclass
class Population:
    """Customers (index ``i``, ordered by join time) and their simulated trips."""

    group: np.ndarray
    rate: np.ndarray
    dropout: np.ndarray
    join: np.ndarray
    death: np.ndarray  # time of the dropout trip, inf if none within the look-ahead
    trip_c: np.ndarray  # trips within the history, sorted by time
    trip_t: np.ndarray
    next_trip: np.ndarray  # first trip after the history, nan if none (or dead)
    accepts_marketing: np.ndarray
    first_name: np.ndarray
    last_name: np.ndarray

    @property
    def n(self) -> int:
        """Number of customers."""
        return len(self.rate)


def _expected_trips(c: float, x: np.ndarray, p: np.ndarray, exposure: np.ndarray) -> float:
    lam = np.minimum(c * x, _MAX_RATE)
    return float(np.sum(1.0 - np.expm1(-lam * p * exposure) / p))


def _calibrate(target: float, x: np.ndarray, p: np.ndarray, exposure: np.ndarray) -> float:
    lo, hi = np.log(1e-7), np.log(1e3)
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        if _expected_trips(float(np.exp(mid)), x, p, exposure) < target:
            lo = mid
        else:
            hi = mid
    return float(np.exp(0.5 * (lo + hi)))


def build_population(rng: np.random.Generator, n_customers: int, n_days: int,
                     group_orders: np.ndarray) -> Population:
    """Draw customers and simulate their trips.

    Args:
        rng: The shop's random generator.
        n_customers: Number of customers.
        n_days: Length of the history in days.
        group_orders: Number of orders per channel group (web, marketplace, POS per store).

    Returns:
        The population with its trips.
    """
    n_g = len(group_orders)
    shares = np.array([GROUP_SHARES["web"], GROUP_SHARES["marketplace"]]
                      + [GROUP_SHARES["pos"]] * (n_g - 2))
    target = shares * group_orders
    w = target / target.sum() if target.sum() > 0 else np.r_[1.0, np.zeros(n_g - 1)]
    group = rng.choice(n_g, size=n_customers, p=w)
    early = rng.random(n_customers) < 0.3
    join = np.where(early, rng.uniform(0, min(30, n_days), n_customers),
                    rng.uniform(0, n_days, n_customers))
    x = rng.gamma(_R, 1.0, size=n_customers)
    p = np.clip(rng.beta(_A, _B, size=n_customers), 1e-4, 1.0)
    order = np.argsort(join, kind="stable")
    group, join, x, p = group[order], join[order], x[order], p[order]
    exposure = n_days - join
    rate = np.zeros(n_customers)
    for g in range(n_g):
        sel = group == g
        if sel.any():
            c = _calibrate(target[g], x[sel], p[sel], exposure[sel])
            rate[sel] = np.minimum(c * x[sel], _MAX_RATE)
    rate = np.maximum(rate, 1e-6)

    horizon = n_days + LOOKAHEAD_DAYS
    t = join.copy()
    death = np.full(n_customers, np.inf)
    cs, ts = [np.arange(n_customers)], [join.copy()]
    active = np.arange(n_customers)
    while active.size:
        t[active] += rng.exponential(1.0 / rate[active])
        active = active[t[active] < horizon]
        cs.append(active)
        ts.append(t[active])
        die = rng.random(active.size) < p[active]
        death[active[die]] = t[active[die]]
        active = active[~die]
    all_c, all_t = np.concatenate(cs), np.concatenate(ts)
    inside = all_t < n_days
    o = np.argsort(all_t[inside], kind="stable")
    trip_c, trip_t = all_c[inside][o], all_t[inside][o]
    next_trip = np.full(n_customers, np.nan)
    after_c, after_t = all_c[~inside], all_t[~inside]
    o = np.argsort(after_t, kind="stable")[::-1]
    next_trip[after_c[o]] = after_t[o]  # the earliest trip is written last
    next_trip[death < n_days] = np.nan

    return Population(
        group=group, rate=rate, dropout=p, join=join, death=death, trip_c=trip_c, trip_t=trip_t,
        next_trip=next_trip,
        accepts_marketing=rng.random(n_customers) < 0.6,
        first_name=np.array(_FIRST, dtype=object)[rng.integers(len(_FIRST), size=n_customers)],
        last_name=np.array(_LAST, dtype=object)[rng.integers(len(_LAST), size=n_customers)],
    )


def customer_ids(n: int) -> np.ndarray:
    """External ids of customers ``0..n-1``."""
    return np.array([str(7_000_000_001 + i) for i in range(n)], dtype=object)


def customers_frame(pop: Population, cal: Calendar, ids: np.ndarray,
                    first_order: pd.Series | None = None) -> pd.DataFrame:
    """The ``customers`` intake frame (fake contact data).

    Args:
        pop: The customers.
        cal: The calendar.
        ids: External ids of the customers.
        first_order: ``created_at`` of each customer's first order, indexed by external id;
            ``created_at`` is the join time, or the first order's time if that is earlier
            (a trip on the join day may claim an order placed earlier that day).

    Returns:
        The frame with the columns of ``core.records.COLUMNS["customers"]``.
    """
    n = pop.n
    num = np.arange(1, n + 1)
    created = pd.Series(cal.utc(np.zeros(n, np.int64), np.floor(pop.join * 86400.0)), index=ids)
    if first_order is not None:
        created = created.where(~(first_order.reindex(ids) < created), first_order.reindex(ids))
    return pd.DataFrame({
        "external_id": ids,
        "created_at": created.to_numpy(),
        "email": [f"cust{i}@example.test" for i in num],
        "first_name": pop.first_name,
        "last_name": pop.last_name,
        "phone": [f"+1555{i:07d}" for i in num],
        "accepts_marketing": pop.accepts_marketing,
    })

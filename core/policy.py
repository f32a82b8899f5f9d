"""Replenishment policy: safety stock, reorder point, order-up-to level, order quantity.

restock plans with a periodic-review order-up-to (R, S) system (Silver, Pyke & Peterson,
*Inventory and Production Management in Supply Chains*, 4th ed., ch. 7): every R days the
inventory position IP = on hand + on order - committed is raised to S. An order placed now
arrives after the lead time L, and the next chance to order is R days later, so S must
cover the *protection interval* L + R:

- sigma_P   = sqrt(P * sigma_d^2 + mu_d^2 * sigma_L^2), P the protection interval in days,
  sigma_d the standard deviation of daily forecast errors, mu_d the mean daily forecast,
  sigma_L the lead time's standard deviation in days (the lead-time-variability term).
- safety stock     SS = z * sigma_(L+R); with R = 0 and a fixed lead time this is the
  classic z * sigma * sqrt(L).
- reorder point    ROP = D(L) + z * sigma_L: the position at which a stockout before an
  order placed today arrives becomes likelier than the service level allows (shown so the
  merchant sees urgency; below it an order is urgent).
- order-up-to      S = D(L + R) + SS.
- recommended qty  q = max(0, S - IP), rounded half up to whole units, raised to the MOQ
  and rounded up to a multiple of the case pack.

D(t) is the forecast demand over the next t days (fractional days interpolated); z is the
standard normal quantile of the cycle service level.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np

__all__ = ["z_value", "sigma_over", "demand_over", "round_order", "PolicyResult", "plan_item"]


def z_value(service_level: float) -> float:
    """Standard normal quantile for a cycle service level in (0, 1)."""
    if not 0.0 < service_level < 1.0:
        raise ValueError(f"service level must be between 0 and 1 (exclusive), got {service_level}")
    return NormalDist().inv_cdf(service_level)


def sigma_over(days: float, sigma_d: float, mu_d: float, lead_time_std: float = 0.0) -> float:
    """Standard deviation of demand over ``days``: sqrt(days*sigma_d^2 + mu_d^2*sigma_L^2)."""
    return math.sqrt(max(days, 0.0) * sigma_d ** 2 + (mu_d * lead_time_std) ** 2)


def demand_over(daily: np.ndarray, days: float) -> float:
    """Forecast units over the next ``days`` days from a daily forecast (interpolating).

    Beyond the forecast's end the last day's value is repeated.
    """
    daily = np.asarray(daily, dtype=float)
    if days <= 0 or daily.size == 0:
        return 0.0
    whole = int(math.floor(days))
    if whole > daily.size:
        daily = np.concatenate([daily, np.repeat(daily[-1], whole - daily.size + 1)])
    total = float(daily[:whole].sum())
    frac = days - whole
    if frac > 0:
        nxt = daily[whole] if whole < daily.size else daily[-1]
        total += frac * float(nxt)
    return total


def round_order(raw: float, moq: int = 1, case_pack: int = 1) -> int:
    """Round a raw need to an order quantity: half up to units, >= MOQ, case-pack multiple.

    >>> round_order(0.4), round_order(3.5, moq=10), round_order(13, case_pack=6)
    (0, 10, 18)
    """
    units = int(math.floor(raw + 0.5)) if raw > 0 else 0
    if units <= 0:
        return 0
    moq, case_pack = max(int(moq or 1), 1), max(int(case_pack or 1), 1)
    units = max(units, moq)
    return int(math.ceil(units / case_pack) * case_pack)


@dataclass(frozen=True)
class PolicyResult:
    safety_stock: float
    reorder_point: float
    order_up_to: float
    inventory_position: float
    recommended_qty: int


def plan_item(daily_forecast: np.ndarray, sigma_d: float, service_level: float,
              lead_time: float, review_days: float, on_hand: float, on_order: float,
              committed: float, lead_time_std: float = 0.0, moq: int = 1,
              case_pack: int = 1) -> PolicyResult:
    """Apply the (R, S) policy of the module docstring to one SKU x location."""
    z = z_value(service_level)
    protect = lead_time + review_days
    mu = demand_over(daily_forecast, protect) / protect if protect > 0 else 0.0
    ss = z * sigma_over(protect, sigma_d, mu, lead_time_std)
    rop = demand_over(daily_forecast, lead_time) + z * sigma_over(lead_time, sigma_d, mu,
                                                                 lead_time_std)
    s = demand_over(daily_forecast, protect) + ss
    ip = on_hand + on_order - committed
    qty = round_order(s - ip, moq, case_pack)
    return PolicyResult(safety_stock=ss, reorder_point=rop, order_up_to=s,
                        inventory_position=ip, recommended_qty=qty)

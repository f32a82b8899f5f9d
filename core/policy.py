"""Replenishment policy: safety stock, reorder point, order-up-to level, order quantity.

restock plans with a periodic-review order-up-to (R, S) system (Silver, Pyke & Peterson,
*Inventory and Production Management in Supply Chains*, 4th ed., ch. 7): every R days the
inventory position IP = on hand + on order - committed is raised to S. An order placed now
arrives after the lead time L, and the next chance to order is R days later, so S must
cover the *protection interval* L + R:

- sigma_P   = sqrt(P * sigma_d^2 + mu_d^2 * sigma_L^2), P the protection interval in days,
  sigma_d the standard deviation of daily forecast errors, mu_d the mean daily forecast,
  sigma_L the lead time's standard deviation in days (the lead-time-variability term). The
  plan and the simulator pass as sigma_d the daily equivalent of
  :meth:`core.uncertainty.Uncertainty.sigma_d`, which adds the forecast's level error over
  P (P^2 Var(level)) to shrunk daily noise.
- safety stock     SS = z * sigma_(L+R); with R = 0 and a fixed lead time this is the
  classic z * sigma * sqrt(L).
- reorder point    ROP = D(L) + z * sigma_L: the position at which a stockout before an
  order placed today arrives becomes likelier than the service level allows (shown so the
  merchant sees urgency; below it an order is urgent).
- order-up-to      S = D(L + R) + SS.
- recommended qty  q = max(0, S - IP), rounded half up to whole units, then:

  * case packs: the nearest multiple of the case pack, but never one that leaves the
    position after ordering below the reorder point (then the next multiple up);
  * MOQ (restock's rounding rule): a need below the MOQ is raised to the MOQ when the order
    is urgent (IP <= ROP: a stockout is likely before the next chance to order) or when the
    units beyond S would sell within ``max_surplus_days`` (default 60) at the forecast
    rate; otherwise nothing is ordered now and the line says why, because carrying months
    of surplus costs more than waiting a review period.

Service level per SKU (:func:`service_level_for`): the level set for its ABC x XYZ class
(or ABC class, or the default), then weighted by the customers' lifetime value: with LTV
weight w (1 = an average SKU; clipped to [0.5, 2]) the shortage probability is divided by
w, SL' = 1 - (1 - SL) / w, kept within [0.50, 0.995].

D(t) is the forecast demand over the next t days (fractional days interpolated); z is the
standard normal quantile of the cycle service level.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np

__all__ = ["z_value", "sigma_over", "demand_over", "round_order", "PolicyResult", "plan_item",
           "service_level_for", "apply_pack_rules", "cycle_level_for"]


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


def service_level_for(default: float, levels: dict, abc: str | None, xyz: str | None,
                      ltv_weight: float | None = None) -> float:
    """The SKU's cycle service level (see module docstring)."""
    sl = levels.get(f"{abc}{xyz}", levels.get(abc, default)) if levels else default
    if ltv_weight is not None and ltv_weight == ltv_weight and ltv_weight > 0:
        w = min(max(float(ltv_weight), 0.5), 2.0)
        sl = 1.0 - (1.0 - sl) / w
    return float(min(max(sl, 0.50), 0.995))


def cycle_level_for(kind: str, target: float, daily: np.ndarray, sigma_d: float,
                    lead_time: float, review_days: float, lead_time_std: float = 0.0,
                    moq: int = 1, case_pack: int = 1) -> float:
    """The cycle service level whose normal quantile meets ``target`` of ``kind``.

    ``"cycle"``: the target itself. ``"fill"``: the safety factor k solving the fill-rate
    equation of :mod:`core.service` (P2 = 1 - sigma_P G(k) / mu_Q with sigma_P over L + R
    and mu_Q the demand per order cycle, :func:`core.service.order_cycle_units` of mu * R,
    the MOQ and the case pack), returned as Phi(k) so :func:`plan_item` uses k.
    """
    from .service import equivalent_cycle_level, order_cycle_units, safety_factor

    if kind == "cycle":
        return target
    protect = lead_time + review_days
    mu = demand_over(daily, protect) / protect if protect > 0 else 0.0
    sp = sigma_over(protect, sigma_d, mu, lead_time_std)
    mu_q = order_cycle_units(mu * review_days, moq, case_pack) if mu > 0 else 0.0
    return equivalent_cycle_level(safety_factor(kind, target, mu_q, sp))


def apply_pack_rules(raw: float, position: float, reorder_point: float, mu: float,
                     moq: int = 1, case_pack: int = 1,
                     max_surplus_days: float = 60.0) -> tuple[int, str | None]:
    """Turn a raw need S - IP into an order quantity and an optional note (module docstring)."""
    units = int(math.floor(raw + 0.5)) if raw > 0 else 0
    if units <= 0:
        return 0, None
    moq, case = max(int(moq or 1), 1), max(int(case_pack or 1), 1)
    if case > 1:
        down, up = (units // case) * case, -(-units // case) * case
        nearest = down if units - down < up - units else up
        if nearest == 0 or position + nearest < reorder_point:
            nearest = up
        units = nearest
    if units < moq:
        urgent = position <= reorder_point
        surplus = moq - raw
        if urgent or (mu > 0 and surplus / mu <= max_surplus_days):
            units = -(-moq // case) * case
        else:
            days = "many" if mu <= 0 else f"{surplus / mu:.0f}"
            return 0, (f"need {raw:.1f} is below the MOQ {moq}; ordering it would add "
                       f"{days} days of surplus, so it waits until it is needed")
    return int(units), None


@dataclass(frozen=True)
class PolicyResult:
    safety_stock: float
    reorder_point: float
    order_up_to: float
    inventory_position: float
    recommended_qty: int
    note: str | None = None


def plan_item(daily_forecast: np.ndarray, sigma_d: float, service_level: float,
              lead_time: float, review_days: float, on_hand: float, on_order: float,
              committed: float, lead_time_std: float = 0.0, moq: int = 1,
              case_pack: int = 1, max_surplus_days: float = 60.0,
              levels: tuple[float, float, float] | None = None) -> PolicyResult:
    """Apply the (R, S) policy of the module docstring to one SKU x location.

    ``levels`` = (safety stock, reorder point, order-up-to) computed another way (for
    example :func:`core.policy_empirical.empirical_levels`) replaces the normal formulas.
    """
    protect = lead_time + review_days
    mu = demand_over(daily_forecast, protect) / protect if protect > 0 else 0.0
    if levels is not None:
        ss, rop, s = levels
    else:
        z = z_value(service_level)
        ss = z * sigma_over(protect, sigma_d, mu, lead_time_std)
        rop = demand_over(daily_forecast, lead_time) + z * sigma_over(lead_time, sigma_d, mu,
                                                                     lead_time_std)
        s = demand_over(daily_forecast, protect) + ss
    ip = on_hand + on_order - committed
    qty, note = apply_pack_rules(s - ip, ip, rop, mu, moq, case_pack, max_surplus_days)
    return PolicyResult(safety_stock=ss, reorder_point=rop, order_up_to=s,
                        inventory_position=ip, recommended_qty=qty, note=note)

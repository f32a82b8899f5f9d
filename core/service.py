"""Safety factors for a cycle-service or a fill-rate target in a periodic-review (R, S) system.

Two service measures (Silver, Pyke & Peterson, *Inventory and Production Management in
Supply Chains*, 4th ed., sections 6.7-6.9 and 7.3):

- **cycle service level** P1: the probability of no stockout in a replenishment cycle. With
  normally distributed demand over the protection interval L + R the safety factor is the
  normal quantile ``k = Phi^-1(P1)``.
- **fill rate** P2: the fraction of demand served from stock. The expected units short per
  review cycle (ESPRC) of an order-up-to level S = mu_P + k * sigma_P is

      ESPRC = sigma_P * G(k),   G(k) = phi(k) - k * (1 - Phi(k))

  where mu_P, sigma_P are the mean and standard deviation of demand over the protection
  interval L + R, and G is the standard normal loss function (expected shortfall of a unit
  normal beyond k). One cycle meets mu_R = mu_d * R units of demand on average, so

      P2 = 1 - sigma_P * G(k) / mu_R      (SPP eq. 7.5, the backorder approximation)

  and :func:`fill_rate_k` solves G(k) = (1 - P2) * mu_R / sigma_P for k by bisection (G is
  strictly decreasing). With lost sales the approximation errs slightly on the safe side
  (lost demand does not carry over into the next cycle).

**Order minimums.** With an MOQ or a case pack larger than a review period's demand, an
order is placed only every few reviews and each one is at least that large; a shortage can
occur once per *order* cycle, which meets E[Q] units of demand, not once per review. So the
fill-rate equation uses mu_R = :func:`order_cycle_units` = max(mu_d R, case pack, MOQ
rounded up to case packs) (SPP eq. 6.23, P2 = 1 - sigma G(k) / Q, for the (s, Q) system
such an (R, S) policy becomes). Ignoring it over-protects such SKUs: each of their large
orders already carries the surplus as cycle stock.

The safety factor is searched in [K_MIN, K_MAX]; a target that would need a k outside it
gets the bound. k may be negative: when the allowed shortage (1 - P2) * mu_R is large
beside sigma_P (fast, predictable items), S may sit below the mean protection demand.
"""
from __future__ import annotations

import math
from statistics import NormalDist

__all__ = ["K_MIN", "K_MAX", "SERVICE_KINDS", "normal_loss", "fill_rate_of_k", "fill_rate_k",
           "cycle_k", "safety_factor", "equivalent_cycle_level", "order_cycle_units"]

K_MIN = -4.0
K_MAX = 6.0
SERVICE_KINDS = ("fill", "cycle")
_N = NormalDist()


def normal_loss(k: float) -> float:
    """Standard normal loss function G(k) = phi(k) - k * (1 - Phi(k)) = E[max(Z - k, 0)].

    >>> round(normal_loss(0.0), 4)
    0.3989
    """
    return _N.pdf(k) - k * (1.0 - _N.cdf(k))


def fill_rate_of_k(k: float, mu_r: float, sigma_p: float) -> float:
    """Fill rate of safety factor ``k``: 1 - sigma_P * G(k) / mu_R (clipped to [0, 1])."""
    if mu_r <= 0:
        return 1.0
    return min(1.0, max(0.0, 1.0 - sigma_p * normal_loss(k) / mu_r))


def fill_rate_k(target: float, mu_r: float, sigma_p: float, tol: float = 1e-7) -> float:
    """Safety factor k that gives fill rate ``target`` (SPP loss-function method).

    Solves ``1 - sigma_P * G(k) / mu_R = target`` for k by bisection on [K_MIN, K_MAX].

    Args:
        target: fill rate P2 in (0, 1).
        mu_r: expected demand per review cycle, mu_d * R (units).
        sigma_p: standard deviation of demand over the protection interval L + R (units).
        tol: bisection tolerance on k.

    Returns:
        k; 0.0 when there is nothing uncertain (sigma_P = 0) or no demand (mu_R = 0).

    Raises:
        ValueError: if ``target`` is not in (0, 1).

    >>> round(fill_rate_k(0.95, mu_r=70.0, sigma_p=18.0), 3)
    0.511
    """
    if not 0.0 < target < 1.0:
        raise ValueError(f"fill rate target must be between 0 and 1 (exclusive), got {target}")
    if sigma_p <= 0 or mu_r <= 0:
        return 0.0
    want = (1.0 - target) * mu_r / sigma_p  # G(k) must equal this
    lo, hi = K_MIN, K_MAX
    if normal_loss(lo) <= want:
        return lo
    if normal_loss(hi) >= want:
        return hi
    while hi - lo > tol:
        mid = 0.5 * (lo + hi)
        if normal_loss(mid) > want:
            lo = mid
        else:
            hi = mid
    return 0.5 * (lo + hi)


def order_cycle_units(mu_r: float, moq: int = 1, case_pack: int = 1) -> float:
    """Expected demand met per order cycle: max(mu_R, case pack, MOQ up to case packs).

    >>> order_cycle_units(7.0), order_cycle_units(7.0, moq=10, case_pack=6)
    (7.0, 12.0)
    """
    case = max(int(case_pack or 1), 1)
    least = max(-(-max(int(moq or 1), 1) // case) * case, case)
    return max(float(mu_r), float(least) if least > 1 else 0.0)


def cycle_k(target: float) -> float:
    """Safety factor for a cycle service level: the normal quantile Phi^-1(P1)."""
    if not 0.0 < target < 1.0:
        raise ValueError(f"cycle service level must be between 0 and 1 (exclusive), got {target}")
    return _N.inv_cdf(target)


def safety_factor(kind: str, target: float, mu_r: float, sigma_p: float) -> float:
    """k for ``kind`` ``"fill"`` (:func:`fill_rate_k`) or ``"cycle"`` (:func:`cycle_k`)."""
    if kind == "fill":
        return fill_rate_k(target, mu_r, sigma_p)
    if kind == "cycle":
        return cycle_k(target)
    raise ValueError(f"service level kind must be one of {SERVICE_KINDS}, got {kind!r}")


def equivalent_cycle_level(k: float) -> float:
    """Phi(k), kept inside (0, 1): the cycle service level whose quantile is ``k``.

    :func:`core.policy.plan_item` takes a service level and uses its normal quantile as the
    safety factor; passing Phi(k) makes it use k.
    """
    return min(max(_N.cdf(k), 1e-12), 1.0 - 1e-12) if math.isfinite(k) else 0.5

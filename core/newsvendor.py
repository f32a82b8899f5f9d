"""The newsvendor (single-period) model behind a season buy.

One order must serve a whole season; units short lose the margin ``Cu = price - unit cost``,
units left at the season's end are marked down and lose ``Co = unit cost - salvage value``.
The expected-profit-maximising stock level is the critical fractile (Silver, Pyke &
Peterson, *Inventory and Production Management in Supply Chains*, 4th ed., sec. 11.2;
Nahmias, *Production and Operations Analysis*, sec. 5.3):

    CR = Cu / (Cu + Co),        Q* = F^-1(CR)

with F the distribution of season demand D. For a stock level Q:

- expected sales        S(Q) = E[min(D, Q)]
- expected leftover     Q - S(Q)
- expected sell-through S(Q) / Q (decreasing in Q)

Season demand is described by its mean and standard deviation and modelled as

- **normal** when the coefficient of variation sd / mean is at most 1/3: a negative season
  demand then has probability under 0.13%, and S(Q) = mu - sigma * G(z), z = (Q - mu) / sigma,
  with G(z) = phi(z) - z * (1 - Phi(z)) the unit normal loss function (SPP sec. B.5);
- **gamma** with the same mean and variance otherwise (low volumes, or a very uncertain
  season): shape k = (mu / sigma)^2, scale theta = sigma^2 / mu; it is never negative and
  skewed to the right like a slow seller's season, and S(Q) = mu * F_(k+1)(Q) +
  Q * (1 - F_k(Q)), F_a the gamma cdf of shape a and scale theta (the partial expectation
  of a gamma variate, e.g. Nahmias sec. 5.3 problems);
- a point mass at the mean when sd = 0.

A sell-through target t caps the level: the expected sell-through S(Q)/Q must not fall
below t, so the level is min(Q*, the largest Q with S(Q)/Q >= t), found by bisection.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist

from scipy.special import gammainc, gammaincinv

__all__ = ["NORMAL_MAX_CV", "SeasonDemand", "critical_ratio", "stock_level"]

#: Largest coefficient of variation modelled by a normal distribution.
NORMAL_MAX_CV = 1.0 / 3.0
_N = NormalDist()


def critical_ratio(price: float, unit_cost: float, salvage: float) -> float:
    """CR = Cu / (Cu + Co) with Cu = price - unit cost and Co = unit cost - salvage.

    A unit that cannot earn a margin (price <= cost) gives 0; a leftover that loses nothing
    (salvage >= cost) with a positive margin gives 1.

    Raises:
        ValueError: a price or cost that is negative or not a number.
    """
    for name, v in (("price", price), ("unit cost", unit_cost), ("salvage value", salvage)):
        if v is None or not math.isfinite(v) or v < 0:
            raise ValueError(f"{name} must be a number >= 0, got {v!r}")
    cu, co = price - unit_cost, unit_cost - salvage
    if cu <= 0:
        return 0.0
    if co <= 0:
        return 1.0
    return cu / (cu + co)


@dataclass(frozen=True)
class SeasonDemand:
    """Season demand with ``mean`` and standard deviation ``sd`` (both >= 0)."""

    mean: float
    sd: float

    def __post_init__(self):
        if not (math.isfinite(self.mean) and self.mean >= 0):
            raise ValueError(f"season demand mean must be a number >= 0, got {self.mean!r}")
        if not (math.isfinite(self.sd) and self.sd >= 0):
            raise ValueError(f"season demand sd must be a number >= 0, got {self.sd!r}")

    @property
    def kind(self) -> str:
        """``point``, ``normal`` or ``gamma`` (see the module docstring)."""
        if self.sd <= 0 or self.mean <= 0:
            return "point"
        return "normal" if self.sd / self.mean <= NORMAL_MAX_CV else "gamma"

    def _gamma(self) -> tuple[float, float]:
        return (self.mean / self.sd) ** 2, self.sd ** 2 / self.mean

    def quantile(self, p: float) -> float:
        """F^-1(p), floored at 0; p = 0 gives 0 and p = 1 the 99.9% point."""
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"probability must be between 0 and 1, got {p}")
        p = min(p, 0.999)
        kind = self.kind
        if kind == "point" or p <= 0:
            return self.mean if kind == "point" and p > 0 else 0.0
        if kind == "normal":
            return max(0.0, self.mean + self.sd * _N.inv_cdf(p))
        k, theta = self._gamma()
        return float(theta * gammaincinv(k, p))

    def expected_sales(self, q: float) -> float:
        """S(q) = E[min(D, q)]."""
        if q <= 0:
            return 0.0
        kind = self.kind
        if kind == "point":
            return min(self.mean, q)
        if kind == "normal":
            z = (q - self.mean) / self.sd
            loss = _N.pdf(z) - z * (1.0 - _N.cdf(z))
            return max(0.0, self.mean - self.sd * loss)
        k, theta = self._gamma()
        x = q / theta
        return float(self.mean * gammainc(k + 1.0, x) + q * (1.0 - gammainc(k, x)))

    def expected_leftover(self, q: float) -> float:
        """E[(q - D)+] = q - S(q)."""
        return max(0.0, q - self.expected_sales(q)) if q > 0 else 0.0

    def sell_through(self, q: float) -> float:
        """S(q) / q; 1 for q <= 0 (nothing bought, nothing left)."""
        return self.expected_sales(q) / q if q > 0 else 1.0


def stock_level(demand: SeasonDemand, cr: float, sell_through: float) -> tuple[float, bool]:
    """The season's stock level: Q* = F^-1(cr), lowered until the expected sell-through
    reaches ``sell_through`` (0 disables the cap).

    Returns:
        (level, capped): ``capped`` is True when the sell-through target lowered Q*.
    """
    if not 0.0 <= sell_through < 1.0:
        raise ValueError(f"sell-through target must be in [0, 1), got {sell_through}")
    level = demand.quantile(cr)
    if level <= 0 or demand.sell_through(level) >= sell_through:
        return level, False
    lo, hi = 0.0, level  # sell_through(lo+) = 1 >= target > sell_through(hi)
    for _ in range(60):
        mid = (lo + hi) / 2
        if demand.sell_through(mid) >= sell_through:
            lo = mid
        else:
            hi = mid
    return lo, True

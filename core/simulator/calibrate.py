"""Compare policies at equal service: tune a policy parameter to reach a given fill rate.

Policies are compared on stock *at equal fill rate*: a policy's parameter p (the velocity
rule's extra days N, a target service level, ...) is tuned so that its fill rate F(p)
equals the reference fill rate F*. F rises with p, though in steps (whole units, rounded
orders), so :func:`match_fill` bisects on p and then interpolates linearly between the
final bracket [p_lo, p_hi] with F(p_lo) < F* <= F(p_hi):

    w = (F* - F(p_lo)) / (F(p_hi) - F(p_lo)),  p* = p_lo + w (p_hi - p_lo),
    stock* = stock(p_lo) + w (stock(p_hi) - stock(p_lo)).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

__all__ = ["Match", "match_fill", "fill_and_stock"]


@dataclass(frozen=True)
class Match:
    """``param`` and ``stock`` at fill ``fill``; ``exact`` is False when the target lies
    outside [F(lo), F(hi)] (then the bound's values are returned)."""

    param: float
    fill: float
    stock: float
    exact: bool


def fill_and_stock(result, rows=None, stock: str = "avg_on_hand_value") -> tuple[float, float]:
    """Units-weighted fill rate and summed average stock of a :class:`SimResult` (rows:
    optional positions of the SKUs to pool)."""
    sk = result.skus if rows is None else result.skus.iloc[list(rows)]
    dem = float(sk["demand_units"].sum())
    return (float(sk["served_units"].sum()) / dem if dem > 0 else 1.0,
            float(sk[stock].sum()))


def match_fill(run_at: Callable[[float], tuple[float, float]], target: float, lo: float,
               hi: float, iters: int = 10) -> Match:
    """Tune p in [lo, hi] so that ``run_at(p)[0]`` (the fill) equals ``target``.

    Args:
        run_at: p -> (fill rate, stock).
        target: the fill rate to reach.
        lo, hi: the search range (F rises with p).
        iters: bisection steps.
    """
    f_lo, s_lo = run_at(lo)
    f_hi, s_hi = run_at(hi)
    if target <= f_lo:
        return Match(lo, f_lo, s_lo, target == f_lo)
    if target > f_hi:
        return Match(hi, f_hi, s_hi, False)
    for _ in range(iters):
        mid = 0.5 * (lo + hi)
        f_m, s_m = run_at(mid)
        if f_m >= target:
            hi, f_hi, s_hi = mid, f_m, s_m
        else:
            lo, f_lo, s_lo = mid, f_m, s_m
    w = (target - f_lo) / (f_hi - f_lo) if f_hi > f_lo else 1.0
    return Match(lo + w * (hi - lo), target, s_lo + w * (s_hi - s_lo), True)

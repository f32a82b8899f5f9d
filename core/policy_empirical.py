"""Safety stock from the empirical lead-time demand distribution (selectable beside the
normal approximation of :mod:`core.policy`).

Lead-time demand is simulated from the forecast and its own holdout errors: for each of
``samples`` draws, a protection interval P = max(1, round(N(L, sigma_L))) + R days is drawn
(so lead-time variability is included), and demand over it is the forecast plus a
contiguous block of P holdout errors (actual - forecast) starting at a random day and
wrapping around, which keeps the errors' day-to-day correlation. Negative totals count as
zero. The order-up-to level S is the service-level quantile of those totals, the safety
stock SS = S - D(L + R), and the reorder point the same quantile with R = 0.
"""
from __future__ import annotations

import numpy as np

from .policy import demand_over

__all__ = ["empirical_levels"]


def _quantile_ltd(daily: np.ndarray, residuals: np.ndarray, level: float, lead: float,
                  lead_std: float, review: float, samples: int, rng) -> float:
    n = residuals.size
    periods = np.maximum(1, np.rint(rng.normal(lead, lead_std, samples))).astype(int) \
        + int(round(review))
    horizon = int(periods.max())
    f = np.asarray(daily, dtype=float)
    if f.size < horizon:
        f = np.concatenate([f, np.repeat(f[-1] if f.size else 0.0, horizon - f.size)])
    cum_f = np.concatenate([[0.0], np.cumsum(f[:horizon])])
    starts = rng.integers(0, n, samples)
    # the error block of draw i: residuals[(starts[i] + k) % n] for k < periods[i]
    wrapped = np.concatenate([residuals] * (horizon // n + 2))
    cum_r = np.concatenate([[0.0], np.cumsum(wrapped)])
    totals = cum_f[periods] + cum_r[starts + periods] - cum_r[starts]
    return float(np.quantile(np.maximum(totals, 0.0), level))


def empirical_levels(daily: np.ndarray, residuals: np.ndarray, service_level: float,
                     lead_time: float, review_days: float, lead_time_std: float = 0.0,
                     samples: int = 500, seed: int = 0) -> tuple[float, float, float]:
    """Return (safety stock, reorder point, order-up-to) from the empirical distribution.

    With no residuals (too little history) the forecast alone is used: SS = 0.
    """
    residuals = np.asarray(residuals, dtype=float)
    if residuals.size == 0:
        residuals = np.zeros(1)
    rng = np.random.default_rng(seed)
    s = _quantile_ltd(daily, residuals, service_level, lead_time, lead_time_std, review_days,
                      samples, rng)
    rop = _quantile_ltd(daily, residuals, service_level, lead_time, lead_time_std, 0.0,
                        samples, rng)
    ss = max(0.0, s - demand_over(daily, lead_time + review_days))
    return ss, rop, max(s, demand_over(daily, lead_time + review_days))

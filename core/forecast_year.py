"""Yearly seasonality: a test for it and a model that forecasts with it (``YearShape``).

Works on weekly totals (weeks ending at the forecast origin, at most ``MAX_WEEKS``), by the
classical ratio-to-moving-average decomposition:

- trend-cycle ``C_j``: the centred 52-week moving average of the weekly totals (at the ends,
  where no full centred window exists, the nearest full one);
- seasonal ratio ``r_j = W_j / C_j`` (trend removed, so a growing or declining SKU has no
  yearly pattern), smoothed by a centred 5-week mean into ``s_j``.

**Test.** Without a yearly pattern the smoothed ratios vary only by sampling noise: with
``e_j = r_j - s_j`` the noise variance of a 5-week mean is ``var(e) / 4`` (``e`` holds 4/5
of the noise variance, the mean 1/5). The series is *yearly seasonal* when ``var(s)`` exceeds
that by more than the 95% point of F(n/5, n - n/5) (n weeks with a full centred 52-week
window, so the trend is not extrapolated; the 5-week smoothing leaves about n/5
independent values). On sandbox shops (seeds 7 and 11, 300 SKUs,
91 weeks of history) the variance ratio has a median of 0.9-1.1 for smooth, intermittent,
trending and lumpy SKUs (the noise estimate is calibrated) and 2.8-3.8 for the seasonal
ones; 3-7% of the others pass the test and 67-84% of the seasonal ones.

**Model.** The seasonal index of a future week is the smoothed ratio one year (52 weeks)
before it, shrunk toward 1 by ``tau^2 / (tau^2 + noise)`` with ``tau^2 = var(s) - noise``
(empirical Bayes: a weak pattern is trusted little). The level is simple exponential
smoothing of the deseasonalised weekly totals ``W_j / index_j`` (alpha from 0.05, 0.1, 0.2,
0.3 by one-step squared error). Forecast of week h: level x index. Needs ``MIN_WEEKS``
(78) whole weeks; fewer give NaN (the model is not eligible).
"""
from __future__ import annotations

import warnings

import numpy as np
from scipy.stats import f as f_dist

__all__ = ["MIN_WEEKS", "ALPHAS", "weekly_totals", "seasonal_ratios", "yearly_seasonal",
           "year_shape_weeks"]

MIN_WEEKS = 78
MAX_WEEKS = 104
ALPHAS = np.array([0.05, 0.1, 0.2, 0.3])
_SMOOTH = 5


def weekly_totals(Y: np.ndarray, cut: int = 0) -> np.ndarray:
    """(n, k) whole-week totals ending ``cut`` days before the end of the right-aligned
    daily matrix ``Y`` (NaN where a week is partly before a series' first day)."""
    end = Y.shape[1] - cut
    k = min(MAX_WEEKS, max(end, 0) // 7)
    return Y[:, end - 7 * k:end].reshape(len(Y), k, 7).sum(axis=2)


def _window_means(x: np.ndarray, width: int, need: int) -> np.ndarray:
    """Centred moving means over ``width`` columns (the window of column j starts at
    j - width // 2); NaN where fewer than ``need`` finite values."""
    n, k = x.shape
    ok = np.isfinite(x)
    cs = np.concatenate([np.zeros((n, 1)), np.cumsum(np.where(ok, x, 0.0), axis=1)], axis=1)
    cc = np.concatenate([np.zeros((n, 1)), np.cumsum(ok, axis=1)], axis=1)
    lo = np.clip(np.arange(k) - width // 2, 0, k)
    hi = np.clip(np.arange(k) - width // 2 + width, 0, k)
    s, c = cs[:, hi] - cs[:, lo], cc[:, hi] - cc[:, lo]
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(c >= need, s / np.maximum(c, 1), np.nan)


def _fill_ends(x: np.ndarray) -> np.ndarray:
    """Each row's NaNs before its first / after its last finite value set to that value."""
    out = x.copy()
    for i in range(len(out)):
        ok = np.flatnonzero(np.isfinite(out[i]))
        if ok.size:
            out[i, :ok[0]] = out[i, ok[0]]
            out[i, ok[-1] + 1:] = out[i, ok[-1]]
    return out


def seasonal_ratios(W: np.ndarray, ends: bool = True) -> tuple[np.ndarray, np.ndarray,
                                                                   np.ndarray]:
    """Smoothed seasonal ratios ``s`` (n, k), their variance and the noise variance; with
    ``ends`` False only the weeks with a full centred 52-week window count."""
    trend = _window_means(W, 52, 52)
    trend = _fill_ends(trend) if ends else trend
    with np.errstate(invalid="ignore", divide="ignore"):
        r = np.where(trend > 0, W / trend, np.nan)
    s = _window_means(r, _SMOOTH, 3)
    e = r - s
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN rows give NaN
        signal = np.nanvar(s, axis=1)
        noise = np.nanvar(e, axis=1) / (_SMOOTH - 1)
    return s, signal, noise


def yearly_seasonal(W: np.ndarray, level: float = 0.95) -> np.ndarray:
    """Which rows of the weekly totals ``W`` have a yearly pattern (the module's test)."""
    out = np.zeros(len(W), dtype=bool)
    whole = np.isfinite(W).sum(axis=1)
    rows = np.flatnonzero(whole >= MIN_WEEKS)
    if rows.size == 0:
        return out
    s, signal, noise = seasonal_ratios(W[rows], ends=False)
    n = np.isfinite(s).sum(axis=1)
    dfn = np.maximum(n // _SMOOTH, 1)
    crit = f_dist.ppf(level, dfn, np.maximum(n - dfn, 1))
    out[rows] = (noise > 0) & (signal > crit * noise)
    return out


def _ses_level(D: np.ndarray) -> np.ndarray:
    """Level after simple exponential smoothing of each row (NaNs skipped), alpha from
    ALPHAS by the one-step squared error."""
    n, k = D.shape
    a = ALPHAS[None, :]
    level = np.full((n, ALPHAS.size), np.nan)
    sse = np.zeros((n, ALPHAS.size))
    for j in range(k):
        x = D[:, j:j + 1]
        ok = np.isfinite(x)
        start = ok & ~np.isfinite(level)
        err = np.where(ok & ~start, x - level, 0.0)
        sse += err ** 2
        level = np.where(start, x, np.where(ok, level + a * err, level))
    best = np.argmin(np.where(np.isfinite(level), sse, np.inf), axis=1)
    return level[np.arange(n), best]


def year_shape_weeks(W: np.ndarray, h_weeks: int) -> np.ndarray:
    """YearShape forecasts (n, h_weeks) of weekly totals after the last column of ``W``;
    NaN rows for series with fewer than MIN_WEEKS whole weeks."""
    n, k = W.shape
    out = np.full((n, h_weeks), np.nan)
    rows = np.flatnonzero(np.isfinite(W).sum(axis=1) >= MIN_WEEKS)
    if rows.size == 0:
        return out
    Wr = W[rows]
    s, signal, noise = seasonal_ratios(Wr)
    tau2 = np.maximum(signal - noise, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        w = np.where(tau2 > 0, tau2 / (tau2 + noise), 0.0)[:, None]
    s = _fill_ends(s)

    def index(pos: np.ndarray) -> np.ndarray:
        back = pos - 52 * np.ceil((pos - (k - 1)) / 52).clip(min=1).astype(int)
        back = np.clip(back, 0, k - 1)
        return np.clip(1.0 + w * (np.nan_to_num(s[:, back], nan=1.0) - 1.0), 0.05, None)

    past = np.full(Wr.shape, np.nan)
    past[:, 52:] = index(np.arange(52, k))
    with np.errstate(invalid="ignore", divide="ignore"):
        level = _ses_level(Wr / past)
    out[rows] = level[:, None] * index(np.arange(k, k + h_weeks))
    return out

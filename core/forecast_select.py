"""Choosing a model per series from rolling-origin errors, shrunk toward the class's best.

Input: for every candidate model its errors (actual - forecast) on every series, rolling
window and day, an array ``(n_series, n_windows, holdout)``. A model is eligible for a series
when it forecast every day of every window (a 84-day average has nothing to say about a
series with 60 days of history).

The rule (documented in :mod:`core.forecast`):

1. Each model's loss on a series is its mean squared error over all windows pooled.
2. The class's best model is the one with the lowest mean scaled error of the *window
   totals*: per series and window, |sum of the window's daily errors| / holdout / the
   series' in-sample naive MAE, averaged over the series and windows. Stock covers the
   demand of a lead time plus a review period, not of a single day, so what must be right
   is the level. A day's error is mostly noise no model can forecast: on sandbox shops (3
   seeds x 3 origins, 300 SKUs, scored against the true expected demand) the daily MASE of
   the candidates lay within 1% of each other while their 28-day level errors differed
   two-fold, and ranking on daily MASE picked ADIDA, whose level error (WAPE of 28-day
   totals against the truth) was 0.22 where weekly SES's was 0.14. Ranking on the window
   totals takes the model that gets the level right: level WAPE 0.224 -> 0.140 overall,
   smooth SKUs 0.153 -> 0.061, intermittent 0.216 -> 0.070 (with the weekday profile of
   :mod:`core.forecast_models`). Every candidate is a mean forecaster, so absolute error
   does not drift toward zero forecasts.
3. A combination candidate, the mean of the two best-ranked models (its error is the mean of
   their errors), joins the candidates; the ranking is redone with it.
4. Each series keeps the class's best model unless its own best model's MSE is lower by more
   than ``margin`` (a share of the class best's MSE; squared error here because stock is
   planned on the mean). Three windows of four weeks are little evidence; a per-series
   winner by a hair is mostly noise and forecasts worse on the next days than the model
   that wins across the class. ``margin`` 0.25 beat 0.10 on 6 of the 9 sandbox settings
   above.
5. With fewer than ``MIN_RANK_SERIES`` rankable series in the group (a shop with a handful
   of SKUs, or a recalculation of a few) there is no class evidence to shrink toward: each
   series takes its own best model.
"""
from __future__ import annotations

import numpy as np

__all__ = ["MARGIN", "MIN_RANK_SERIES", "combine", "rank_models", "choose"]

MARGIN = 0.25
MIN_RANK_SERIES = 20


def _mse(errors: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Per-series MSE over all windows and days; NaN where the model is not eligible."""
    out = {}
    for name, e in errors.items():
        flat = e.reshape(len(e), -1)
        ok = np.isfinite(flat).all(axis=1)
        out[name] = np.where(ok, np.mean(np.where(np.isfinite(flat), flat, 0.0) ** 2, axis=1),
                             np.nan)
    return out


def rank_models(errors: dict[str, np.ndarray], scale: np.ndarray) -> list[str]:
    """Model names best first by their mean scaled error of the window totals over the
    series and windows (rule 2 of the module docstring); a model that cannot forecast a
    share of the series is charged that share on top."""
    scores = {}
    for name, e in errors.items():
        flat = e.reshape(len(e), -1)
        mae = np.abs(e.sum(axis=2)).mean(axis=1) / e.shape[2] / scale
        ok = np.isfinite(mae)
        if ok.any():
            missing = float((~np.isfinite(flat).all(axis=1)).mean())
            scores[name] = float(np.mean(mae[ok])) + missing
    return sorted(scores, key=lambda n: (scores[n], n))


def combine(errors: dict[str, np.ndarray], scale: np.ndarray) -> dict[str, np.ndarray]:
    """``errors`` plus the mean of the two best-ranked models, named ``"A+B"``."""
    ranked = [n for n in rank_models(errors, scale) if "+" not in n]
    if len(ranked) < 2:
        return dict(errors)
    a, b = sorted(ranked[:2])
    return {**errors, f"{a}+{b}": (errors[a] + errors[b]) / 2}


def choose(errors: dict[str, np.ndarray], fallback: str, scale: np.ndarray,
           margin: float = MARGIN, combination: bool = True) -> tuple[np.ndarray, list[str]]:
    """The chosen model name per series and the class ranking (best first).

    Args:
        errors: model name -> errors (n_series, n_windows, holdout); must hold ``fallback``,
            which must be eligible for every series.
        fallback: the always-available model, the default where nothing ranked applies.
        scale: per series, the in-sample naive MAE that turns MAE into MASE (NaN: the
            series does not count in the ranking).
        margin: share by which a series' own best must beat the class's best to be taken.
        combination: add the mean of the two best-ranked models as a candidate.
    """
    if not 0.0 <= margin < 1.0:
        raise ValueError(f"margin must be in [0, 1), got {margin!r}: it is the share by "
                         f"which a series' own best model must beat the class's best")
    if fallback not in errors:
        raise ValueError(f"the fallback model {fallback!r} is missing from the candidates "
                         f"{sorted(errors)}: it must be run on every series")
    if combination:
        errors = combine(errors, scale)
    ranked = rank_models(errors, scale)
    mse = _mse(errors)
    names = list(mse)
    table = np.column_stack([mse[n] for n in names])  # (n_series, n_models)
    n = len(table)
    own = np.nanargmin(np.where(np.isfinite(table), table, np.inf), axis=1)
    default = np.full(n, names.index(fallback))
    for name in reversed(ranked):  # the best-ranked eligible model wins the default
        col = names.index(name)
        default = np.where(np.isfinite(table[:, col]), col, default)
    rows = np.arange(n)
    if np.isfinite(scale).sum() < MIN_RANK_SERIES:  # too few series to rank a class on
        default = own
    take_own = table[rows, own] < (1.0 - margin) * table[rows, default]
    pick = np.where(take_own, own, default)
    return np.array(names, dtype=object)[pick], ranked

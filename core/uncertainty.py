"""Forecast uncertainty over the protection interval, for safety stock.

The (R, S) policy of :mod:`core.policy` needs sigma_P, the standard deviation of demand
over the protection interval P = L + R *around the forecast*. Treating the holdout errors
as independent daily noise (sigma_P = sigma_d sqrt(P)) misses two things:

1. **Level error.** The forecast's level is itself an estimate. Its error is the same on
   every day of the interval, so it adds P^2 Var(level) to the variance of the interval
   sum, not P Var(level) (Silver, Pyke & Peterson, 4th ed., sec. 4.9.3 and 6.10: the
   variance of forecast errors over a lead time is not the daily variance times L when the
   errors are correlated):

       sigma_P^2 = P sigma_d^2 + P^2 Var(level) + mu^2 sigma_L^2.

2. **Noisy per-SKU sigma.** A sigma from 28 holdout days is a noisy estimate (its relative
   standard error is about 1/sqrt(2 x 28) = 13% for normal errors and far more for sparse
   counts); safety stock set from it is over-given to SKUs whose sigma came out high and
   under-given to the others, which costs stock at equal fill.

Estimates, from each series' holdout errors e (actual - forecast) in W windows of H days
(the result's ``window_errors`` when the forecast provides them, otherwise the single
holdout window of ``residuals``):

- daily noise s_i^2: the within-window variance of the errors, pooled over windows;
- level mean square l_i = mean over windows of (window mean error)^2 - s_i^2 / H (the
  squared mean error less what the daily noise contributes to it);
- **variance-mean power law** (a classic for retail and spare-parts demand: Var = a mu^b,
  e.g. Stevens 1974; Syntetos & Boylan 2010 for intermittent items): per group of series
  (demand class x stable/changing, see :func:`group_of`), log s_i^2 = log a + b log mu_i by
  least squares, mu_i the forecast's daily mean, the fit taken back to the variance scale
  with Duan's (1983) smearing factor (series slower than :data:`MIN_MEAN` units/day are
  left out of the fit and keep their own s_i^2; residuals beyond +-:data:`MAX_LOG_RESID`
  are clipped in the smearing, so that one odd series cannot inflate every prior);
- **shrinkage** (empirical Bayes): sigma_i^2 = w_i s_i^2 + (1 - w_i) a mu_i^b with
  w_i = tau^2 / (tau^2 + v_i), v_i = (kurt - 1) / n_i the sampling variance of log s_i^2
  (delta method, kurt the group's pooled standardised fourth moment of the errors, n_i the
  number of errors) and tau^2 the spread of the true log variances around the law (the
  residual variance of the fit less the mean v_i, floored at 0). Many errors or a group
  whose series really differ keep a SKU near its own s_i^2; few, noisy errors pull it to
  the law;
- **level ratio** rho_g = max(0, sum_i l_i) / sum_i s_i^2 per group, over the series with
  some daily noise (s_i^2 > 0: errors that are constant within every window, such as a
  flat forecast of a series that did not sell, carry no ratio), at most
  :data:`MAX_LEVEL_RATIO` = 1: Var(level)_i = rho_g sigma_i^2 (a level estimated from
  n_eff days has variance sigma^2 / n_eff, n_eff >= 1, so the ratio, pooled over the
  group, is the per-SKU estimate that noise allows).

A group with fewer than :data:`MIN_GROUP` series borrows the fit of all series together.
Series without errors (too little history) keep their fallback sigma with their group's
level ratio.

The group parameters (level ratios and laws) are fitted on a full plan and kept with its run
(:meth:`Uncertainty.params`); a targeted recalculation of a few SKUs passes them back
(``params`` of :func:`fit_uncertainty`) and only applies them, so a SKU gets the same safety
stock whether it is planned with the whole catalog or alone. :meth:`Uncertainty.sigma_d` returns the *daily-equivalent* sigma for a
protection interval P, sqrt(sigma_i^2 (1 + P rho_g)), so that :func:`core.policy.sigma_over`
(P sigma_d^2 + mu^2 sigma_L^2) gives the sigma_P above.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

__all__ = ["MIN_GROUP", "MIN_MEAN", "MAX_LOG_RESID", "MAX_LEVEL_RATIO", "Uncertainty",
           "fit_uncertainty", "group_of", "error_windows", "plan_uncertainty"]

MIN_GROUP = 8
MIN_MEAN = 0.01  # units/day: slower series do not shape the variance-mean law
MAX_LOG_RESID = 3.0  # log-variance residuals beyond +-3 (x20) are clipped in the smearing
MAX_LEVEL_RATIO = 1.0  # Var(level) <= sigma^2: a level from at least one day of data
_B_RANGE = (0.0, 3.0)  # power-law exponents outside this are a fit gone wrong


def group_of(demand_class: str | None, seasonal: bool = False,
             lifecycle: str | None = None) -> str:
    """The pooling group of a series: ``smooth`` (smooth, erratic) or ``intermittent``
    (intermittent, lumpy, none), with ``/changing`` for seasonal, growing or declining ones
    (their level errors are larger than a stable series')."""
    base = "smooth" if demand_class in ("smooth", "erratic") else "intermittent"
    changing = bool(seasonal) or lifecycle in ("growing", "declining")
    return base + ("/changing" if changing else "")


def error_windows(result, uid) -> np.ndarray | None:
    """(W, H) holdout errors of ``uid``: ``result.window_errors`` when the forecast gives
    them, else its single ``residuals`` window; None without errors."""
    win = getattr(result, "window_errors", None) or {}
    e = win.get(uid)
    if e is None:
        e = (getattr(result, "residuals", None) or {}).get(uid)
    if e is None:
        return None
    e = np.asarray(e, dtype=float)
    e = e.reshape(1, -1) if e.ndim == 1 else e
    e = e[:, np.isfinite(e).all(axis=0)] if e.size else e
    return e if e.size >= 2 and e.shape[1] >= 2 else None


@dataclass
class Uncertainty:
    """Fitted per-series daily noise variance and per-group level ratio (module docstring).

    Attributes:
        noise_var: unique_id -> shrunk daily noise variance sigma_i^2.
        level_ratio: group -> rho_g.
        group: unique_id -> group.
        law: group -> (a, b, smearing, tau2) of the power law (for reports and tests).
        kurtosis: group -> the pooled kurtosis used in the shrinkage weights.
    """

    noise_var: dict = field(default_factory=dict)
    level_ratio: dict = field(default_factory=dict)
    group: dict = field(default_factory=dict)
    law: dict = field(default_factory=dict)
    kurtosis: dict = field(default_factory=dict)

    def params(self) -> dict:
        """The group parameters, JSON-ready, for :func:`fit_uncertainty` ``params``."""
        return {"level_ratio": {g: float(v) for g, v in self.level_ratio.items()},
                "law": {g: [float(x) for x in v] + [float(self.kurtosis.get(g, 3.0))]
                        for g, v in self.law.items()}}

    def sigma_d(self, uid, protect_days: float, fallback: float = 0.0) -> float:
        """Daily-equivalent sigma over a protection interval of ``protect_days`` days."""
        var = self.noise_var.get(uid)
        if var is None:
            var = float(fallback) ** 2 if fallback == fallback else 0.0
        rho = self.level_ratio.get(self.group.get(uid), self.level_ratio.get("all", 0.0))
        return math.sqrt(max(var, 0.0) * (1.0 + max(protect_days, 0.0) * rho))


def _fit_law(mu: np.ndarray, s2: np.ndarray, n: np.ndarray, kurt: float):
    """(a, b, smearing, tau2) of log s2 = log a + b log mu (module docstring)."""
    x, y = np.log(mu), np.log(s2)
    if x.size >= 3 and np.ptp(x) > 0:
        b, loga = np.polyfit(x, y, 1)
        if not _B_RANGE[0] <= b <= _B_RANGE[1]:
            b = float(np.clip(b, *_B_RANGE))
            loga = float(np.mean(y - b * x))
    else:
        b, loga = 1.0, float(np.mean(y - x))
    resid = y - (loga + b * x)
    smear = float(np.mean(np.exp(np.clip(resid, -MAX_LOG_RESID, MAX_LOG_RESID))))
    v = (kurt - 1.0) / n
    tau2 = max(0.0, float(np.var(resid)) - float(np.mean(v))) if resid.size > 2 else 0.0
    return float(math.exp(loga)), float(b), smear, tau2


def _pooled_kurtosis(errs: list[np.ndarray]) -> float:
    """Pooled standardised fourth moment of within-window centred errors (>= 3 when
    the errors are too few to tell: the normal value)."""
    z = []
    for e in errs:
        c = e - e.mean(axis=1, keepdims=True)
        sd = c.std()
        if sd > 0:
            z.append((c / sd).ravel())
    if not z:
        return 3.0
    z = np.concatenate(z)
    return float(max(np.mean(z ** 4), 1.5)) if z.size >= 20 else 3.0


def fit_uncertainty(result, means: dict, groups: dict, params: dict | None = None) -> Uncertainty:
    """Fit the model of the module docstring.

    Args:
        result: a :class:`core.forecast.ForecastResult` (its ``residuals`` and, when the
            forecast provides them, ``window_errors``); None gives an empty model.
        means: unique_id -> the forecast's mean daily demand (units/day, >= 0).
        groups: unique_id -> pooling group (:func:`group_of`).
        params: group parameters from :meth:`Uncertainty.params` of an earlier fit; given,
            they are applied instead of fitted (a recalculation of a few SKUs).
    """
    out = Uncertainty(group=dict(groups))
    if result is None:
        return out
    rows = []
    for uid, g in groups.items():
        e = error_windows(result, uid)
        if e is None:
            continue
        h = e.shape[1]
        s2 = float(np.mean(e.var(axis=1, ddof=1)))
        lev = float(np.mean(e.mean(axis=1) ** 2)) - s2 / h
        rows.append((uid, g, float(means.get(uid, 0.0)), s2, lev, e.size, e))
    if not rows:
        return out
    df = pd.DataFrame(rows, columns=["uid", "group", "mu", "s2", "lev", "n", "e"])
    laws = _group_parameters(df, out) if params is None else _restore(params, out)
    out.law = {g: tuple(v[:4]) for g, v in laws.items()}
    out.kurtosis = {g: v[4] for g, v in laws.items()}
    for r in df.itertuples():
        g = r.group if r.group in laws else "all"
        if r.group not in out.level_ratio:
            out.group[r.uid] = "all"
        if g not in laws or r.mu < MIN_MEAN:
            out.noise_var[r.uid] = r.s2
            continue
        a, b, smear, tau2, kurt = laws[g]
        prior = a * r.mu ** b * smear
        v = (kurt - 1.0) / r.n
        w = tau2 / (tau2 + v) if tau2 + v > 0 else 1.0
        out.noise_var[r.uid] = w * r.s2 + (1.0 - w) * prior
    for uid, g in groups.items():
        if g not in out.level_ratio:
            out.group[uid] = "all"
    return out


def _group_parameters(df: pd.DataFrame, out: Uncertainty) -> dict:
    """Fit each group's level ratio (into ``out``) and power law; returns group -> law."""
    fits = {"all": df}
    for g, sub in df.groupby("group"):
        if len(sub) >= MIN_GROUP:
            fits[g] = sub
    laws = {}
    for g, sub in fits.items():
        ok = sub[(sub["mu"] >= MIN_MEAN) & (sub["s2"] >= MIN_MEAN ** 2)]
        noisy = sub[sub["s2"] > 0]
        tot = float(noisy["s2"].sum())
        rho = max(0.0, float(noisy["lev"].sum())) / tot if tot > 0 else 0.0
        out.level_ratio[g] = min(rho, MAX_LEVEL_RATIO)
        if len(ok) >= 3:
            kurt = _pooled_kurtosis(list(ok["e"]))
            laws[g] = (*_fit_law(ok["mu"].to_numpy(), ok["s2"].to_numpy(),
                                 ok["n"].to_numpy(dtype=float), kurt), kurt)
    return laws


def _restore(params: dict, out: Uncertainty) -> dict:
    """Level ratios (into ``out``) and laws of an earlier fit (:meth:`Uncertainty.params`)."""
    out.level_ratio.update({g: float(v) for g, v in (params.get("level_ratio") or {}).items()})
    return {g: tuple(float(x) for x in v) for g, v in (params.get("law") or {}).items()
            if len(v) == 5}


def plan_uncertainty(result, classes: pd.DataFrame, daily: dict,
                     mean_days: int = 28, params: dict | None = None) -> Uncertainty:
    """:func:`fit_uncertainty` for a plan's forecasts: groups from ``classes``
    (``demand_class``, ``seasonal``, ``lifecycle`` per unique_id, as
    :func:`core.classify.classify_series` gives them; a series the forecast found yearly
    seasonal, ``result.kinds`` ``yearly``, counts as seasonal) and each series' mean daily forecast
    over its first ``mean_days`` days."""
    groups, means = {}, {}
    yearly = getattr(result, "kinds", None) or {}
    for uid, f in daily.items():
        row = classes.loc[uid] if uid in classes.index else None
        seasonal = yearly.get(uid) == "yearly" or (row is not None and bool(row["seasonal"]))
        groups[uid] = group_of(row["demand_class"], seasonal, row["lifecycle"]) \
            if row is not None else "intermittent"
        f = np.asarray(f, dtype=float)[:mean_days]
        means[uid] = float(f.mean()) if f.size else 0.0
    return fit_uncertainty(result, means, groups, params)

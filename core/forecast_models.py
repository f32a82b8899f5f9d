"""Candidate forecast models and how they are run, on days or on weeks.

Daily models are statsforecast models fitted on the daily series. Weekly models are fitted
on weekly totals (weeks ending at the forecast origin, at most the last ``MAX_WEEKS``) and
spread over the days with the series' day-of-week profile (the share of each weekday in the
182 days before the origin, shrunk toward the group's pooled profile by empirical Bayes, see
``_profile``). Fitting on weeks is what makes AutoETS
affordable: about 0.01 s per series instead of 0.13 s for a daily AutoETS with a weekly
season, and the day-of-week profile gives back what the weekly totals leave out.

Everything here works on *groups*: series of one demand kind, held as a long frame
(``unique_id``, ``ds``, ``y``, sorted) and forecast at an origin ``cut`` days before each
series' last day. Results are matrices ``(n_series, h)`` in the order of ``ids``; a model
that cannot forecast a series (too little history) gives NaN there.
"""
from __future__ import annotations

import os

import numpy as np
import pandas as pd
from statsforecast import StatsForecast
from statsforecast.models import (ADIDA, IMAPA, TSB, AutoETS, CrostonOptimized, CrostonSBA,
                                  SeasonalNaive,
                                  WindowAverage)

from .engines import LocalEngine
from .forecast_year import weekly_totals, year_shape_weeks

__all__ = ["DAILY", "WEEKLY", "YEARLY", "CANDIDATES", "FALLBACK", "MAX_WEEKS", "MIN_WEEKS",
           "model_parts", "right_aligned", "run_daily", "run_weekly", "run_year", "cv_weekly"]

FALLBACK = "WindowAverage"
MAX_WEEKS = 104
MIN_WEEKS = 12
PROFILE_DAYS = 182

DAILY = {
    "SeasonalNaive": lambda: SeasonalNaive(season_length=7),
    "WindowAverage": lambda: WindowAverage(window_size=28),
    "WindowAverage84": lambda: WindowAverage(window_size=84, alias="WindowAverage84"),
    "CrostonSBA": lambda: CrostonSBA(),
    "CrostonOptimized": lambda: CrostonOptimized(),
    "TSB": lambda: TSB(alpha_d=0.1, alpha_p=0.1),
    "ADIDA": lambda: ADIDA(),
    "IMAPA": lambda: IMAPA(),
}
WEEKLY = {
    "AutoETS": lambda: AutoETS(season_length=1),
    "WeeklySES": lambda: AutoETS(season_length=1, model="ANN", alias="WeeklySES"),
}
YEARLY = {"YearShape"}  # core.forecast_year: weekly level x yearly seasonal index
CANDIDATES = {
    "smooth": ["AutoETS", "WeeklySES", "SeasonalNaive", "WindowAverage", "WindowAverage84"],
    # WeeklySES here is temporal aggregation (ADIDA at an aggregation level of 7 days, as in
    # Nikolopoulos et al. 2011): weekly totals are rarely zero, SES on them estimates the
    # level with far less noise than the daily intermittent methods (see forecast_select).
    # Weekly AutoETS would add ~1.3 s per 300 series per fit for no better level overall.
    "intermittent": ["CrostonSBA", "CrostonOptimized", "TSB", "ADIDA", "IMAPA",
                     "WindowAverage", "WindowAverage84", "WeeklySES"],
    # series that pass the yearly-seasonality test of core.forecast_year (any demand class)
    "yearly": ["YearShape", "WeeklySES", "AutoETS", "WindowAverage", "WindowAverage84"],
}


def model_parts(name: str) -> list[str]:
    """The single models of a model name: ``"A+B"`` (the mean of A and B) -> ``[A, B]``."""
    parts = name.split("+")
    unknown = [p for p in parts if p not in DAILY and p not in WEEKLY and p not in YEARLY]
    if unknown:
        raise ValueError(f"unknown forecast model {unknown[0]!r} in {name!r}: known models "
                         f"are {sorted(DAILY) + sorted(WEEKLY) + sorted(YEARLY)}")
    return parts


def _n_jobs(n_series: int) -> int:
    return 1 if n_series < 400 else max(1, os.cpu_count() or 1)


def _matrix(fc: pd.DataFrame, col: str, ids: np.ndarray, h: int) -> np.ndarray:
    """Values of ``col`` as (len(ids), h), NaN for series missing from ``fc``."""
    out = np.full((len(ids), h), np.nan)
    if fc.empty:
        return out
    fc = fc.sort_values(["unique_id", "ds"])
    pos = pd.Index(ids).get_indexer(fc["unique_id"])
    step = fc.groupby("unique_id", sort=False).cumcount().to_numpy()
    keep = (pos >= 0) & (step < h)
    out[pos[keep], step[keep]] = fc[col].to_numpy(dtype=float)[keep]
    return out


def _fit(models, df: pd.DataFrame, h: int, freq, engine) -> pd.DataFrame:
    sf = StatsForecast(models=models, freq=freq, n_jobs=_n_jobs(df["unique_id"].nunique()))
    fc = (engine or LocalEngine()).forecast(sf, df, h)
    return fc.reset_index() if "unique_id" not in fc.columns else fc


def _cut(data: pd.DataFrame, cut: int) -> pd.DataFrame:
    if cut == 0:
        return data
    rank = data.groupby("unique_id", sort=False).cumcount(ascending=False)
    return data[rank.to_numpy() >= cut]


def run_daily(data: pd.DataFrame, ids: np.ndarray, names: list[str], h: int, cut: int = 0,
              engine=None) -> dict[str, np.ndarray]:
    """Daily models fitted on each series without its last ``cut`` days, ``h`` steps ahead."""
    if not names:
        return {}
    fc = _fit([DAILY[n]() for n in names], _cut(data, cut)[["unique_id", "ds", "y"]], h, "D",
              engine)
    return {n: _matrix(fc, n, ids, h) for n in names}


def right_aligned(data: pd.DataFrame, ids: np.ndarray) -> np.ndarray:
    """(n_series, max_len) with each series' values at the right end, NaN before."""
    lens = data.groupby("unique_id", sort=False).size().reindex(ids).to_numpy()
    out = np.full((len(ids), int(lens.max())), np.nan)
    rows = np.repeat(np.arange(len(ids)), lens)
    cols = out.shape[1] - np.repeat(lens, lens) + (
        np.arange(lens.sum()) - np.repeat(np.cumsum(lens) - lens, lens))
    order = pd.Index(ids).get_indexer(data["unique_id"])
    srt = np.argsort(order, kind="stable")
    out[rows, cols] = data["y"].to_numpy(dtype=float)[srt]
    return out


def _profile(Y: np.ndarray, cut: int) -> np.ndarray:
    """Weekday shares (n, 7) of the PROFILE_DAYS before the origin; column p is the share of
    the days p, p+7, ... after the origin (step s uses column (s - 1) % 7).

    Each series' own shares are shrunk toward the group's pooled shares by how much they can
    be trusted (empirical Bayes): a weekday share estimated from N units has a sampling
    variance of about p (1 - p) phi / N (phi: the series' variance-to-mean ratio of daily
    units, at least 1), and the spread of the true shares around the pooled ones, tau^2, is
    what the observed spread has beyond that noise (method of moments over the group). The
    weight on a series' own share is tau^2 / (tau^2 + noise). A series selling a unit a day
    has ~26 units per weekday over 26 weeks, too few to tell a 10% weekday swing from noise,
    and gets the pooled profile; one selling 50 a day keeps its own.
    """
    end = Y.shape[1] - cut
    days = min(PROFILE_DAYS, end) // 7 * 7
    if days == 0:
        return np.full((len(Y), 7), 1 / 7)
    win = Y[:, end - days:end]
    last = np.nan_to_num(win).reshape(len(Y), -1, 7).sum(axis=1)
    tot = last.sum(axis=1, keepdims=True)
    pooled = last.sum(axis=0) / tot.sum() if tot.sum() > 0 else np.full(7, 1 / 7)
    own = np.divide(last, tot, out=np.tile(pooled, (len(Y), 1)), where=tot > 0)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.nanmean(win, axis=1, keepdims=True)
        phi = np.where(mean > 0, np.nanvar(win, axis=1, keepdims=True) / mean, 1.0)
    phi = np.maximum(np.nan_to_num(phi, nan=1.0), 1.0)
    base = pooled * (1 - pooled)
    noise = np.divide(base * phi, tot, out=np.full_like(own, np.inf), where=tot > 0)
    seen = (tot > 0).ravel()
    tau2 = float(np.mean((own[seen] - pooled) ** 2 - noise[seen])) if seen.any() else 0.0
    tau2 = max(tau2, 0.0)
    w = tau2 / (tau2 + noise) if tau2 > 0 else np.zeros_like(own)
    share = pooled + w * (own - pooled)
    return share / share.sum(axis=1, keepdims=True)


def _weeks(Y: np.ndarray, cut: int) -> tuple[pd.DataFrame, np.ndarray]:
    """Weekly totals ending at the origin (long frame, ds = week number) and which rows have
    at least MIN_WEEKS whole weeks."""
    end = Y.shape[1] - cut
    k = min(MAX_WEEKS, end // 7)
    W = Y[:, end - 7 * k:end].reshape(len(Y), k, 7).sum(axis=2)  # NaN weeks are partial
    ok = np.isfinite(W)
    enough = ok.sum(axis=1) >= MIN_WEEKS
    r, c = np.nonzero(ok & enough[:, None])
    return pd.DataFrame({"unique_id": r, "ds": c, "y": W[r, c]}), enough


def _spread(weekly: np.ndarray, share: np.ndarray, h: int) -> np.ndarray:
    steps = np.arange(h)
    return weekly[:, steps // 7] * share[:, steps % 7]


def run_weekly(data: pd.DataFrame, ids: np.ndarray, names: list[str], h: int, cut: int = 0,
               engine=None, Y: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """Weekly models fitted at the origin ``cut`` days before the end, spread over h days."""
    if not names:
        return {}
    Y = right_aligned(data, ids) if Y is None else Y
    wk, enough = _weeks(Y, cut)
    out = {n: np.full((len(ids), h), np.nan) for n in names}
    if not enough.any():
        return out
    n_weeks = -(-h // 7)
    fc = _fit([WEEKLY[n]() for n in names], wk, n_weeks, 1, engine)
    fc["unique_id"] = fc["unique_id"].astype(int)
    share = _profile(Y, cut)
    for n in names:
        out[n] = _spread(_matrix(fc, n, np.arange(len(ids)), n_weeks), share, h)
    return out


def run_year(data: pd.DataFrame, ids: np.ndarray, h: int, cut: int = 0,
             Y: np.ndarray | None = None) -> np.ndarray:
    """YearShape (:mod:`core.forecast_year`) at the origin ``cut`` days before the end,
    spread over ``h`` days by the weekday profile: (n, h), NaN rows where not eligible."""
    Y = right_aligned(data, ids) if Y is None else Y
    weekly = year_shape_weeks(weekly_totals(Y, cut), -(-h // 7))
    return _spread(weekly, _profile(Y, cut), h)


def cv_weekly(data: pd.DataFrame, ids: np.ndarray, names: list[str], holdout: int,
              n_windows: int, engine=None) -> dict[str, np.ndarray]:
    """Weekly models over ``n_windows`` rolling origins ``holdout`` days apart: (n, w, holdout).

    When ``holdout`` is whole weeks the models are fitted once, at the oldest origin, and
    rolled forward over the later windows with the same parameters (statsforecast
    ``cross_validation(refit=False)``); that keeps AutoETS at one fit per series for all
    windows. Otherwise each window is fitted on its own.
    """
    Y = right_aligned(data, ids)
    out = {n: np.full((len(ids), n_windows, holdout), np.nan) for n in names}
    if not names:
        return out
    if holdout % 7:
        for w in range(n_windows):
            res = run_weekly(data, ids, names, holdout, (n_windows - w) * holdout, engine, Y)
            for n in names:
                out[n][:, w] = res[n]
        return out
    k = holdout // 7
    wk, _ = _weeks(Y, 0)
    first = wk.groupby("unique_id")["ds"].transform("size") - n_windows * k
    wk = wk[first >= MIN_WEEKS]
    if wk.empty:
        return out
    sf = StatsForecast(models=[WEEKLY[n]() for n in names], freq=1,
                       n_jobs=_n_jobs(wk["unique_id"].nunique()))
    cv = (engine or LocalEngine()).cross_validation(sf, wk, k, n_windows, k, refit=False)
    cv = cv.reset_index() if "unique_id" not in cv.columns else cv
    cv["unique_id"] = cv["unique_id"].astype(int)
    cv = cv.sort_values(["unique_id", "cutoff", "ds"])
    rows = cv["unique_id"].to_numpy()
    win = cv.groupby("unique_id", sort=False)["cutoff"].rank(method="dense").to_numpy(int) - 1
    step = cv.groupby(["unique_id", "cutoff"], sort=False).cumcount().to_numpy()
    for w in range(n_windows):
        share = _profile(Y, (n_windows - w) * holdout)
        for n in names:
            weekly = np.full((len(ids), k), np.nan)
            sel = win == w
            weekly[rows[sel], step[sel]] = cv[n].to_numpy(dtype=float)[sel]
            out[n][:, w] = _spread(weekly, share, holdout)
    return out

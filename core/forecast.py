"""Per-series model selection with statsforecast and a holdout backtest.

Model sets by Syntetos-Boylan class (see :mod:`core.classify`):

- smooth / erratic: AutoETS fitted on weekly totals (weeks ending at the cutoff, at most the
  last 104) and spread over days with the series' day-of-week profile; SeasonalNaive(7) on
  days; WindowAverage(28) on days (the fallback, always available).
- intermittent / lumpy: CrostonSBA, TSB(0.1, 0.1) and ADIDA on days; WindowAverage(28).

Fitting ETS on weekly totals is what makes the plan affordable: a daily AutoETS with a
weekly season costs about 0.13 s per 730-day series here, a weekly one about 0.01 s, and
weekly totals lose nothing the day-of-week profile does not give back.

Every candidate forecasts the last ``holdout`` days from the data before them; the model
with the lowest holdout mean squared error wins and is refitted on all data. Squared error,
not absolute error, because stock is planned on the mean: MAE is minimised by the median,
which is zero for most intermittent series and would pick forecasts that starve them. The chosen model's holdout
errors give ``sigma`` (their root mean square, per day) for safety stock, and MASE, WAPE
and bias for the accuracy record. Series with too little history get the mean of what they
have and the status ``insufficient_history``.
"""
from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np
import pandas as pd
from statsforecast import StatsForecast
from statsforecast.models import (ADIDA, TSB, AutoETS, CrostonSBA, SeasonalNaive,
                                  WindowAverage)

from .engines import LocalEngine
from .metrics import bias, mase, wape

__all__ = ["ForecastResult", "forecast_series", "MIN_HISTORY_DAYS", "FALLBACK"]

MIN_HISTORY_DAYS = 56
HOLDOUT = 28
FALLBACK = "WindowAverage"
WEEKLY_ETS = "AutoETS"
MAX_WEEKS = 104
MIN_WEEKS = 12


def _daily_models(kind: str):
    if kind == "smooth":
        return [SeasonalNaive(season_length=7), WindowAverage(window_size=28)]
    return [CrostonSBA(), TSB(alpha_d=0.1, alpha_p=0.1), ADIDA(), WindowAverage(window_size=28)]


def _group(cls: str) -> str:
    return "smooth" if cls in ("smooth", "erratic") else "intermittent"


@dataclass
class ForecastResult:
    """``forecasts``: unique_id, step (1..h), mean. ``summary``: one row per unique_id with
    model, status, sigma, mase, wape, bias, history_days."""

    forecasts: pd.DataFrame
    summary: pd.DataFrame
    residuals: dict = None  # unique_id -> holdout errors (actual - forecast) of the chosen model


def _n_jobs(n_series: int) -> int:
    return 1 if n_series < 400 else max(1, os.cpu_count() or 1)


def _run_daily(train: pd.DataFrame, models, h: int, engine=None) -> pd.DataFrame:
    """Forecast h days ahead per series; returns unique_id, step, <model columns>."""
    sf = StatsForecast(models=models, freq="D", n_jobs=_n_jobs(train["unique_id"].nunique()))
    fc = (engine or LocalEngine()).forecast(sf, train[["unique_id", "ds", "y"]], h)
    fc = fc.reset_index() if "unique_id" not in fc.columns else fc
    fc["step"] = fc.groupby("unique_id").cumcount() + 1
    return fc.drop(columns=["ds"])


def _dow_profile(train: pd.DataFrame) -> pd.DataFrame:
    """Share of a week's demand per weekday from the last 8 weeks, shrunk 25% to flat."""
    last = train.groupby("unique_id").tail(56)
    by = last.assign(dow=last["ds"].dt.dayofweek).groupby(["unique_id", "dow"])["y"].sum()
    by = by.unstack(fill_value=0.0).reindex(columns=range(7), fill_value=0.0)
    tot = by.sum(axis=1).replace(0, np.nan)
    share = by.div(tot, axis=0).fillna(1 / 7)
    return 0.75 * share + 0.25 / 7


def _run_weekly_ets(train: pd.DataFrame, h: int, engine=None) -> pd.DataFrame:
    """AutoETS on weekly totals ending at each series' last day, spread over h days."""
    d = train[["unique_id", "ds", "y"]].copy()
    end = d.groupby("unique_id")["ds"].transform("max")
    d["k"] = ((end - d["ds"]).dt.days // 7).astype(int)
    d = d[d["k"] < MAX_WEEKS]
    wk = d.groupby(["unique_id", "k"]).agg(y=("y", "sum"), n=("y", "size")).reset_index()
    wk = wk[wk["n"] == 7]
    enough = wk.groupby("unique_id")["k"].transform("size") >= MIN_WEEKS
    wk = wk[enough]  # AutoETS cannot fit a handful of weeks: those series skip this model
    if wk.empty:
        return pd.DataFrame(columns=["unique_id", "step", WEEKLY_ETS])
    wk["ds"] = MAX_WEEKS - wk["k"]
    wk = wk.sort_values(["unique_id", "ds"])
    weeks = -(-h // 7)
    sf = StatsForecast(models=[AutoETS(season_length=1)], freq=1,
                       n_jobs=_n_jobs(wk["unique_id"].nunique()))
    fc = (engine or LocalEngine()).forecast(sf, wk[["unique_id", "ds", "y"]], weeks)
    fc = fc.reset_index() if "unique_id" not in fc.columns else fc
    fc["w"] = fc.groupby("unique_id").cumcount()
    prof = _dow_profile(train)
    last_day = train.groupby("unique_id")["ds"].max()
    steps = np.arange(1, h + 1)
    out = []
    for uid, grp in fc.groupby("unique_id", sort=False):
        weekly = grp["AutoETS"].to_numpy()
        dows = (last_day[uid].dayofweek + steps) % 7
        out.append(pd.DataFrame({"unique_id": uid, "step": steps,
                                 WEEKLY_ETS: weekly[(steps - 1) // 7] * prof.loc[uid].to_numpy()[dows]}))
    return pd.concat(out, ignore_index=True) if out else pd.DataFrame(
        columns=["unique_id", "step", WEEKLY_ETS])


def _candidates(train: pd.DataFrame, kind: str, h: int, engine=None) -> pd.DataFrame:
    fc = _run_daily(train, _daily_models(kind), h, engine)
    if kind == "smooth":
        fc = fc.merge(_run_weekly_ets(train, h, engine), on=["unique_id", "step"], how="left")
    return fc


def _model_names(fc: pd.DataFrame) -> list[str]:
    return [c for c in fc.columns if c not in ("unique_id", "step")]


def forecast_series(series: pd.DataFrame, classes: pd.Series, h: int,
                    holdout: int = HOLDOUT, engine=None) -> ForecastResult:
    """Select a model per series on a holdout and forecast ``h`` days past each series' end.

    Args:
        series: long frame ``unique_id``, ``ds``, ``y``; contiguous days, sorted.
        classes: demand class per unique_id (``smooth``, ``erratic``, ``intermittent``,
            ``lumpy`` or ``none``).
        h: forecast horizon in days.
        holdout: days held out for model selection and accuracy.
        engine: where statsforecast fits (:mod:`core.engines`); this process by default.
    """
    series = series[["unique_id", "ds", "y"]]
    hist = series.groupby("unique_id").agg(n=("y", "size"), nz=("y", lambda s: int((s > 0).sum())),
                                           mean=("y", "mean"), std=("y", "std"))
    short = hist.index[(hist["n"] < max(MIN_HISTORY_DAYS, holdout + 28)) | (hist["nz"] < 2)]
    summary_rows, forecasts, residuals = [], [], {}
    for uid in short:
        m = float(hist.at[uid, "mean"])
        s = float(hist.at[uid, "std"]) if hist.at[uid, "n"] > 1 else m
        summary_rows.append(dict(unique_id=uid, model="Mean", status="insufficient_history",
                                 sigma=float(np.nan_to_num(s)), mase=np.nan, wape=np.nan,
                                 bias=np.nan, history_days=int(hist.at[uid, "n"]),
                                 holdout_units=np.nan, holdout_abs_error=np.nan))
        forecasts.append(pd.DataFrame({"unique_id": uid, "step": np.arange(1, h + 1), "mean": m}))
    ok = series[~series["unique_id"].isin(short)]
    kinds = classes.reindex(ok["unique_id"].unique()).fillna("smooth").map(_group)
    for kind in ("smooth", "intermittent"):
        ids = kinds.index[kinds == kind]
        if len(ids) == 0:
            continue
        data = ok[ok["unique_id"].isin(ids)]
        rank = data.groupby("unique_id").cumcount(ascending=False)
        train, test = data[rank >= holdout], data[rank < holdout]
        cand = _candidates(train, kind, holdout, engine).sort_values(["unique_id", "step"])
        names = _model_names(cand)
        order = cand["unique_id"].drop_duplicates().to_numpy()
        actual_by = {u: g.to_numpy() for u, g in test.groupby("unique_id")["y"]}
        preds = {m: cand[m].to_numpy(dtype=float).reshape(len(order), holdout) for m in names}
        train_by = {u: g.to_numpy() for u, g in train.groupby("unique_id")["y"]}
        chosen: dict[str, list[str]] = {}
        for i, uid in enumerate(order):
            y = actual_by[uid]
            mses = {m: float(np.mean((y - preds[m][i]) ** 2)) for m in names
                    if np.isfinite(preds[m][i]).all()}
            best = min(mses, key=mses.get) if mses else FALLBACK
            f = preds[best][i]
            residuals[uid] = y - f
            chosen.setdefault(best, []).append(uid)
            summary_rows.append(dict(unique_id=uid, model=best, status="ok",
                                     sigma=float(np.sqrt(np.mean((y - f) ** 2))),
                                     mase=mase(y, f, train_by[uid]), wape=wape(y, f),
                                     bias=bias(y, f), history_days=int(hist.at[uid, "n"]),
                                     holdout_units=float(y.sum()),
                                     holdout_abs_error=float(np.abs(y - f).sum())))
        for model, uids in chosen.items():
            sub = data[data["unique_id"].isin(uids)]
            if model == WEEKLY_ETS:
                fc = _run_weekly_ets(sub, h, engine)
            else:
                proto = next(m for m in _daily_models(kind) if repr(m) == model or
                             type(m).__name__ == model)
                fc = _run_daily(sub, [proto], h, engine)
            col = _model_names(fc)[0]
            fc = fc.rename(columns={col: "mean"})[["unique_id", "step", "mean"]]
            fc["mean"] = fc["mean"].clip(lower=0).fillna(0.0)
            forecasts.append(fc)
    fcs = pd.concat(forecasts, ignore_index=True) if forecasts else pd.DataFrame(
        columns=["unique_id", "step", "mean"])
    summary = pd.DataFrame(summary_rows).set_index("unique_id") if summary_rows else \
        pd.DataFrame(columns=["model", "status", "sigma", "mase", "wape", "bias",
                              "history_days", "holdout_units", "holdout_abs_error"])
    return ForecastResult(forecasts=fcs, summary=summary, residuals=residuals)

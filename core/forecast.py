"""Per-series model selection by rolling-origin cross-validation, with model memory.

Model sets by Syntetos-Boylan class (see :mod:`core.classify` and
:mod:`core.forecast_models`):

- smooth / erratic: AutoETS and optimised simple exponential smoothing fitted on weekly
  totals and spread over the days by the day-of-week profile; SeasonalNaive(7), and the
  28- and 84-day averages on days.
- intermittent / lumpy: CrostonSBA, CrostonOptimized, TSB(0.1, 0.1), ADIDA, IMAPA, the
  28- and 84-day averages, and weekly SES (temporal aggregation to weeks, spread back by
  the weekday profile).
- always: WindowAverage(28), the fallback every series with enough history can use, and the
  mean of the class's two best models (a combination candidate).

Selection: every candidate forecasts ``n_windows`` rolling windows of ``holdout`` days at the
end of each series (origins ``holdout`` days apart, each fitted on the data before it; weekly
models are fitted once at the oldest origin and rolled forward). The rule in
:mod:`core.forecast_select` ranks the models of a class by the scaled absolute error of
their window totals over all series and windows (the level, which a lead time's stock
depends on, rather than the daily noise) and keeps the best for every series unless the
series' own best model beats it on the mean squared error pooled over its windows by more
than ``margin``. Squared error for that per-series step, not absolute error, because stock
is planned on the mean: MAE is minimised by the median, which is zero for most intermittent
series; the class ranking can use absolute error because every candidate is a mean
forecaster (see :mod:`core.forecast_select`).
The chosen model is refitted on all data.
Series shorter than ``n_windows * holdout + 28`` days get as many windows as fit.

Accuracy (MASE, WAPE, bias in the summary) is honest: it is measured on the newest window
for the model the same rule picks from the *older* windows only, so selection never saw the
days it is judged on (with a single window it is the chosen model's own window). ``sigma``
is the root mean square of the chosen model's daily errors over all windows; ``residuals``
those errors oldest first, and ``window_errors`` the same as (n_windows, holdout).

Model memory (``memory``, a plain mapping unique_id -> entry as returned in
``ForecastResult.memory``): a series whose data did not change (same values, same last day,
same class) reuses its stored forecast and errors without fitting; one whose last full
selection is fewer than ``reselect_days`` days older than its data is evaluated and refitted
with its kept model only; every other series is selected afresh. Series with too little
history get the mean of what they have and the status ``insufficient_history``.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .forecast_memo import fingerprints, plan_memory
from .forecast_models import (CANDIDATES, DAILY, FALLBACK, WEEKLY, YEARLY, cv_weekly,
                              model_parts, right_aligned, run_daily, run_weekly, run_year)
from .forecast_year import MIN_WEEKS as YEAR_WEEKS, weekly_totals, yearly_seasonal
from .forecast_select import MARGIN, choose

__all__ = ["ForecastResult", "forecast_series", "MIN_HISTORY_DAYS", "FALLBACK", "HOLDOUT",
           "N_WINDOWS", "RESELECT_DAYS"]

MIN_HISTORY_DAYS = 56
MIN_TRAIN_DAYS = 28
HOLDOUT = 28
N_WINDOWS = 3
RESELECT_DAYS = 28
SUMMARY_COLUMNS = ["model", "status", "sigma", "mase", "wape", "bias", "history_days",
                   "holdout_units", "holdout_abs_error", "windows", "fit"]


@dataclass
class ForecastResult:
    """``forecasts``: unique_id, step (1..h), mean. ``summary``: one row per unique_id with
    model, status, sigma, mase, wape, bias, history_days, holdout_units, holdout_abs_error,
    windows (rolling windows used) and fit (``selected``, ``refitted``, ``reused`` or
    ``mean``). ``residuals``: unique_id -> the chosen model's errors (actual - forecast) over
    all windows, oldest first; ``window_errors``: the same as (n_windows, holdout).
    ``memory``: unique_id -> the entry to pass back as ``memory`` next time; ``kinds``:
    unique_id -> the selection group (``smooth``, ``intermittent`` or ``yearly``)."""

    forecasts: pd.DataFrame
    summary: pd.DataFrame
    residuals: dict = None
    window_errors: dict = field(default_factory=dict)
    memory: dict = field(default_factory=dict)
    kinds: dict = field(default_factory=dict)  # unique_id -> selection group (CANDIDATES key)


def _group(cls: str) -> str:
    return "smooth" if cls in ("smooth", "erratic") else "intermittent"


def _yearly(ok: pd.DataFrame, okh: pd.DataFrame, before: int) -> pd.Index:
    """Series passing the yearly-seasonality test that are long enough for YearShape at
    the oldest rolling origin (``before`` days before the end), so that it can be judged."""
    long = okh.index[okh["n"] >= 7 * YEAR_WEEKS + before]
    if len(long) == 0:
        return long
    ids = np.array(long, dtype=object)
    W = weekly_totals(right_aligned(ok[ok["unique_id"].isin(long)], ids))
    return long[yearly_seasonal(W)]


def _errors(data, ids, Y, names, kind, holdout, n_w, engine) -> dict[str, np.ndarray]:
    """Errors (n, n_w, holdout) of each single model over the rolling windows."""
    end = Y.shape[1]
    actual = np.stack([Y[:, end - (n_w - w) * holdout: end - (n_w - w - 1) * holdout]
                       for w in range(n_w)], axis=1)
    daily = [n for n in names if n in DAILY]
    weekly = [n for n in names if n in WEEKLY]
    out = {n: np.empty((len(ids), n_w, holdout)) for n in daily + [n for n in names
                                                                 if n in YEARLY]}
    for w in range(n_w):
        cut = (n_w - w) * holdout
        for n, f in run_daily(data, ids, daily, holdout, cut, engine).items():
            out[n][:, w] = f
        for n in names:
            if n in YEARLY:
                out[n][:, w] = run_year(data, ids, holdout, cut, Y)
    out.update(cv_weekly(data, ids, weekly, holdout, n_w, engine))
    return {n: actual - out[n] for n in names}


def _scale(Y: np.ndarray, cut: int) -> np.ndarray:
    """In-sample naive MAE of each series before its oldest window (NaN when flat)."""
    d = np.abs(np.diff(Y[:, :Y.shape[1] - cut], axis=1))
    with np.errstate(invalid="ignore"):
        s = np.nanmean(np.where(np.isfinite(d), d, np.nan), axis=1)
    return np.where(s > 0, s, np.nan)


def _of(errors: dict, name: str) -> np.ndarray:
    parts = model_parts(name)
    return sum(errors[p] for p in parts) / len(parts)


def _final(data: pd.DataFrame, picks: dict, h: int, engine) -> dict[str, np.ndarray]:
    """Refit each chosen model on all data: unique_id -> h daily forecasts."""
    need: dict[str, list] = {}
    for uid, name in picks.items():
        for p in model_parts(name):
            need.setdefault(p, []).append(uid)
    fc: dict[str, dict] = {}
    for p, uids in need.items():
        ids = np.array(sorted(uids), dtype=object)
        sub = data[data["unique_id"].isin(uids)]
        if p in YEARLY:
            mat = run_year(sub, ids, h)
        else:
            run = run_weekly if p in WEEKLY else run_daily
            mat = run(sub, ids, [p], h, 0, engine)[p]
        fc[p] = dict(zip(ids, mat))
    out = {}
    for uid, name in picks.items():
        parts = model_parts(name)
        f = sum(fc[p][uid] for p in parts) / len(parts)
        out[uid] = np.clip(np.nan_to_num(f), 0.0, None)
    return out


def _score(uid, name, errs, acc_err, Y_row, holdout, n_hist, fit) -> dict:
    """Summary row: sigma over all windows, accuracy on the newest window."""
    train = Y_row[:len(Y_row) - holdout]
    train = train[np.isfinite(train)]
    y = Y_row[len(Y_row) - holdout:]
    scale = float(np.mean(np.abs(np.diff(train)))) if train.size > 1 else 0.0
    abs_err = float(np.abs(acc_err).sum())
    units = float(y.sum())
    f_units = float((y - acc_err).sum())
    return dict(unique_id=uid, model=name, status="ok",
                sigma=float(np.sqrt(np.mean(errs ** 2))),
                mase=abs_err / holdout / scale if scale > 0 else np.nan,
                wape=abs_err / units if units > 0 else np.nan,
                bias=(f_units - units) / units if units > 0 else np.nan,
                history_days=n_hist, holdout_units=units, holdout_abs_error=abs_err,
                windows=int(errs.shape[0]), fit=fit)


def _validate(series: pd.DataFrame, h: int, holdout: int, n_windows: int,
              reselect_days: int) -> None:
    missing = {"unique_id", "ds", "y"} - set(series.columns)
    if missing:
        raise ValueError(f"series lacks the columns {sorted(missing)}: give a long frame with "
                         f"unique_id, ds and y (one row per series and day)")
    for name, v in (("h", h), ("holdout", holdout), ("n_windows", n_windows),
                    ("reselect_days", reselect_days)):
        if not isinstance(v, (int, np.integer)) or v < 1:
            raise ValueError(f"{name} must be a whole number of days >= 1, got {v!r}")


def forecast_series(series: pd.DataFrame, classes: pd.Series, h: int,
                    holdout: int = HOLDOUT, engine=None, n_windows: int = N_WINDOWS,
                    memory: dict | None = None, reselect_days: int = RESELECT_DAYS,
                    margin: float = MARGIN) -> ForecastResult:
    """Select a model per series by rolling-origin cross-validation and forecast ``h`` days.

    Args:
        series: long frame ``unique_id``, ``ds``, ``y``; contiguous days, sorted.
        classes: demand class per unique_id (``smooth``, ``erratic``, ``intermittent``,
            ``lumpy`` or ``none``).
        h: forecast horizon in days.
        holdout: days per cross-validation window.
        engine: where statsforecast fits (:mod:`core.engines`); this process by default.
        n_windows: rolling windows per series (fewer where the history is short).
        memory: entries of an earlier run (``ForecastResult.memory``), or None.
        reselect_days: days of new data after which a kept model is selected afresh.
        margin: how much better a series' own best model must be than the class's best.
    """
    _validate(series, h, holdout, n_windows, reselect_days)
    series = series[["unique_id", "ds", "y"]].sort_values(["unique_id", "ds"])
    hist = series.groupby("unique_id").agg(n=("y", "size"), nz=("y", lambda s: int((s > 0).sum())),
                                           mean=("y", "mean"), std=("y", "std"),
                                           last=("ds", "max"))
    short = hist.index[(hist["n"] < max(MIN_HISTORY_DAYS, holdout + MIN_TRAIN_DAYS))
                       | (hist["nz"] < 2)]
    rows, fcs, residuals, window_errors, new_memory = {}, {}, {}, {}, {}
    for uid in short:
        m = float(hist.at[uid, "mean"])
        s = float(hist.at[uid, "std"]) if hist.at[uid, "n"] > 1 else m
        rows[uid] = (dict(unique_id=uid, model="Mean", status="insufficient_history",
                         sigma=float(np.nan_to_num(s)), mase=np.nan, wape=np.nan, bias=np.nan,
                         history_days=int(hist.at[uid, "n"]), holdout_units=np.nan,
                         holdout_abs_error=np.nan, windows=0, fit="mean"))
        fcs[uid] = np.full(h, m)
    ok = series[~series["unique_id"].isin(short)]
    okh = hist.drop(index=short)
    kinds = classes.reindex(okh.index).fillna("smooth").map(_group)
    kinds[_yearly(ok, okh, n_windows * holdout)] = "yearly"
    n_w = np.minimum(n_windows, (okh["n"] - MIN_TRAIN_DAYS) // holdout).astype(int)
    fps = fingerprints(ok, kinds)
    plan = plan_memory(memory or {}, fps, kinds, okh["last"], h, holdout, n_windows,
                       reselect_days, CANDIDATES)
    for uid, entry in plan.reuse.items():
        fcs[uid] = np.asarray(entry["forecast"][:h], dtype=float)
        window_errors[uid] = np.asarray(entry["window_errors"], dtype=float)
        residuals[uid] = window_errors[uid].ravel()
        rows[uid] = dict(entry["summary"], unique_id=uid, fit="reused")
        new_memory[uid] = entry
    jobs = [(uid, plan.keep.get(uid)) for uid in okh.index if uid not in plan.reuse]
    frame = pd.DataFrame(jobs, columns=["uid", "kept"])
    frame["kind"], frame["n_w"] = kinds.reindex(frame["uid"]).to_numpy(), \
        n_w.reindex(frame["uid"]).to_numpy()
    picks = {}
    for (kind, w, kept), grp in frame.fillna({"kept": ""}).groupby(["kind", "n_w", "kept"]):
        ids = grp["uid"].to_numpy(dtype=object)
        data = ok[ok["unique_id"].isin(ids)]
        Y = right_aligned(data, ids)
        names = model_parts(kept) if kept else [FALLBACK] + [
            n for n in CANDIDATES[kind] if n != FALLBACK]
        errs = _errors(data, ids, Y, names, kind, holdout, int(w), engine)
        if kept:
            chosen, acc = np.full(len(ids), kept, dtype=object), None
        else:
            scale = _scale(Y, int(w) * holdout)
            chosen, _ = choose(errs, FALLBACK, scale, margin)
            acc = choose({n: e[:, :-1] for n, e in errs.items()}, FALLBACK, scale, margin)[0] \
                if w > 1 else None
        combos = {name: _of(errs, name) for name in set(chosen) | set(
            acc if acc is not None else [])}
        for i, uid in enumerate(ids):
            e = combos[chosen[i]][i]
            a = combos[acc[i]][i, -1] if acc is not None else e[-1]
            window_errors[uid] = e
            residuals[uid] = e.ravel()
            picks[uid] = chosen[i]
            rows[uid] = _score(uid, chosen[i], e, a, Y[i], holdout, int(okh.at[uid, "n"]),
                               "refitted" if kept else "selected")
    fcs.update(_final(ok, picks, h, engine))
    for uid, name in picks.items():
        old = (memory or {}).get(uid)
        new_memory[uid] = dict(
            kind=kinds[uid], model=name, fingerprint=fps[uid],
            last_day=str(okh.at[uid, "last"].date()),
            selected_on=old["selected_on"] if uid in plan.keep else str(okh.at[uid, "last"].date()),
            h=h, holdout=holdout, n_windows=n_windows,
            forecast=[float(x) for x in fcs[uid]],
            window_errors=window_errors[uid].tolist(),
            summary={k: v for k, v in rows[uid].items() if k != "unique_id"})
    order = list(hist.index)
    forecasts = pd.DataFrame({
        "unique_id": np.repeat(np.array(order, dtype=object), h),
        "step": np.tile(np.arange(1, h + 1), len(order)),
        "mean": np.concatenate([fcs[u] for u in order]) if order else np.empty(0)})
    summary = pd.DataFrame(list(rows.values())).set_index("unique_id").reindex(order)[
        SUMMARY_COLUMNS] \
        if rows else pd.DataFrame(columns=SUMMARY_COLUMNS)
    return ForecastResult(forecasts=forecasts, summary=summary, residuals=residuals,
                          window_errors=window_errors, memory=new_memory,
                          kinds=kinds.to_dict())


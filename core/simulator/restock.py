"""restock's own plan as a simulation policy.

On every review day the policy sees only the sales of the days before it (the history and
what the simulation sold, censored by its stock, with stockout days marked): it lifts
censored days (:func:`core.demand.lift_censored`), classifies the series
(:func:`core.classify.classify_series`), selects and fits a model per series on a holdout
(:func:`core.forecast.forecast_series`) and sets each item's order by the (R, S) policy of
:mod:`core.policy` (:func:`core.simulator.policies.rs_decision`) with sigma_d from
:func:`core.uncertainty.plan_uncertainty` (the plan's own: holdout errors shrunk to a
variance-mean law, plus the forecast's level error over the protection interval, see
:mod:`core.uncertainty`). The safety factor is fill-rate based unless the service kind is
``"cycle"``.

Model selection is redone at every review (13 reviews in a 90-day run; the run's cost is
printed by benchmarks/bench_policies.py); nothing is carried over between reviews.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..classify import classify_series
from ..demand import lift_censored
from ..forecast import HOLDOUT, ForecastResult, forecast_series
from ..uncertainty import Uncertainty, plan_uncertainty
from .engine import History, Item, Policy
from .policies import rs_decision

__all__ = ["RestockPolicy", "history_frame", "YOUNG_DAYS"]

YOUNG_DAYS = 84  # see RestockPolicy._forecast


def history_frame(history: History, rows=None) -> pd.DataFrame:
    """Long frame ``unique_id`` (the row number, zero-padded), ``ds``, ``sold``,
    ``censored`` of each item's known days (from its first day to the day before t)."""
    rows = np.arange(history.sold.shape[0]) if rows is None else np.asarray(rows)
    t = history.t
    first = np.clip(history.first_day[rows], 0, t)
    n = t - first
    if n.sum() == 0:
        return pd.DataFrame(columns=["unique_id", "ds", "sold", "censored"])
    rep = np.repeat(rows, n)
    day = np.concatenate([np.arange(f, t) for f in first])
    return pd.DataFrame({
        "unique_id": np.char.zfill(rep.astype(str), 6),
        "ds": np.asarray(history.days)[day],
        "sold": history.sold[rep, day].astype(float),
        "censored": history.stockout[rep, day],
    })


class RestockPolicy(Policy):
    """restock's forecast + (R, S) plan (see module docstring).

    Args:
        service_level: target fill rate (or cycle service level); an item's own
            ``service_level`` wins.
        kind: ``"fill"`` or ``"cycle"``.
        holdout_days: holdout of the model selection.
        horizon: forecast horizon in days (beyond it the last day is repeated).
    """

    name = "restock"

    def __init__(self, service_level: float = 0.95, kind: str = "fill",
                 holdout_days: int = HOLDOUT, horizon: int = 120):
        self.service_level, self.kind = service_level, kind
        self.holdout_days, self.horizon = holdout_days, horizon
        self._fc: dict[int, np.ndarray] = {}
        self._sigma: dict[int, float] = {}  # the forecast's own holdout sigma (fallback)
        self._uid: dict[int, str] = {}
        self._unc = Uncertainty()
        self.models: dict[int, str] = {}

    def prepare(self, t: int, history: History) -> None:
        frame = history_frame(history)
        self._fc, self._sigma, self._uid, self._unc = {}, {}, {}, Uncertainty()
        if frame.empty:
            return
        frame = frame.sort_values(["unique_id", "ds"], ignore_index=True)
        hit = frame.groupby("unique_id")["censored"].transform("any")
        series = frame.assign(y=frame["sold"])  # only series with a stockout need lifting
        if hit.any():
            lifted = lift_censored(frame[hit])
            series.loc[hit, "y"] = lifted["y"].to_numpy()
        classes = classify_series(series)
        fc = self._forecast(series, classes["demand_class"])
        daily = {uid: grp.sort_values("step")["mean"].to_numpy(dtype=float)
                 for uid, grp in fc.forecasts.groupby("unique_id")}
        self._unc = plan_uncertainty(fc, classes, daily)
        for uid, f in daily.items():
            self._fc[int(uid)] = f
            self._uid[int(uid)] = uid
        for uid, row in fc.summary.iterrows():
            self._sigma[int(uid)] = float(np.nan_to_num(row["sigma"]))
            self.models[int(uid)] = str(row["model"])

    def _forecast(self, series: pd.DataFrame, classes: pd.Series):
        """forecast_series, with young series set aside if it fails on them.

        Workaround: forecast_series raises (statsforecast's "tiny datasets") when a smooth
        series has 56-76 days, too few weeks for the weekly AutoETS. If it raises, series
        younger than YOUNG_DAYS get the plan's own fallback for short series (their mean,
        sigma their standard deviation) and the rest are forecast again.
        """
        try:
            return forecast_series(series, classes, h=self.horizon, holdout=self.holdout_days)
        except Exception:  # noqa: BLE001 - retried once without the young series
            size = series.groupby("unique_id")["y"].agg(["size", "mean", "std"])
            young = size.index[size["size"] < YOUNG_DAYS]
            if len(young) == 0:
                raise
            fc = forecast_series(series[~series["unique_id"].isin(young)], classes,
                                 h=self.horizon, holdout=self.holdout_days)
            steps = np.arange(1, self.horizon + 1)
            extra = pd.DataFrame({"unique_id": np.repeat(young.to_numpy(), steps.size),
                                  "step": np.tile(steps, len(young)),
                                  "mean": np.repeat(size.loc[young, "mean"].to_numpy(),
                                                    steps.size)})
            summ = pd.DataFrame({"model": "Mean", "status": "insufficient_history",
                                 "sigma": size.loc[young, "std"].fillna(0.0)}, index=young)
            out = ForecastResult(forecasts=pd.concat([fc.forecasts, extra], ignore_index=True),
                                 summary=pd.concat([fc.summary, summ]), residuals=fc.residuals,
                                 kinds=fc.kinds)
            if getattr(fc, "window_errors", None) is not None:
                out.window_errors = fc.window_errors
            return out

    def _result(self, on_hand: float, pipeline: float, item: Item):
        f = self._fc.get(item.index, np.zeros(1))
        target = item.service_level or self.service_level
        protect = float(item.lead_time_days) + self.ctx.review_days
        sigma = self._unc.sigma_d(self._uid.get(item.index), protect,
                                  self._sigma.get(item.index, 0.0))
        return rs_decision(f, sigma, target, self.kind, item,
                           self.ctx.review_days, on_hand, pipeline)

    def decide(self, t: int, history: History, on_hand: float, pipeline: float,
               item: Item) -> float:
        return float(self._result(on_hand, pipeline, item).recommended_qty)

    def initial_stock(self, t: int, history: History, item: Item) -> float:
        return self._result(0.0, 0.0, item).order_up_to

"""The forecasting half of a plan: demand series, adjustments, classes and forecasts.

Steps (see :mod:`core.demand`, :mod:`core.adjust`, :mod:`core.classify`,
:mod:`core.forecast`): switched-out SKUs hand their history to their successors; daily
demand with stockout days lifted; campaign days replaced by the baseline (uplifts
measured); classes on the adjusted demand; model selection and forecasts; future campaigns
raise the forecast; series with too little history are blended with their siblings' rate.

Model memory (:mod:`core.forecast_memo`): when ``inp.forecast_memory`` is a dict (run_plan
fills it with :func:`read_memory`), :func:`forecast_plan` hands it to
:func:`core.forecast.forecast_series` and updates it with the entries of this run (entries
of series this run did not plan stay, so a recalculation of a few SKUs keeps the rest),
which :func:`write_memory` then stores. Without it every series is selected afresh.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .adjust import (PRIOR_DAYS, campaign_uplift, family_prior, inherit_successors,
                     raise_for_campaigns, remove_campaigns)
from .classify import classify_series
from .demand import daily_demand
from .forecast import ForecastResult, forecast_series
from .plan_inputs import PlanInputs

__all__ = ["SeriesPlan", "forecast_plan", "read_memory", "write_memory", "LOST_WINDOW"]

LOST_WINDOW = 90


@dataclass
class SeriesPlan:
    series: pd.DataFrame       # unique_id, ds, y (adjusted), sold, censored, lost_estimate, ...
    classes: pd.DataFrame      # per unique_id: demand_class, seasonal, xyz, lifecycle, ...
    result: ForecastResult | None
    daily: dict                # unique_id -> np.ndarray of daily forecasts (h days)
    uplifts: pd.DataFrame      # campaign, sku, actual, baseline, uplift
    lost: pd.Series            # estimated lost units in the last LOST_WINDOW days per uid
    history: dict              # unique_id -> np.ndarray of adjusted daily demand


def forecast_plan(inp: PlanInputs, h: int, holdout: int, engine=None) -> SeriesPlan:
    cutoff = pd.Timestamp(inp.cutoff)
    variants = inp.variants.set_index("id")
    lines = inherit_successors(inp.lines, inp.variants)
    starts = None
    if len(lines):
        created = pd.to_datetime(variants["created_at"], utc=True).dt.tz_localize(None)
        pairs = lines[["sku", "variant_id", "location_id"]].drop_duplicates(["sku", "location_id"])
        uid = pairs["sku"].astype(str) + "@" + pairs["location_id"].astype(str)
        starts = pd.Series(pairs["variant_id"].map(created).dt.normalize().to_numpy(),
                           index=uid.to_numpy())
    series = daily_demand(lines, cutoff, inp.stock if len(inp.stock) else None, starts)
    if series.empty:
        empty = pd.DataFrame(columns=["demand_class", "seasonal", "history_days", "xyz",
                                      "lifecycle"])
        return SeriesPlan(series, empty, None, {}, campaign_uplift(series, None),
                          pd.Series(dtype=float), {})
    series = remove_campaigns(series, inp.campaigns)
    uplifts = campaign_uplift(series, inp.campaigns)
    classes = classify_series(series)
    memory = getattr(inp, "forecast_memory", None)
    result = forecast_series(series, classes["demand_class"], h, holdout, engine,
                             memory=memory)
    if isinstance(memory, dict):
        memory.update(result.memory)  # entries of series not planned this time stay
    daily = {u: g["mean"].to_numpy() for u, g in result.forecasts.groupby("unique_id")}
    start = cutoff + pd.Timedelta(days=1)
    if inp.campaigns is not None and len(inp.campaigns):
        future = inp.campaigns[inp.campaigns["end"] >= start]
        if len(future):
            for u in list(daily):
                daily[u] = raise_for_campaigns(daily[u], start, u.rpartition("@")[0], future,
                                               uplifts)
    short = result.summary.index[result.summary["status"] == "insufficient_history"]
    if len(short):
        prior = family_prior(series, inp.variants)
        for u in short:
            p = prior.get(u, np.nan)
            if p == p:  # not NaN
                w = min(int(result.summary.at[u, "history_days"]) / PRIOR_DAYS, 1.0)
                daily[u] = w * daily[u] + (1 - w) * p
    recent = series[series["ds"] > cutoff - pd.Timedelta(days=LOST_WINDOW)]
    lost = recent.groupby("unique_id")["lost_estimate"].sum()
    history = {u: g.to_numpy() for u, g in series.groupby("unique_id")["y"]}
    return SeriesPlan(series, classes, result, daily, uplifts, lost, history)


def read_memory(session, shop) -> dict:
    """The shop's kept forecast models (see :mod:`core.storage.forecast_memory`)."""
    from .storage import read_forecast_memory

    return read_forecast_memory(session, shop.id)


def write_memory(session, shop, memory: dict | None) -> int:
    """Store the entries ``forecast_plan`` left in ``memory`` (nothing when it is None)."""
    from .storage import write_forecast_memory

    return write_forecast_memory(session, shop.id, memory) if memory is not None else 0

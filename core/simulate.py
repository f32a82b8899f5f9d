"""Replay restock's plan over a stretch of known demand and measure what it achieves.

The replay is honest about information: at each review day the forecaster sees only the
*sales* that happened before that day (censored by the simulated stock, with stockout days
marked and lifted as in :mod:`core.demand`), never the demand it is judged on.

Each simulated day: receipts due that day arrive; if it is a review day the policy computes
the order-up-to level from a fresh forecast and orders S - IP (rounded to MOQ and case
pack), which arrives after a lead time drawn from N(L, sigma_L) rounded to whole days (at
least 1); then the day's demand is served from stock and the shortfall is lost.

Every series starts with on-hand stock equal to its first order-up-to level and nothing on
order (a warm start: the policy is judged, not the inherited stock position).

Measures per series: ``fill_rate`` = units served / units demanded; ``cycle_service_level``
= share of review cycles without a stockout day; ``stockout_days``; ``lost_units``;
``avg_on_hand_units``.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from .classify import classify_series
from .demand import lift_censored
from .forecast import forecast_series
from .policy import plan_item

__all__ = ["replay_plan"]


def replay_plan(history: pd.DataFrame, demand: pd.DataFrame, items: pd.DataFrame,
                review_days: int = 7, holdout_days: int = 28, seed: int = 0) -> pd.DataFrame:
    """Replay the plan over ``demand``.

    Args:
        history: ``unique_id``, ``ds``, ``sold``, ``censored`` before the first replay day.
        demand: ``unique_id``, ``ds``, ``demand`` for every replay day of every series.
        items: indexed by unique_id: ``lead_time_days``, ``lead_time_std_days``, ``moq``,
            ``case_pack``, ``service_level``.
        review_days: days between reviews (the first replay day is a review day).
        seed: for the lead-time draws.

    Returns:
        One row per unique_id with the measures of the module docstring.
    """
    rng = np.random.default_rng(seed)
    ids = sorted(demand["unique_id"].unique())
    days = sorted(demand["ds"].unique())
    dem = demand.pivot(index="unique_id", columns="ds", values="demand").reindex(
        index=ids, columns=days).fillna(0.0).to_numpy()
    n, T = dem.shape
    items = items.reindex(ids)
    on_hand = np.full(n, np.nan)
    arrivals = np.zeros((n, T + 1))
    sold = np.zeros((n, T))
    out_day = np.zeros((n, T), dtype=bool)
    stock_sum = np.zeros(n)
    cycles = np.zeros(n)
    cycles_ok = np.zeros(n)
    cycle_had_stockout = np.zeros(n, dtype=bool)
    hist = history[["unique_id", "ds", "sold", "censored"]]
    for t in range(T):
        if t % review_days == 0:
            if t > 0:
                cycles += 1
                cycles_ok += ~cycle_had_stockout
                cycle_had_stockout[:] = False
            recent = pd.DataFrame({
                "unique_id": np.repeat(ids, t), "ds": np.tile(days[:t], n),
                "sold": sold[:, :t].ravel(), "censored": out_day[:, :t].ravel()})
            both = pd.concat([hist, recent], ignore_index=True) if t else hist
            series = lift_censored(both.sort_values(["unique_id", "ds"], ignore_index=True))
            classes = classify_series(series)
            fc = forecast_series(series, classes["demand_class"], h=120, holdout=holdout_days)
            by_uid = {u: g["mean"].to_numpy() for u, g in fc.forecasts.groupby("unique_id")}
            for i, uid in enumerate(ids):
                it = items.loc[uid]
                f = by_uid.get(uid, np.zeros(120))
                sigma = float(fc.summary.at[uid, "sigma"]) if uid in fc.summary.index else 0.0
                pipeline = arrivals[i, t:].sum()
                first = np.isnan(on_hand[i])
                res = plan_item(f, sigma, float(it["service_level"]), float(it["lead_time_days"]),
                                review_days, 0.0 if first else on_hand[i], pipeline, 0.0,
                                float(it["lead_time_std_days"]), int(it["moq"]),
                                int(it["case_pack"]))
                if first:
                    on_hand[i] = float(np.ceil(res.order_up_to))
                    continue
                if res.recommended_qty > 0:
                    lt = max(1, int(round(rng.normal(it["lead_time_days"],
                                                     it["lead_time_std_days"] or 0.0))))
                    if t + lt <= T:
                        arrivals[i, t + lt] += res.recommended_qty
                    else:
                        arrivals[i, T] += res.recommended_qty
        on_hand += arrivals[:, t]
        served = np.minimum(dem[:, t], np.maximum(on_hand, 0.0))
        sold[:, t] = served
        on_hand -= served
        short = dem[:, t] > served + 1e-9
        out_day[:, t] = on_hand <= 0
        cycle_had_stockout |= short
        stock_sum += on_hand
    cycles += 1
    cycles_ok += ~cycle_had_stockout
    total = dem.sum(axis=1)
    return pd.DataFrame({
        "unique_id": ids,
        "demand_units": total,
        "served_units": sold.sum(axis=1),
        "fill_rate": np.where(total > 0, sold.sum(axis=1) / np.where(total > 0, total, 1), 1.0),
        "cycle_service_level": cycles_ok / cycles,
        "stockout_days": (dem > sold + 1e-9).sum(axis=1),
        "lost_units": total - sold.sum(axis=1),
        "avg_on_hand_units": stock_sum / T,
    }).set_index("unique_id")

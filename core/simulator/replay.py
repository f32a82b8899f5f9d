"""Replay restock's plan over a stretch of known demand and measure what it achieves.

The replay is honest about information: at each review day the forecaster sees only the
*sales* that happened before that day (censored by the simulated stock, with stockout days
marked and lifted as in :mod:`core.demand`), never the demand it is judged on.

This is :func:`core.simulator.engine.simulate` with :class:`~core.simulator.restock.
RestockPolicy` aiming at each series' *cycle* service level (the plan's own semantics):
each simulated day receipts due arrive; on a review day the policy orders S - IP (rounded
to MOQ and case pack), arriving after a lead time drawn from N(L, sigma_L) rounded to whole
days (at least 1); then the day's demand is served from stock and the shortfall is lost.

Every series starts with on-hand stock equal to its first order-up-to level and nothing on
order (a warm start: the policy is judged, not the inherited stock position).

Measures per series: see :mod:`core.simulator.measures` (``fill_rate``,
``cycle_service_level``, ``stockout_days``, ``lost_units``, ``avg_on_hand_units``, ...).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from .engine import Item, Scenario, simulate
from .restock import RestockPolicy

__all__ = ["replay_plan"]


def replay_plan(history: pd.DataFrame, demand: pd.DataFrame, items: pd.DataFrame,
                review_days: int = 7, holdout_days: int = 28, seed: int = 0) -> pd.DataFrame:
    """Replay the plan over ``demand``.

    Args:
        history: ``unique_id``, ``ds``, ``sold``, ``censored`` before the first replay day.
        demand: ``unique_id``, ``ds``, ``demand`` for every replay day of every series.
        items: indexed by unique_id: ``lead_time_days``, ``lead_time_std_days``, ``moq``,
            ``case_pack``, ``service_level`` (optional ``unit_cost``).
        review_days: days between reviews (the first replay day is a review day).
        holdout_days: holdout of the model selection.
        seed: for the lead-time draws.

    Returns:
        One row per unique_id (index ``unique_id``) with the measures of the module
        docstring, ``demand_units`` and ``served_units``.
    """
    ids = sorted(demand["unique_id"].unique())
    sim_days = pd.DatetimeIndex(sorted(pd.to_datetime(demand["ds"].unique())))
    hist = history[history["unique_id"].isin(ids)]
    start = min(pd.to_datetime(hist["ds"]).min(), sim_days[0]) if len(hist) else sim_days[0]
    days = pd.date_range(start, sim_days[-1])
    t0 = int(days.get_loc(sim_days[0]))
    hdays = days[:t0]
    sold = hist.pivot_table(index="unique_id", columns="ds", values="sold", aggfunc="sum")
    sold = sold.reindex(index=ids, columns=hdays).fillna(0.0).to_numpy(dtype=float)
    cens = hist.assign(censored=hist["censored"].astype(float)).pivot_table(
        index="unique_id", columns="ds", values="censored", aggfunc="max")
    cens = cens.reindex(index=ids, columns=hdays).fillna(0.0).to_numpy() > 0
    firsts = pd.to_datetime(hist.groupby("unique_id")["ds"].min()).reindex(ids)
    first = np.array([t0 if pd.isna(d) else int(days.get_loc(d)) for d in firsts], dtype=int)
    dem = demand.pivot_table(index="unique_id", columns="ds", values="demand", aggfunc="sum")
    dem = dem.reindex(index=ids, columns=sim_days).fillna(0.0).to_numpy(dtype=float)
    it = items.reindex(ids)
    cost = it["unit_cost"] if "unit_cost" in it else pd.Series(0.0, index=ids)
    objs = [Item(index=i, sku=u, lead_time_days=float(it.at[u, "lead_time_days"]),
                 lead_time_std_days=float(np.nan_to_num(it.at[u, "lead_time_std_days"])),
                 moq=int(it.at[u, "moq"]), case_pack=int(it.at[u, "case_pack"]),
                 unit_cost=float(np.nan_to_num(cost[u])),
                 service_level=float(it.at[u, "service_level"])) for i, u in enumerate(ids)]
    scen = Scenario(days=days, history_sold=sold, history_censored=cens, demand=dem,
                    items=objs, first_day=first)
    policy = RestockPolicy(kind="cycle", holdout_days=holdout_days, horizon=120)
    out = simulate(scen, policy, review_days=review_days, seed=seed).skus
    return out.rename_axis("unique_id")

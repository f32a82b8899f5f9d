"""Service and stock measures of a simulation run, per SKU and overall.

Per SKU, over the S simulated days (d_t demand, s_t units served, I_t end-of-day on hand,
c the unit cost):

- ``demand_units`` = sum d_t; ``served_units`` = sum s_t; ``lost_units`` = the difference.
- ``fill_rate`` = sum s_t / sum d_t (1.0 when nothing was demanded).
- ``cycle_service_level``: the simulated days are cut into review cycles of R days from the
  first simulated day (the last one may be shorter); the share of cycles with no day of
  unmet demand.
- ``stockout_days``: days with unmet demand (d_t > s_t).
- ``avg_on_hand_units`` = mean of I_t (end of day); ``avg_on_hand_value`` = that x c.
- ``turnover``: annualised cost of goods sold over average inventory value,
  (sum s_t x c) x (365 / S) / avg_on_hand_value; NaN when no stock was held.

Overall: totals of units and values, the units-weighted ``fill_rate`` (sum served / sum
demanded), ``cycle_service_level`` pooled over all SKU cycles, ``stockout_days`` summed
(and ``stockout_days_per_sku``), and ``turnover`` of the summed cost of goods over the
summed average inventory value.
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd

__all__ = ["MEASURES", "measure", "overall", "aggregate"]

MEASURES = ["fill_rate", "cycle_service_level", "stockout_days", "lost_units",
            "avg_on_hand_units", "avg_on_hand_value", "turnover"]
_EPS = 1e-9


def measure(skus, demand: np.ndarray, served: np.ndarray, on_hand: np.ndarray,
            unit_cost: np.ndarray, review_days: int) -> pd.DataFrame:
    """Per-SKU measures of the module docstring from (n, S) daily arrays."""
    n, n_days = demand.shape
    total, got = demand.sum(axis=1), served.sum(axis=1)
    short = demand > served + _EPS
    cycle = np.arange(n_days) // max(int(review_days), 1)
    n_cycles = int(cycle[-1]) + 1 if n_days else 0
    bad = np.zeros((n, max(n_cycles, 1)), dtype=bool)
    for c in range(n_cycles):
        bad[:, c] = short[:, cycle == c].any(axis=1)
    avg_units = on_hand.mean(axis=1) if n_days else np.zeros(n)
    value = avg_units * unit_cost
    cogs_year = got * unit_cost * 365.0 / max(n_days, 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        turnover = np.where(value > _EPS, cogs_year / np.where(value > _EPS, value, 1.0), np.nan)
        fill = np.where(total > 0, got / np.where(total > 0, total, 1.0), 1.0)
    return pd.DataFrame({
        "sku": list(skus),
        "demand_units": total,
        "served_units": got,
        "fill_rate": fill,
        "cycle_service_level": 1.0 - bad[:, :n_cycles].mean(axis=1) if n_cycles else 1.0,
        "cycles": n_cycles,
        "stockout_days": short.sum(axis=1).astype(int),
        "lost_units": total - got,
        "avg_on_hand_units": avg_units,
        "avg_on_hand_value": value,
        "cogs": got * unit_cost,
        "turnover": turnover,
    }).set_index("sku")


def aggregate(per: pd.DataFrame, n_days: int) -> dict:
    """Aggregates of a per-SKU measures frame (any subset of it); see module docstring."""
    dem, got = float(per["demand_units"].sum()), float(per["served_units"].sum())
    value = float(per["avg_on_hand_value"].sum())
    cycles = float(per["cycles"].sum())
    ok = float((per["cycle_service_level"] * per["cycles"]).sum())
    cogs_year = float(per["cogs"].sum()) * 365.0 / max(n_days, 1)
    return {
        "skus": int(len(per)),
        "days": int(n_days),
        "demand_units": dem,
        "served_units": got,
        "fill_rate": got / dem if dem > 0 else 1.0,
        "cycle_service_level": ok / cycles if cycles else 1.0,
        "stockout_days": int(per["stockout_days"].sum()),
        "stockout_days_per_sku": float(per["stockout_days"].mean()) if len(per) else 0.0,
        "lost_units": float(per["lost_units"].sum()),
        "avg_on_hand_units": float(per["avg_on_hand_units"].sum()),
        "avg_on_hand_value": value,
        "turnover": cogs_year / value if value > _EPS else math.nan,
    }


def overall(per: pd.DataFrame, n_days: int) -> dict:
    """Aggregates over every SKU of the run."""
    return aggregate(per, n_days)

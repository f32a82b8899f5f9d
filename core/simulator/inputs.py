"""Build a :class:`~core.simulator.engine.Scenario` from plain demand and item frames.

``demand``: ``sku``, ``date``, ``quantity`` (one row per SKU and day at most). The calendar
runs from the first to the last date of the whole frame; a SKU's history starts at its own
first row (earlier days are unknown), and every day after that without a row is zero
demand. The last ``simulate_days`` days are simulated; the days before are the history the
policies may look at (taken as observed sales, no stockout days marked).

``items``: indexed by ``sku``: ``lead_time_days``, ``lead_time_std_days``, ``moq``,
``case_pack``, ``unit_cost``, ``price``, ``initial_on_hand`` (NaN: warm start), optional
``service_level``. Missing optional columns default to 0 (std, cost, price), 1 (moq, case
pack) and NaN (initial stock, service level).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from .engine import Item, Scenario

__all__ = ["scenario_from_frames", "items_from_frame"]


def _col(items: pd.DataFrame, name: str, default) -> pd.Series:
    if name in items:
        return items[name].astype(float).fillna(default) if default is not None \
            else items[name].astype(float)
    return pd.Series(np.nan if default is None else default, index=items.index, dtype=float)


def items_from_frame(items: pd.DataFrame, skus) -> list[Item]:
    """One :class:`Item` per SKU of ``skus`` (in that order) from an items frame."""
    it = items.reindex(list(skus))
    std, moq = _col(it, "lead_time_std_days", 0.0), _col(it, "moq", 1.0)
    pack, cost = _col(it, "case_pack", 1.0), _col(it, "unit_cost", 0.0)
    price, level = _col(it, "price", 0.0), _col(it, "service_level", None)
    return [Item(index=i, sku=str(s), lead_time_days=float(it.at[s, "lead_time_days"]),
                 lead_time_std_days=float(std[s]), moq=max(int(moq[s]), 1),
                 case_pack=max(int(pack[s]), 1), unit_cost=float(cost[s]),
                 price=float(price[s]),
                 service_level=None if np.isnan(level[s]) else float(level[s]))
            for i, s in enumerate(it.index)]


def scenario_from_frames(demand: pd.DataFrame, items: pd.DataFrame,
                         simulate_days: int) -> Scenario:
    """The scenario of the module docstring; SKUs are the demand frame's, sorted.

    Raises:
        ValueError: when the calendar is not longer than ``simulate_days`` or a SKU has no
            item row.
    """
    d = demand.assign(date=pd.to_datetime(demand["date"]).dt.normalize())
    days = pd.date_range(d["date"].min(), d["date"].max())
    if len(days) <= simulate_days:
        raise ValueError(f"demand covers {len(days)} days: need more than the "
                         f"{simulate_days} simulated days (the rest is history)")
    skus = sorted(d["sku"].astype(str).unique())
    missing = sorted(set(skus) - set(items.index.astype(str)))
    if missing:
        raise ValueError(f"SKUs without an item row: {', '.join(missing)}")
    grid = d.pivot_table(index="sku", columns="date", values="quantity", aggfunc="sum")
    mat = grid.reindex(index=skus, columns=days).fillna(0.0).to_numpy(dtype=float)
    t0 = len(days) - simulate_days
    first = d.groupby("sku")["date"].min().reindex(skus)
    first_day = ((first - days[0]).dt.days.to_numpy()).astype(int)
    objs = items_from_frame(items.set_axis(items.index.astype(str)), skus)
    init = _col(items.set_axis(items.index.astype(str)).reindex(skus), "initial_on_hand", None)
    return Scenario(days=days, history_sold=mat[:, :t0], demand=mat[:, t0:], items=objs,
                    first_day=first_day, initial_on_hand=init.to_numpy(dtype=float))

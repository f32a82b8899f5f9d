"""The SKU portfolio grid ("ZPM" view): ABC x XYZ x lifecycle.

Definition: every SKU x location line of a plan run falls in one cell given by
- ABC: its SKU's share of the last 365 days' gross margin (A = the SKUs making the first
  80%, B the next 15%, C the rest; :func:`core.plan.abc_classes`);
- XYZ: the variability of its weekly demand (X: CV < 0.5, Y: CV < 1.0, Z otherwise;
  :func:`core.classify.xyz_class`);
- lifecycle: new, growing, mature or declining (:func:`core.classify.lifecycle`).
Each cell reports the number of lines, units and value on hand (at unit cost), forecast
units per day and the value recommended to order, so a merchant sees where stock sits
against where margin comes from (for example AX lines deserve the tightest service, CZ
lines with much stock are candidates to sell down).
"""
from __future__ import annotations

import pandas as pd

__all__ = ["portfolio_grid"]


def portfolio_grid(lines: pd.DataFrame) -> pd.DataFrame:
    """Aggregate order-list lines (:func:`core.reports.order_list`) per ABC x XYZ x lifecycle."""
    cols = ["abc", "xyz", "lifecycle", "lines", "on_hand_units", "on_hand_value",
            "forecast_daily", "order_value"]
    if lines.empty:
        return pd.DataFrame(columns=cols)
    d = lines.assign(on_hand_value=lines["on_hand"] * lines["unit_cost"].fillna(0.0))
    grid = d.groupby(["abc", "xyz", "lifecycle"]).agg(
        lines=("sku", "size"), on_hand_units=("on_hand", "sum"),
        on_hand_value=("on_hand_value", "sum"), forecast_daily=("forecast_daily", "sum"),
        order_value=("order_value", "sum")).reset_index()
    return grid[cols].round(2)

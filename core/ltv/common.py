"""Helpers shared by the LTV modules: forecast demand over a window of days, who counts
as a high-LTV customer, and each customer's expected units of a SKU in a window.

Forecast demand between day a and day b after the cut-off (a < b, fractional days
interpolated) is D(b) - D(a) with D from :func:`core.policy.demand_over`, over the line's
daily forecast extended beyond its end (plan lines store 56 days) with the mean of its last
7 days, so a weekly cycle is not frozen on one weekday. Lines without a daily forecast use
``forecast_daily`` every day.

High-LTV customers (:func:`high_ltv_mask`): segment in ``HIGH_LTV_SEGMENTS`` ("champions",
"loyal", "loyal_customers"; compared in lower case) **or** predicted CLV at or above the
``clv_quantile`` (default 0.8: the top 20 %) of the shop's customers' predicted CLVs.

Customer demand rows (``customer_id, sku, location_id, due_in_days, units, units_per_day,
predicted_clv, segment``) give a customer's expected units of a SKU either from a predicted
re-buy date (``due_in_days`` days after the cut-off, ``units`` expected units then) or from a
purchase rate (``units_per_day``). Expected units in the window (a, b] (:func:`units_between`):
``units`` when the due day falls in it - a re-buy already overdue by at most
``overdue_grace_days`` (default 14) counts in a window starting at the cut-off, the customer
is waiting for stock - plus ``units_per_day * (b - a)``.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..policy import demand_over

__all__ = ["HIGH_LTV_SEGMENTS", "CLV_QUANTILE", "OVERDUE_GRACE_DAYS", "daily_forecast",
           "demand_between", "clv_threshold", "high_ltv_mask", "units_between",
           "DEMAND_COLUMNS"]

HIGH_LTV_SEGMENTS = ("champions", "loyal", "loyal_customers")
CLV_QUANTILE = 0.8
OVERDUE_GRACE_DAYS = 14.0
DEMAND_COLUMNS = ["customer_id", "sku", "location_id", "due_in_days", "units", "units_per_day",
                  "predicted_clv", "segment"]


def daily_forecast(row) -> np.ndarray:
    """The daily forecast of a plan line: a ``daily`` array, the ``forecast`` JSON's
    ``mean`` list, or ``forecast_daily`` as a one-day series (repeated by the extension)."""
    daily = row.get("daily") if hasattr(row, "get") else None
    if daily is not None and not (isinstance(daily, float) and np.isnan(daily)) \
            and len(daily):
        return np.asarray(daily, dtype=float)
    fc = row.get("forecast") if hasattr(row, "get") else None
    if isinstance(fc, dict) and fc.get("mean"):
        return np.asarray(fc["mean"], dtype=float)
    rate = row.get("forecast_daily") if hasattr(row, "get") else None
    rate = 0.0 if rate is None or rate != rate else float(rate)
    return np.array([rate])


def demand_between(daily: np.ndarray, start: float, end: float) -> float:
    """Forecast units on days (start, end] after the cut-off (see the module docstring)."""
    daily = np.asarray(daily, dtype=float)
    if daily.size == 0 or end <= start:
        return 0.0
    need = int(np.ceil(max(end, 0.0))) + 1
    if need > daily.size:
        tail = float(np.mean(daily[-7:]))
        daily = np.concatenate([daily, np.full(need - daily.size, tail)])
    return max(demand_over(daily, end) - demand_over(daily, max(start, 0.0)), 0.0)


def clv_threshold(customer_values: pd.DataFrame, quantile: float = CLV_QUANTILE) -> float:
    """The predicted CLV at the ``quantile`` of the customers (inf when none is known)."""
    v = pd.to_numeric(customer_values.get("predicted_clv"), errors="coerce").dropna() \
        if customer_values is not None and len(customer_values) else pd.Series(dtype=float)
    return float(v.quantile(quantile)) if len(v) else float("inf")


def high_ltv_mask(frame: pd.DataFrame, threshold: float,
                  segments=HIGH_LTV_SEGMENTS) -> pd.Series:
    """True for rows whose ``segment`` is a high-LTV segment or whose ``predicted_clv`` is at
    or above ``threshold``."""
    seg = frame["segment"] if "segment" in frame else pd.Series(None, index=frame.index)
    wanted = {s.lower() for s in (segments or ())}
    by_seg = seg.fillna("").astype(str).str.lower().isin(wanted)
    clv = pd.to_numeric(frame["predicted_clv"], errors="coerce")
    return by_seg | (clv >= threshold).fillna(False)


def units_between(demand: pd.DataFrame, start: float, end: float,
                  overdue_grace_days: float = OVERDUE_GRACE_DAYS) -> pd.Series:
    """Each customer demand row's expected units on days (start, end] after the cut-off."""
    if demand.empty:
        return pd.Series(dtype=float, index=demand.index)
    due = pd.to_numeric(demand["due_in_days"], errors="coerce")
    lo = -overdue_grace_days if start <= 0 else start
    in_window = (due > lo) & (due <= end) if start > 0 else (due >= lo) & (due <= end)
    units = pd.to_numeric(demand["units"], errors="coerce").fillna(0.0)
    rate = pd.to_numeric(demand["units_per_day"], errors="coerce").fillna(0.0)
    return units.where(in_window.fillna(False), 0.0) + rate * max(end - start, 0.0)

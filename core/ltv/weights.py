"""SKU weights from the lifetime value of the customers who buy each SKU.

A SKU bought by a shop's best customers deserves a higher service level than one bought
mostly by one-off buyers: running out of it puts more future revenue at risk. The weight
feeds :func:`core.policy.service_level_for` through ``PlanInputs.ltv_weight``
(SL' = 1 - (1 - SL) / w).

For SKU s, with r_cs the revenue (units x price - discount, refunds excluded) customer c
spent on s over the last ``lookback_days`` (default 365) up to the cut-off, and v_c the
customer's predicted CLV:

- buyer value      L_s = sum_c r_cs v_c / sum_c r_cs   (revenue-weighted mean CLV of its buyers)
- shop value       L   = sum_s sum_c r_cs v_c / sum_s sum_c r_cs   (the same over every SKU)
- raw weight       w_s = L_s / L                        (1 = an average SKU)
- shrunk weight    w'_s = 1 + n_s / (n_s + k) * (w_s - 1), n_s the number of distinct
  identified buyers of s, k = ``shrink_k`` (default 10): a SKU with 10 buyers keeps half
  its deviation from 1, one with 90 keeps 90 %.
- bounds           w''_s = clip(w'_s, 0.5, 2.0): the bounds :func:`core.policy.service_level_for`
  applies anyway, so the stored weight is the one the plan uses.

Because L is the revenue-weighted mean of the L_s, sum_s R_s w_s / sum_s R_s = 1 exactly
before shrinking (R_s = sum_c r_cs): weights are centred on 1 by revenue.

Guests and customers without a predicted CLV: with ``guests="exclude"`` (the default) their
revenue is left out of both L_s and L, so a SKU's weight reflects only identified buyers,
and a SKU bought only by guests gets w = 1 (n_s = 0). With ``guests="mean"`` every guest
line counts at the shop's mean guest value: a guest's lifetime is the order we saw, so the
value is guest revenue / number of guest orders (or ``guest_value`` when given); guests do
not count in n_s.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["ltv_weight_table", "ltv_weights", "WEIGHT_BOUNDS", "DEFAULT_SHRINK_K",
           "DEFAULT_LOOKBACK_DAYS"]

WEIGHT_BOUNDS = (0.5, 2.0)
DEFAULT_SHRINK_K = 10.0
DEFAULT_LOOKBACK_DAYS = 365


def _window(lines: pd.DataFrame, cutoff, days: int) -> pd.DataFrame:
    if lines.empty:
        return lines
    day = pd.to_datetime(lines["day"])
    end = pd.Timestamp(cutoff) if cutoff is not None else day.max()
    keep = (day <= end) & (day > end - pd.Timedelta(days=days))
    return lines[keep]


def ltv_weight_table(lines: pd.DataFrame, customer_values: pd.DataFrame, cutoff=None, *,
                     lookback_days: int = DEFAULT_LOOKBACK_DAYS, guests: str = "exclude",
                     guest_value: float | None = None, shrink_k: float = DEFAULT_SHRINK_K,
                     bounds: tuple[float, float] = WEIGHT_BOUNDS) -> pd.DataFrame:
    """Per-SKU buyer value and weight (see the module docstring).

    Args:
        lines: Order lines with ``customer_id`` (null for guests), ``sku``, ``day`` and
            ``revenue``; ``order_id`` is used for the guest value when present.
        customer_values: ``customer_id`` and ``predicted_clv``.
        cutoff: Last day counted (default: the last day in ``lines``).
        lookback_days: Days of history counted, ending at ``cutoff``.
        guests: ``"exclude"`` or ``"mean"``.
        guest_value: The value a guest line counts at with ``guests="mean"``.
        shrink_k: k of the shrinkage n / (n + k); 0 disables shrinking.
        bounds: Clip of the final weight.

    Returns:
        One row per SKU sold in the window: ``sku, revenue`` (counted revenue), ``buyers``
        (n_s), ``buyer_value`` (L_s), ``raw_weight`` (w_s), ``weight`` (w''_s).
    """
    if guests not in ("exclude", "mean"):
        raise ValueError(f"guests must be 'exclude' or 'mean', not {guests!r}")
    cols = ["sku", "revenue", "buyers", "buyer_value", "raw_weight", "weight"]
    df = _window(lines, cutoff, lookback_days)
    if df.empty:
        return pd.DataFrame(columns=cols)
    df = df[pd.to_numeric(df["revenue"], errors="coerce").fillna(0.0) > 0].copy()
    all_skus = pd.Index(sorted(_window(lines, cutoff, lookback_days)["sku"].unique()))
    if customer_values is None or "predicted_clv" not in customer_values:
        values = pd.Series(dtype=float)
    else:
        values = (customer_values.dropna(subset=["predicted_clv"])
                  .drop_duplicates("customer_id", keep="last")
                  .set_index("customer_id")["predicted_clv"].astype(float))
    df["value"] = df["customer_id"].map(values)
    ident = df["value"].notna()
    if guests == "mean":
        g = df[~ident]
        if guest_value is None:
            n_orders = g["order_id"].nunique() if "order_id" in g else len(g)
            guest_value = float(g["revenue"].sum() / n_orders) if n_orders else 0.0
        df.loc[~ident, "value"] = float(guest_value)
        counted = df
    else:
        counted = df[ident]
    counted = counted.assign(rv=counted["revenue"] * counted["value"])
    per = counted.groupby("sku").agg(revenue=("revenue", "sum"), rv=("rv", "sum"))
    buyers = df[ident].groupby("sku")["customer_id"].nunique()
    per = per.reindex(all_skus).fillna(0.0)
    per["buyers"] = buyers.reindex(all_skus).fillna(0).astype(int)
    total_r = per["revenue"].sum()
    shop_value = per["rv"].sum() / total_r if total_r > 0 else 0.0
    per["buyer_value"] = np.where(per["revenue"] > 0, per["rv"] / per["revenue"].where(
        per["revenue"] > 0, 1.0), np.nan)
    if shop_value > 0:
        raw = per["buyer_value"] / shop_value
    else:
        raw = pd.Series(np.nan, index=per.index)
    per["raw_weight"] = raw
    n = per["buyers"].astype(float)
    factor = n / (n + shrink_k) if shrink_k > 0 else (n > 0).astype(float)
    shrunk = 1.0 + factor * (raw.fillna(1.0) - 1.0)
    per["weight"] = shrunk.clip(*bounds)
    out = per.reset_index().rename(columns={"index": "sku"})
    return out[cols]


def ltv_weights(lines: pd.DataFrame, customer_values: pd.DataFrame, cutoff=None,
                **kwargs) -> pd.Series:
    """The SKU weight Series for ``PlanInputs.ltv_weight`` (index ``sku``, name
    ``ltv_weight``); arguments as :func:`ltv_weight_table`."""
    table = ltv_weight_table(lines, customer_values, cutoff, **kwargs)
    w = pd.Series(table["weight"].to_numpy(dtype=float), index=table["sku"].to_numpy(),
                  name="ltv_weight")
    w.index.name = "sku"
    return w

"""Demand adjustments before forecasting: SKU switches, campaigns and new-SKU priors.

- **SKU switches**: a variant whose ``successor_sku`` names an active SKU hands its sales
  history to that successor, so the new SKU starts with the old one's demand.
- **Campaigns**: days inside a campaign that lists the SKU are replaced, for fitting, by the
  series' baseline: the mean of the trailing 28 days that were neither campaign nor stockout
  days (at least 7 of them). The campaign's *uplift* is sum(actual) / sum(baseline) over its
  days; a SKU's uplift for a future campaign is its own past uplift when it has one, else
  the pooled uplift of all past campaigns; with no past campaign nothing is raised.
- **New SKUs**: a series with less than ``MIN_HISTORY_DAYS`` of history borrows the mean
  daily demand of its siblings (other variants of the same product; failing that, SKUs of
  the same product family) at the same location over their last 56 days, blended with its
  own mean by weight w = own days / 56: f = w * own + (1 - w) * prior.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["inherit_successors", "remove_campaigns", "campaign_uplift", "raise_for_campaigns",
           "family_prior", "BASELINE_WINDOW"]

BASELINE_WINDOW = 28
PRIOR_DAYS = 56


def inherit_successors(lines: pd.DataFrame, variants: pd.DataFrame) -> pd.DataFrame:
    """Relabel the lines of switched-out SKUs as their active successor's."""
    if lines.empty or "successor_sku" not in variants.columns:
        return lines
    active = variants[variants["status"].fillna("active") != "archived"]
    succ_id = dict(zip(active["sku"], active["id"]))
    mapping = {s: t for s, t in zip(variants["sku"], variants["successor_sku"])
               if isinstance(t, str) and t in succ_id and t != s}
    if not mapping:
        return lines
    out = lines.copy()
    moved = out["sku"].isin(list(mapping))
    out.loc[moved, "sku"] = out.loc[moved, "sku"].map(mapping)
    out.loc[moved, "variant_id"] = out.loc[moved, "sku"].map(succ_id)
    return out


def _campaign_days(series: pd.DataFrame, campaigns: pd.DataFrame | None) -> np.ndarray:
    flag = np.zeros(len(series), dtype=bool)
    if campaigns is None or campaigns.empty or series.empty:
        return flag
    sku = series["unique_id"].str.rpartition("@")[0]
    for c in campaigns.itertuples():
        skus = set(c.skus or [])
        if skus:
            flag |= (sku.isin(skus) & (series["ds"] >= c.start) & (series["ds"] <= c.end)).to_numpy()
    return flag


def remove_campaigns(series: pd.DataFrame, campaigns: pd.DataFrame | None) -> pd.DataFrame:
    """Add ``campaign`` (bool) and ``baseline``; replace ``y`` by the baseline on campaign days.

    ``series`` has unique_id, ds, y and censored, sorted by id and day.
    """
    out = series.copy()
    out["campaign"] = _campaign_days(out, campaigns)
    clean = out["y"].where(~out["campaign"] & ~out["censored"]).astype(float)
    out["baseline"] = clean.groupby(out["unique_id"]).transform(
        lambda s: s.rolling(BASELINE_WINDOW, min_periods=7).mean().shift(1).ffill())
    if out["campaign"].any():
        use = out["campaign"] & out["baseline"].notna()
        out["campaign_actual"] = np.where(out["campaign"], out["y"], np.nan)
        out.loc[use, "y"] = out.loc[use, "baseline"]
    else:
        out["campaign_actual"] = np.nan
    return out


def campaign_uplift(adjusted: pd.DataFrame, campaigns: pd.DataFrame | None) -> pd.DataFrame:
    """Uplift per campaign and SKU from :func:`remove_campaigns` output.

    Returns:
        Frame with campaign, sku, actual, baseline, uplift (actual / baseline).
    """
    cols = ["campaign", "sku", "actual", "baseline", "uplift"]
    if campaigns is None or campaigns.empty or not adjusted["campaign"].any():
        return pd.DataFrame(columns=cols)
    d = adjusted[adjusted["campaign"] & adjusted["baseline"].notna()]
    d = d.assign(sku=d["unique_id"].str.rpartition("@")[0])
    rows = []
    for c in campaigns.itertuples():
        inside = d[(d["ds"] >= c.start) & (d["ds"] <= c.end) & d["sku"].isin(set(c.skus or []))]
        for sku, g in inside.groupby("sku"):
            a, b = float(g["campaign_actual"].sum()), float(g["baseline"].sum())
            rows.append((c.name, sku, a, b, a / b if b > 0 else np.nan))
    return pd.DataFrame(rows, columns=cols)


def raise_for_campaigns(daily: np.ndarray, start: pd.Timestamp, sku: str,
                        campaigns: pd.DataFrame | None, uplifts: pd.DataFrame) -> np.ndarray:
    """Multiply forecast days inside future campaigns listing ``sku`` by its uplift."""
    if campaigns is None or campaigns.empty:
        return daily
    days = pd.date_range(start, periods=len(daily))
    out = np.asarray(daily, dtype=float).copy()
    own = uplifts[(uplifts["sku"] == sku) & (uplifts["baseline"] > 0)]
    pooled = uplifts[uplifts["baseline"] > 0]
    if len(own):
        factor = own["actual"].sum() / own["baseline"].sum()
    elif len(pooled):
        factor = pooled["actual"].sum() / pooled["baseline"].sum()
    else:
        return out
    for c in campaigns.itertuples():
        if sku in set(c.skus or []) and c.end >= start:
            inside = (days >= c.start) & (days <= c.end)
            out[inside] *= factor
    return out


def family_prior(series: pd.DataFrame, variants: pd.DataFrame) -> pd.Series:
    """Mean daily demand of each series' siblings (same product, else same family) at the
    same location over their last 56 days; NaN when no sibling has data."""
    if series.empty:
        return pd.Series(dtype=float)
    rate = series.groupby("unique_id").tail(PRIOR_DAYS).groupby("unique_id")["y"].mean()
    parts = rate.index.to_series().str.rpartition("@")
    info = variants.drop_duplicates("sku").set_index("sku")
    frame = pd.DataFrame({"rate": rate, "loc": parts[2],
                          "product": parts[0].map(info["product_id"]),
                          "family": parts[0].map(info["family"]) if "family" in info else None})

    def leave_one_out(key: str) -> pd.Series:
        grp = frame.groupby([key, "loc"])["rate"]
        total, count = grp.transform("sum"), grp.transform("count")
        return ((total - frame["rate"]) / (count - 1)).where(count > 1)

    by_product = leave_one_out("product")
    by_family = leave_one_out("family") if frame["family"].notna().any() else by_product * np.nan
    return by_product.fillna(by_family)

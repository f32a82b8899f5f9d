"""Daily demand per SKU x location, net of refunds and cancellations, with stockout days marked.

Input frames are plain pandas (no database):

- ``lines``: ``sku``, ``location_id``, ``day`` (date), ``qty`` (net units: ordered minus
  refunded; lines of cancelled orders already removed).
- ``stock`` (optional): end-of-day inventory ``sku``, ``location_id``, ``day``, ``available``.

A day is *censored* (a stockout day) when the end-of-day available quantity is <= 0: what
sold that day is a lower bound of demand. Censored days are lifted to the mean of the
series' uncensored days in the trailing 28 days (at least 7 of them), so stockouts do not
pull forecasts down; the lift is reported as ``lost_estimate``.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["series_id", "split_series_id", "daily_demand", "lift_censored", "CENSOR_WINDOW"]

CENSOR_WINDOW = 28
SEP = "@"


def series_id(sku: pd.Series, location_id: pd.Series) -> pd.Series:
    return sku.astype(str) + SEP + location_id.astype(int).astype(str)


def split_series_id(uid: str) -> tuple[str, int]:
    sku, _, loc = uid.rpartition(SEP)
    return sku, int(loc)


def daily_demand(lines: pd.DataFrame, cutoff, stock: pd.DataFrame | None = None,
                 starts: pd.Series | None = None) -> pd.DataFrame:
    """Zero-filled daily demand per SKU x location up to ``cutoff`` (inclusive).

    Args:
        lines: net units sold (see module docstring).
        cutoff: last day of data to use.
        stock: optional end-of-day stock, to mark stockout days.
        starts: optional first day per ``unique_id`` (for example the variant's creation
            day); a series starts at the earlier of this and its first sale, but never
            before the first day of ``lines`` (the data's own start).

    Returns:
        Long frame ``unique_id``, ``ds``, ``y`` (demand with censored days lifted),
        ``sold`` (what sold), ``censored`` (bool), ``lost_estimate``; sorted by id and day.
    """
    cutoff = pd.Timestamp(cutoff).normalize()
    cols = ["unique_id", "ds", "y", "sold", "censored", "lost_estimate"]
    if lines.empty:
        return pd.DataFrame(columns=cols)
    d = lines.assign(ds=pd.to_datetime(lines["day"]), unique_id=series_id(lines["sku"],
                                                                          lines["location_id"]))
    d = d[d["ds"] <= cutoff]
    daily = d.groupby(["unique_id", "ds"], sort=True)["qty"].sum().clip(lower=0)
    first = daily.reset_index().groupby("unique_id")["ds"].min()
    if starts is not None:  # never before the first day the data covers
        s = pd.to_datetime(starts).reindex(first.index).clip(lower=d["ds"].min())
        first = pd.concat([first, s], axis=1).min(axis=1)
    first = first.clip(upper=cutoff)
    n = ((cutoff - first).dt.days + 1).astype(int)
    uids = np.repeat(first.index.to_numpy(), n.to_numpy())
    offsets = np.concatenate([np.arange(k) for k in n.to_numpy()]) if len(n) else np.array([])
    ds = np.repeat(first.to_numpy(), n.to_numpy()) + offsets.astype("timedelta64[D]")
    full = pd.DataFrame({"unique_id": uids, "ds": ds})
    full = full.merge(daily.rename("sold").reset_index(), on=["unique_id", "ds"], how="left")
    full["sold"] = full["sold"].fillna(0.0).astype(float)
    full["censored"] = False
    if stock is not None and not stock.empty:
        st = stock.assign(ds=pd.to_datetime(stock["day"]),
                          unique_id=series_id(stock["sku"], stock["location_id"]))
        st = st.groupby(["unique_id", "ds"])["available"].last().le(0).rename("out")
        full = full.merge(st.reset_index(), on=["unique_id", "ds"], how="left")
        full["censored"] = full["out"].astype("boolean").fillna(False).astype(bool)
        full = full.drop(columns="out")
    return lift_censored(full)[cols].sort_values(["unique_id", "ds"], ignore_index=True)


def lift_censored(frame: pd.DataFrame) -> pd.DataFrame:
    """Add ``y`` and ``lost_estimate`` to a frame of ``unique_id``, ``ds`` (sorted within each
    id), ``sold`` and ``censored``: censored days are lifted to the mean of the trailing
    uncensored days (see module docstring)."""
    out = frame.copy()
    out["y"] = out["sold"].astype(float)
    if out["censored"].any():
        unc = out["sold"].where(~out["censored"]).astype(float)
        base = unc.groupby(out["unique_id"]).transform(
            lambda s: s.rolling(CENSOR_WINDOW, min_periods=7).mean().shift(1).ffill())
        out["y"] = np.where(out["censored"] & base.notna(), np.maximum(out["sold"], base),
                            out["sold"])
    out["lost_estimate"] = out["y"] - out["sold"]
    return out

"""Shop KPIs for one day, computed from storage as of that day over a trailing window.

Every KPI of day ``D`` uses only data dated on or before ``D`` (order days in the shop's
time zone, inventory snapshot days as stored). The *window* W is the ``window`` days
ending on ``D`` (default :data:`DEFAULT_WINDOW` = 30, ``D`` included); ``n = window``.
A further :data:`LOOKBACK_DAYS` before W are read so that stockout days early in W have
uncensored days to be lifted from (see :mod:`core.demand`).

Units and money:

- *units sold* are ordered units of non-cancelled orders; refunds are **not** subtracted
  (a refunded unit was still served from stock). *Revenue* is net of refunds and discounts:
  ``(quantity - refunded) * price - discount`` per line, floored at 0.
- *unit cost* is the variant's ``unit_cost``, else its primary supplier item's; SKUs with
  no known cost are left out of COGS and inventory value (on both sides of a ratio).
- *lost units* are core.demand's ``lost_estimate``: on a stockout day (end-of-day
  available <= 0) demand is lifted to the mean of the series' trailing uncensored days,
  ``lost = max(sold, trailing mean) - sold``; computed on daily SKU x location units sold,
  a series starting at the pair's first snapshot in the read range (days without a sale
  are zero-demand days, not missing), else at its first sale.

KPIs (name: formula; NaN, stored as NULL, when the denominator is 0 or data is missing):

- ``stockout_rate``: #(counted SKU x location days with available <= 0) / #(counted days).
  A SKU x location day is counted when (a) an end-of-day snapshot exists for it (days
  without one are not counted, nothing is carried forward), (b) the variant is not
  archived / draft, or it sold at that location within W, and (c) the pair is *stocked*:
  it had available > 0 or a sale on some day of the read range (lookback + W). Available
  missing falls back to on_hand.
- ``fill_rate``: units sold in W / (units sold in W + lost units in W).
- ``units_sold``, ``revenue``: totals over W.
- ``cogs``: sum over W of units sold x unit cost.
- ``inventory_value``: sum of on_hand x unit cost on the last snapshot day in W (on_hand
  missing -> available; negatives -> 0).
- ``inventory_turnover``: (cogs x 365 / n) / average inventory value, the average taken
  over the days of W that have snapshots.
- ``days_of_cover``: inventory_value / (cogs / n).
- ``lost_units``: lost units in W; ``lost_revenue``: sum of lost units x variant price
  (else the SKU's mean net revenue per unit in the read range).
- ``repurchase_rate``: the cohort is every customer with a non-cancelled order in the
  reference window R = the ``window`` days ending ``REPURCHASE_DAYS`` (90) days before D;
  with t the customer's last order day in R, the customer repurchased when they have an
  order on a day in (t, t + 90]. rate = repurchased / cohort; fully observed by D since
  t + 90 <= D. ``repurchase_cohort`` is the cohort size.
- ``ltv_mean`` (dims ``segment``): mean ``predicted_clv`` per segment over the customer
  scores of the latest ``scored_on`` <= D (rows without a segment or CLV are skipped);
  ``segment_customers``: customers scored per segment.
- ``forecast_mase``, ``forecast_wape``, ``forecast_bias``: those of the latest finished
  plan run (status ``done``) whose ``data_cutoff`` <= D (definitions in :mod:`core.metrics`).
- Channel breakdown (dims ``channel``, plus ``location`` for POS): ``channel_units``,
  ``channel_revenue`` over W; ``channel_lost_units`` = stockout-affected demand: each SKU x
  location's lost units in W split over channels by that pair's channel shares of units
  sold in the read range (else the location's shares; else ``pos`` for stores and ``web``
  for other locations); ``channel_fill_rate`` = units / (units + lost units). The channel is
  the order's ``source``: ``web`` / ``online_store`` -> ``web``; ``pos`` -> ``pos`` per
  location; anything else is kept as named (``marketplace``, ``amazon``...), none ->
  ``unknown``.

Slices are keyed by :func:`dims_key` (``"channel=pos,location=Store 1"``; ``""`` for the
whole shop). :func:`snapshot_kpis` stores a day's KPIs (an idempotent upsert, see
:mod:`core.kpi_store`), :func:`kpi_series` reads one slice back as a trend.

Before / after a change (:func:`compare_periods`): a KPI's daily snapshot values in the
``days`` days before the change day (``[c - days, c - 1]``) against the ``days`` after it
(``[c + 1, c + days]``; the change day itself is mixed and left out): difference =
mean(after) - mean(before); Welch's se = sqrt(s_b^2 / n_b + s_a^2 / n_a) with
Welch-Satterthwaite df = se^4 / ((s_b^2/n_b)^2 / (n_b - 1) + (s_a^2/n_a)^2 / (n_a - 1));
CI = difference +- t_{1-alpha/2, df} se; two-sided p of t = difference / se. Caveat: the
values are trailing-window aggregates, so consecutive days share most of their data; Welch
treats them as independent and the interval is too narrow, and the first window - 1 days
after the change still hold days before it. Read it as a screening signal.
"""
from __future__ import annotations

import math
from datetime import date, timedelta

import numpy as np
import pandas as pd
from scipy import stats
from sqlalchemy.orm import Session

from .demand import daily_demand
from .kpi_store import (DEFAULT_WINDOW, KPI_NAMES, LOOKBACK_DAYS, REPURCHASE_DAYS, KpiData,
                        channel_of, dims_key, forecast_accuracy_history, kpi_series,
                        read_kpi_data, write_snapshots)
from .storage import Shop

__all__ = ["DEFAULT_WINDOW", "LOOKBACK_DAYS", "REPURCHASE_DAYS", "KPI_NAMES", "KpiData",
           "channel_of", "dims_key", "read_kpi_data", "compute_kpis", "snapshot_kpis",
           "snapshot_range", "kpi_series", "compare_periods", "welch",
           "forecast_accuracy_history"]

_INACTIVE = ("archived", "draft")


def _ratio(num: float, den: float) -> float:
    return float(num) / float(den) if den and den > 0 else float("nan")


def _lost_frame(data: KpiData) -> pd.DataFrame:
    """core.demand's series over the read range, cut to W: sku, location_id, ds, sold,
    censored, lost_estimate."""
    lines = data.lines
    if lines.empty:
        return pd.DataFrame(columns=["sku", "location_id", "ds", "sold", "censored",
                                     "lost_estimate"])
    stock = None
    if len(data.stock):
        stock = data.stock.dropna(subset=["sku"]).assign(
            available=data.stock["available"].fillna(data.stock["on_hand"]))
        stock = stock.dropna(subset=["available"])[["sku", "location_id", "day", "available"]]
    starts = None
    if stock is not None and len(stock):  # a tracked pair's series starts at its first snapshot
        first = stock.groupby(["sku", "location_id"])["day"].min().reset_index()
        starts = pd.Series(first["day"].to_numpy(),
                           index=(first["sku"].astype(str) + "@"
                                  + first["location_id"].astype(int).astype(str)).to_numpy())
    series = daily_demand(lines.rename(columns={"units": "qty"}), data.day, stock, starts)
    series = series[series["ds"] >= data.start]
    parts = series["unique_id"].str.rpartition("@")
    return series.assign(sku=parts[0], location_id=parts[2].astype(int))


def _pairs(frame: pd.DataFrame) -> pd.MultiIndex:
    return pd.MultiIndex.from_arrays([pd.to_numeric(frame["variant_id"]).astype("float"),
                                      frame["location_id"].astype(int)])


def _stockout_rate(data: KpiData) -> float:
    st = data.stock
    if st is None or len(st) == 0:
        return float("nan")
    st = st.assign(available=st["available"].fillna(st["on_hand"])).dropna(subset=["available"])
    lines = data.lines.dropna(subset=["variant_id"])
    sold_any = _pairs(lines)
    sold_w = _pairs(lines[lines["day"] >= data.start])
    had_stock = _pairs(st[st["available"] > 0])
    w = st[st["day"] >= data.start]
    pairs = _pairs(w)
    status = w["variant_id"].map(dict(zip(data.variants["id"], data.variants["status"])))
    active = ~status.fillna("active").isin(_INACTIVE).to_numpy() | pairs.isin(sold_w)
    stocked = pairs.isin(had_stock) | pairs.isin(sold_any)
    counted = w[active & stocked]
    if len(counted) == 0:
        return float("nan")
    return float((counted["available"] <= 0).mean())


def _inventory_values(data: KpiData) -> pd.Series:
    """Inventory value at cost per snapshot day of W."""
    st = data.stock
    if st is None or len(st) == 0:
        return pd.Series(dtype=float)
    st = st[st["day"] >= data.start]
    cost = st["variant_id"].map(dict(zip(data.variants["id"], data.variants["cost"])))
    units = st["on_hand"].fillna(st["available"]).clip(lower=0)
    value = (units * cost.astype(float))
    ok = value.notna()
    return value[ok].groupby(st.loc[ok, "day"]).sum().sort_index()


def compute_kpis(data: KpiData) -> list[tuple[str, dict, float]]:
    """All KPIs of ``data.day`` as (name, dims, value) rows (see module docstring)."""
    rows: list[tuple[str, dict, float]] = []

    def add(name, value, dims=None):
        rows.append((name, dims or {}, float("nan") if value is None else float(value)))

    n = data.window
    lines = data.lines[data.lines["day"] >= data.start]
    units = float(lines["units"].sum())
    lost = _lost_frame(data)
    lost_units = float(lost["lost_estimate"].sum())
    add("stockout_rate", _stockout_rate(data))
    add("fill_rate", _ratio(units, units + lost_units))
    add("units_sold", units)
    add("revenue", float(lines["revenue"].sum()))
    unit_cost = lines["variant_id"].map(dict(zip(data.variants["id"], data.variants["cost"])))
    cogs = float((lines["units"] * unit_cost.astype(float)).sum())
    values = _inventory_values(data)
    inv_now = float(values.iloc[-1]) if len(values) else float("nan")
    add("cogs", cogs)
    add("inventory_value", inv_now)
    add("inventory_turnover", _ratio(cogs * 365.0 / n, float(values.mean()) if len(values)
                                     else 0.0))
    add("days_of_cover", _ratio(inv_now, cogs / n) if len(values) else float("nan"))
    add("lost_units", lost_units)
    add("lost_revenue", _lost_revenue(data, lost))
    rate, cohort = _repurchase(data)
    add("repurchase_rate", rate)
    add("repurchase_cohort", cohort)
    for seg, g in data.scores.dropna(subset=["segment", "predicted_clv"]).groupby("segment"):
        add("ltv_mean", g["predicted_clv"].astype(float).mean(), {"segment": seg})
        add("segment_customers", len(g), {"segment": seg})
    for k in ("mase", "wape", "bias") if data.run is not None else ():
        add(f"forecast_{k}", data.run.get(k))
    rows.extend(_channel_rows(data, lines, lost))
    return rows


def _lost_revenue(data: KpiData, lost: pd.DataFrame) -> float:
    if lost.empty:
        return 0.0
    price = data.variants.drop_duplicates("sku").set_index("sku")["price"].astype(float)
    g = data.lines.groupby("sku")
    realised = g["revenue"].sum() / g["units"].sum().replace(0, np.nan)
    p = lost["sku"].map(price).fillna(lost["sku"].map(realised)).fillna(0.0)
    return float((lost["lost_estimate"] * p).sum())


def _repurchase(data: KpiData) -> tuple[float, float]:
    o = data.orders
    if o.empty:
        return float("nan"), 0.0
    ref_end = data.day - pd.Timedelta(days=REPURCHASE_DAYS)
    ref = o[o["day"] <= ref_end]
    if ref.empty:
        return float("nan"), 0.0
    last = ref.groupby("customer_id")["day"].max()
    later = o.merge(last.rename("t").reset_index(), on="customer_id")
    hit = later[(later["day"] > later["t"])
                & (later["day"] <= later["t"] + pd.Timedelta(days=REPURCHASE_DAYS))]
    return _ratio(hit["customer_id"].nunique(), len(last)), float(len(last))


def _lost_by_channel(data: KpiData, lost: pd.DataFrame, channels: dict) -> pd.Series:
    """Lost units of W split over channels (see module docstring); adds fallback channels."""
    lost_pairs = lost.groupby(["sku", "location_id"])["lost_estimate"].sum()
    lost_pairs = lost_pairs[lost_pairs > 0]
    ln, locs = data.lines, data.locations.set_index("id")
    pair = ln.groupby(["sku", "location_id", "channel"])["units"].sum()
    by_loc = ln.groupby(["location_id", "channel"])["units"].sum()
    acc: dict[str, float] = {}
    for (sku, lid), v in lost_pairs.items():
        shares = None
        for src, key in ((pair, (sku, lid)), (by_loc, lid)):
            if key in src.index and src.loc[key].sum() > 0:
                shares = src.loc[key] / src.loc[key].sum()
                break
        if shares is None:
            store = lid in locs.index and locs.at[lid, "kind"] == "store"
            dims = ({"channel": "pos", "location": locs.at[lid, "name"]} if store
                    else {"channel": "web"})
            channels.setdefault(dims_key(dims), dims)
            shares = pd.Series({dims_key(dims): 1.0})
        for ch, sh in shares.items():
            acc[ch] = acc.get(ch, 0.0) + float(v) * float(sh)
    return pd.Series(acc, dtype=float)


def _channel_rows(data: KpiData, lines: pd.DataFrame,
                  lost: pd.DataFrame) -> list[tuple[str, dict, float]]:
    channels = dict(data.channels)
    units = lines.groupby("channel")["units"].sum()
    revenue = lines.groupby("channel")["revenue"].sum()
    lost_by = _lost_by_channel(data, lost, channels)
    rows = []
    for ch in sorted(set(units.index) | set(lost_by.index)):
        u, lo = float(units.get(ch, 0.0)), float(lost_by.get(ch, 0.0))
        dims = channels.get(ch, {"channel": ch})
        rows += [("channel_units", dims, u), ("channel_revenue", dims, float(revenue.get(ch, 0.0))),
                 ("channel_lost_units", dims, lo), ("channel_fill_rate", dims, _ratio(u, u + lo))]
    return rows


def snapshot_kpis(session: Session, shop: Shop, day: date,
                  window: int = DEFAULT_WINDOW) -> dict:
    """Compute the KPIs of ``day`` and upsert them as KpiSnapshot rows (idempotent; see
    :func:`core.kpi_store.write_snapshots`). The caller commits.

    Returns:
        ``{"shop_id", "day", "window_days", "written", "deleted", "kpis"}`` where ``kpis``
        maps name -> {dims_key: value} (value None when undefined).
    """
    day = pd.Timestamp(day).date()
    rows = compute_kpis(read_kpi_data(session, shop, day, window))
    return dict(write_snapshots(session, shop, day, rows), window_days=window)


def snapshot_range(session: Session, shop: Shop, first: date, last: date,
                   window: int = DEFAULT_WINDOW) -> int:
    """Snapshot every day from ``first`` to ``last`` (a backfill); returns the days done."""
    d, n = pd.Timestamp(first).date(), 0
    last = pd.Timestamp(last).date()
    while d <= last:
        snapshot_kpis(session, shop, d, window)
        d += timedelta(days=1)
        n += 1
    return n


def compare_periods(session: Session, shop: Shop, name: str, change_day: date,
                    days: int = 28, dims_key: str = "", alpha: float = 0.05) -> dict:
    """Mean of a KPI before vs after ``change_day`` with a Welch interval (module docstring).

    Returns:
        ``name, dims_key, change_day, days, n_before, n_after, mean_before, mean_after,
        difference, se, df, ci_low, ci_high, p_value`` (NaN where too few values: each side
        needs 2 for an interval).
    """
    change = pd.Timestamp(change_day).date()
    s = kpi_series(session, shop, name, dims_key, since=change - timedelta(days=days))
    s = s.dropna(subset=["value"])
    before = s.loc[(s["day"] < change), "value"].to_numpy(dtype=float)
    after = s.loc[(s["day"] > change) & (s["day"] <= change + timedelta(days=days)),
                  "value"].to_numpy(dtype=float)
    out = dict(name=name, dims_key=dims_key, change_day=change, days=days,
               n_before=int(before.size), n_after=int(after.size),
               **welch(before, after, alpha))
    return out


def welch(before: np.ndarray, after: np.ndarray, alpha: float = 0.05) -> dict:
    """Welch comparison of two samples: means, difference, se, df, CI and p-value."""
    nan = float("nan")
    mb = float(np.mean(before)) if before.size else nan
    ma = float(np.mean(after)) if after.size else nan
    res = dict(mean_before=mb, mean_after=ma, difference=ma - mb, se=nan, df=nan,
               ci_low=nan, ci_high=nan, p_value=nan)
    if before.size < 2 or after.size < 2:
        return res
    vb, va = np.var(before, ddof=1) / before.size, np.var(after, ddof=1) / after.size
    se = float(math.sqrt(vb + va))
    if se == 0:
        res.update(se=0.0, ci_low=res["difference"], ci_high=res["difference"],
                   p_value=1.0 if res["difference"] == 0 else 0.0)
        return res
    df = float((vb + va) ** 2 / (vb ** 2 / (before.size - 1) + va ** 2 / (after.size - 1)))
    q = float(stats.t.ppf(1 - alpha / 2, df))
    t = res["difference"] / se
    res.update(se=se, df=df, ci_low=res["difference"] - q * se,
               ci_high=res["difference"] + q * se, p_value=float(2 * stats.t.sf(abs(t), df)))
    return res



"""Reserve scarce stock for high-LTV and repeat customers until the next receipt.

A SKU x location is *short* when the stock it can sell before its next receipt does not
cover the forecast demand until then:

- window T: ``next_receipt_days`` when the line has one (the first open purchase order's
  expected arrival); otherwise the lead time (the earliest a new order can arrive;
  ``default_lead_time_days`` = 14 when unknown).
- stock S: on hand - committed + ``arriving_units`` (units arriving before T) when
  ``next_receipt_days`` is given; otherwise on hand - committed + on order (open orders
  assumed to arrive within the lead time, as :mod:`core.sellthrough` does).
- short when S < D(T), D the forecast demand over the window (:mod:`core.ltv.common`).

For a short line, the *eligible* customers are those expected to order the SKU at that
location within the window (:func:`core.ltv.common.units_between`) who are high-LTV (top
segments or top CLV quantile, :func:`core.ltv.common.high_ltv_mask`) or, with
``include_repeat`` (default), subscription-like repeat buyers (a predicted re-buy date in
the window). Each claims its expected units rounded half up to whole units (a claim under
half a unit holds nothing). Claims are served by predicted CLV, highest first (ties: earlier
re-buy date, then customer id), each min(claim, units left), from floor(max(S, 0)) units:

    protected = sum of the allocations,  open = floor(max(S, 0)) - protected.

Lines that are not short reserve nothing (protected 0, open = stock).
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd

from .common import (CLV_QUANTILE, DEMAND_COLUMNS, HIGH_LTV_SEGMENTS, OVERDUE_GRACE_DAYS,
                     clv_threshold, daily_forecast, demand_between, high_ltv_mask,
                     units_between)

__all__ = ["customer_demand", "protect", "PROTECT_COLUMNS"]

PROTECT_COLUMNS = ["sku", "location_id", "window_days", "stock", "demand", "shortfall",
                   "protected_units", "reserved_for", "open_units"]


def customer_demand(lines: pd.DataFrame, customer_values: pd.DataFrame, cutoff, *,
                    due: pd.DataFrame | None = None, lookback_days: int = 365) -> pd.DataFrame:
    """Expected orders of each customer x SKU x location, for :func:`protect` and
    :func:`core.ltv.excess.excess`.

    - From predicted re-buy dates (``due``: ``customer_id, sku, next_purchase_date`` and
      optionally ``last_quantity`` (default 1), ``p_alive``, ``location_id``):
      due_in_days = next_purchase_date - cutoff, units = last_quantity x p_alive (p_alive
      from ``due``, else from ``customer_values``, else 1). The location is the due row's,
      else that of the customer's last order of the SKU, else of their last order.
    - From purchase rates, for the customer x SKU pairs without a re-buy date:
      units_per_day = expected_purchases_90d / 90 x units of the SKU / orders of the customer
      over the last ``lookback_days`` (orders = distinct ``order_id``, else distinct days),
      at the location of the customer's last order of the SKU.

    Args:
        lines: Identified customers' order lines: ``customer_id, sku, location_id, day, qty``
            and optionally ``order_id``.
        customer_values: ``customer_id, predicted_clv, segment, expected_purchases_90d`` and
            optionally ``p_alive``.
        cutoff: The plan's data cut-off day.
        due: Optional predicted re-buy dates.
        lookback_days: History used for the purchase-rate split.

    Returns:
        A frame with :data:`core.ltv.common.DEMAND_COLUMNS`.
    """
    cut = pd.Timestamp(cutoff)
    vals = customer_values.drop_duplicates("customer_id", keep="last").set_index("customer_id")
    ln = lines[lines["customer_id"].notna()].copy()
    ln["day"] = pd.to_datetime(ln["day"])
    ln = ln[(ln["day"] <= cut) & (ln["day"] > cut - pd.Timedelta(days=lookback_days))]
    ln = ln[ln["customer_id"].isin(vals.index)].sort_values("day")
    last_loc = ln.groupby(["customer_id", "sku"])["location_id"].last()
    any_loc = ln.groupby("customer_id")["location_id"].last()
    rows = []
    done = set()
    if due is not None and len(due):
        d = due[due["customer_id"].isin(vals.index)].copy()
        d["due_in_days"] = (pd.to_datetime(d["next_purchase_date"]) - cut).dt.days
        d = d[d["due_in_days"].notna()]
        qty = pd.to_numeric(d.get("last_quantity", pd.Series(1.0, index=d.index)),
                            errors="coerce").fillna(1.0)
        pa = pd.to_numeric(d.get("p_alive", pd.Series(np.nan, index=d.index)), errors="coerce")
        if "p_alive" in vals:
            pa = pa.fillna(d["customer_id"].map(vals["p_alive"]))
        d["units"] = qty * pa.fillna(1.0)
        loc = pd.to_numeric(d.get("location_id", pd.Series(np.nan, index=d.index)),
                            errors="coerce").astype(float)
        key = pd.MultiIndex.from_arrays([d["customer_id"], d["sku"]])
        loc = loc.fillna(pd.Series(pd.to_numeric(last_loc.reindex(key).to_numpy()),
                                   index=d.index, dtype=float))
        loc = loc.fillna(pd.to_numeric(d["customer_id"].map(any_loc)).astype(float))
        d["location_id"] = loc
        d = d[d["location_id"].notna()]
        d["units_per_day"] = 0.0
        rows.append(d[["customer_id", "sku", "location_id", "due_in_days", "units",
                       "units_per_day"]])
        done = set(zip(d["customer_id"], d["sku"]))
    if len(ln) and "expected_purchases_90d" in vals:
        okey = "order_id" if "order_id" in ln else "day"
        n_orders = ln.groupby("customer_id")[okey].nunique()
        per = ln.groupby(["customer_id", "sku"])["qty"].sum().reset_index()
        if done:
            per = per[[(c, s) not in done for c, s in zip(per["customer_id"], per["sku"])]]
        e90 = pd.to_numeric(per["customer_id"].map(vals["expected_purchases_90d"]),
                            errors="coerce").fillna(0.0)
        per["units_per_day"] = e90 / 90.0 * per["qty"] / per["customer_id"].map(n_orders)
        per["location_id"] = last_loc.reindex(
            pd.MultiIndex.from_arrays([per["customer_id"], per["sku"]])).to_numpy()
        per["due_in_days"] = np.nan
        per["units"] = 0.0
        per = per[per["units_per_day"] > 0]
        rows.append(per[["customer_id", "sku", "location_id", "due_in_days", "units",
                         "units_per_day"]])
    if not rows:
        return pd.DataFrame(columns=DEMAND_COLUMNS)
    out = pd.concat(rows, ignore_index=True)
    out["location_id"] = out["location_id"].astype(int)
    out["predicted_clv"] = out["customer_id"].map(vals["predicted_clv"]) \
        if "predicted_clv" in vals else np.nan
    out["segment"] = out["customer_id"].map(vals["segment"]) if "segment" in vals else None
    return out[DEMAND_COLUMNS].reset_index(drop=True)


def _num(row, name: str, default: float = 0.0) -> float:
    v = row.get(name, default)
    return default if v is None or v != v else float(v)


def _window_and_stock(row, default_lead_time_days: float) -> tuple[float, float]:
    on_hand, committed = _num(row, "on_hand"), _num(row, "committed")
    nxt = row.get("next_receipt_days")
    if nxt is not None and nxt == nxt:
        return max(float(nxt), 0.0), on_hand - committed + _num(row, "arriving_units")
    lead = _num(row, "lead_time_days", default_lead_time_days)
    return max(lead, 0.0), on_hand - committed + _num(row, "on_order")


def protect(plan_lines: pd.DataFrame, customer_demand_df: pd.DataFrame, *,
            high_ltv_segments=HIGH_LTV_SEGMENTS, clv_quantile: float = CLV_QUANTILE,
            threshold: float | None = None, include_repeat: bool = True,
            default_lead_time_days: float = 14.0,
            overdue_grace_days: float = OVERDUE_GRACE_DAYS) -> pd.DataFrame:
    """Reservation per SKU x location (see the module docstring).

    Args:
        plan_lines: ``sku, location_id, on_hand, committed, on_order, lead_time_days`` and a
            forecast (``daily``, ``forecast`` JSON or ``forecast_daily``); optionally
            ``next_receipt_days`` and ``arriving_units``. Other columns (``variant_id``, ``id``)
            are carried through.
        customer_demand_df: Rows of :data:`core.ltv.common.DEMAND_COLUMNS`
            (:func:`customer_demand`).
        high_ltv_segments: Segments that count as high-LTV.
        clv_quantile: CLV quantile above which a customer is high-LTV, computed over the
            distinct customers of ``customer_demand_df`` unless ``threshold`` is given (pass
            the shop-wide :func:`core.ltv.common.clv_threshold`).
        threshold: Predicted CLV at or above which a customer is high-LTV.
        include_repeat: Also reserve for repeat buyers with a re-buy date in the window.
        default_lead_time_days: Window when a line has no lead time.
        overdue_grace_days: See :func:`core.ltv.common.units_between`.

    Returns:
        ``sku, location_id, window_days, stock, demand, shortfall, protected_units,
        reserved_for`` (list of ``(customer_id, units)``, highest CLV first), ``open_units``,
        plus the carried columns.
    """
    cd = customer_demand_df if customer_demand_df is not None else pd.DataFrame(
        columns=DEMAND_COLUMNS)
    if threshold is None:
        threshold = clv_threshold(cd.drop_duplicates("customer_id"), clv_quantile)
    cd = cd.assign(high=high_ltv_mask(cd, threshold, high_ltv_segments)) if len(cd) else cd
    groups = {k: g for k, g in cd.groupby(["sku", "location_id"])} if len(cd) else {}
    carry = [c for c in ("id", "variant_id") if c in plan_lines]
    out = []
    for _, row in plan_lines.iterrows():
        window, stock = _window_and_stock(row, default_lead_time_days)
        demand = demand_between(daily_forecast(row), 0.0, window)
        short = stock < demand - 1e-9
        avail = int(math.floor(max(stock, 0.0) + 1e-9))
        reserved: list[tuple] = []
        if short:
            g = groups.get((row["sku"], int(row["location_id"])))
            if g is not None:
                reserved = _allocate(g, window, avail, include_repeat, overdue_grace_days)
        protected = float(sum(u for _, u in reserved))
        rec = {c: row[c] for c in carry}
        rec.update(sku=row["sku"], location_id=int(row["location_id"]), window_days=window,
                   stock=stock, demand=demand, shortfall=bool(short),
                   protected_units=protected, reserved_for=reserved,
                   open_units=float(avail) - protected)
        out.append(rec)
    return pd.DataFrame(out, columns=carry + PROTECT_COLUMNS)


def _allocate(g: pd.DataFrame, window: float, avail: int, include_repeat: bool,
              grace: float) -> list[tuple]:
    exp = units_between(g, 0.0, window, grace)
    due = pd.to_numeric(g["due_in_days"], errors="coerce")
    repeat = due.notna() & (due >= -grace) & (due <= window)
    eligible = g["high"] | (repeat if include_repeat else False)
    claims = g.assign(expected=exp)[eligible & (exp > 0)]
    claims = claims.assign(claim=np.floor(claims["expected"] + 0.5).astype(int))
    claims = claims.groupby("customer_id").agg(
        claim=("claim", "sum"), clv=("predicted_clv", "max"),
        due=("due_in_days", "min")).reset_index()
    claims = claims[claims["claim"] > 0]
    claims["clv"] = pd.to_numeric(claims["clv"], errors="coerce").fillna(-np.inf)
    claims["due"] = claims["due"].fillna(np.inf)
    claims = claims.sort_values(["clv", "due", "customer_id"], ascending=[False, True, True])
    left, reserved = avail, []
    for cid, claim in zip(claims["customer_id"], claims["claim"]):
        if left <= 0:
            break
        units = min(int(claim), left)
        reserved.append((cid.item() if hasattr(cid, "item") else cid, units))
        left -= units
    return reserved

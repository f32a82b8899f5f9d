"""Put customer lifetime value into plans.

- :func:`ltv_weights_for_plan`: the SKU weight Series for the next plan's
  ``PlanInputs.ltv_weight`` (:mod:`core.ltv.weights`).
- :func:`apply_ltv`: for a stored plan run, fills each PlanLine's ``ltv_weight`` (the SKU's
  weight; None for a SKU not sold in the look-back), ``protected_units`` (units reserved for
  high-LTV and repeat customers until the next receipt, :mod:`core.ltv.protection`; None
  when the line is not short), ``excess_units``, ``excess_action`` and ``excess_reason``
  (:mod:`core.ltv.excess`; 0 / None / None without excess).
- :func:`shop_stockout_impact`: :mod:`core.ltv.stockout_impact` over the shop's history.

Customer values (``customer_id, p_alive, expected_purchases_90d, predicted_clv, segment``)
are an input; when not given, each customer's latest stored :class:`CustomerScore` on or
before the cut-off is used. Settings come from ``shop.settings["ltv"]`` over the defaults of
:class:`LtvSettings`. The next receipt of a line is its earliest open purchase order with an
expected date; lines without one use their lead time.
"""
from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import date, timedelta

import pandas as pd
from sqlalchemy import update
from sqlalchemy.orm import Session

from ..plan_inputs import last_order_day
from ..storage import PlanLine, PlanRun, Shop
from .common import CLV_QUANTILE, HIGH_LTV_SEGMENTS, clv_threshold, high_ltv_mask, units_between
from .data import (read_customer_lines, read_customer_values, read_due, read_next_receipts,
                   read_plan_lines, read_stock)
from .excess import HOLD_DAYS, HOLDING_RATE, HORIZON_DAYS, MARKDOWN, excess
from .protection import customer_demand, protect
from .stockout_impact import stockout_impact
from .weights import DEFAULT_LOOKBACK_DAYS, DEFAULT_SHRINK_K, ltv_weights

__all__ = ["LtvSettings", "ltv_weights_for_plan", "apply_ltv", "shop_stockout_impact"]

_SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£", "CAD": "CA$", "AUD": "A$", "JPY": "¥"}


@dataclass
class LtvSettings:
    """LTV knobs (defaults documented in the modules they go to)."""

    lookback_days: int = DEFAULT_LOOKBACK_DAYS
    guests: str = "exclude"
    guest_value: float | None = None
    shrink_k: float = DEFAULT_SHRINK_K
    high_ltv_segments: tuple = HIGH_LTV_SEGMENTS
    clv_quantile: float = CLV_QUANTILE
    include_repeat: bool = True
    horizon_days: float = HORIZON_DAYS
    markdown: float = MARKDOWN
    holding_rate: float = HOLDING_RATE
    hold_days: float = HOLD_DAYS

    @classmethod
    def from_shop(cls, shop: Shop, **overrides) -> "LtvSettings":
        names = {f.name for f in fields(cls)}
        known = {k: v for k, v in (shop.settings or {}).get("ltv", {}).items() if k in names}
        known.update({k: v for k, v in overrides.items() if v is not None})
        if "high_ltv_segments" in known:
            known["high_ltv_segments"] = tuple(known["high_ltv_segments"])
        return cls(**known)


def _values(session: Session, shop: Shop, values: pd.DataFrame | None,
            cutoff: date) -> pd.DataFrame:
    return values if values is not None else read_customer_values(session, shop, cutoff)


def ltv_weights_for_plan(session: Session, shop: Shop,
                         customer_values_df: pd.DataFrame | None = None,
                         cutoff: date | None = None,
                         settings: LtvSettings | None = None) -> pd.Series:
    """SKU weights for ``PlanInputs.ltv_weight`` from the last ``lookback_days`` up to
    ``cutoff`` (default: the day of the shop's last order, as :func:`core.plan.run_plan`)."""
    st = settings or LtvSettings.from_shop(shop)
    cutoff = cutoff or last_order_day(session, shop) or date.today()
    values = _values(session, shop, customer_values_df, cutoff)
    lines = read_customer_lines(session, shop, cutoff - timedelta(days=st.lookback_days - 1),
                                cutoff)
    return ltv_weights(lines, values, cutoff, lookback_days=st.lookback_days, guests=st.guests,
                       guest_value=st.guest_value, shrink_k=st.shrink_k)


def apply_ltv(session: Session, shop: Shop, run: PlanRun,
              customer_values_df: pd.DataFrame | None = None,
              settings: LtvSettings | None = None) -> pd.DataFrame:
    """Fill the LTV fields of ``run``'s plan lines (module docstring). The caller commits.

    Returns:
        One row per plan line: ``id, sku, location_id, ltv_weight, window_days, stock,
        demand, shortfall, protected_units, reserved_for, open_units, excess_units,
        later_units, value_now, value_hold, holding_cost, excess_action, excess_reason``.
    """
    st = settings or LtvSettings.from_shop(shop)
    cutoff = run.data_cutoff
    values = _values(session, shop, customer_values_df, cutoff)
    lines = read_customer_lines(session, shop, cutoff - timedelta(days=st.lookback_days - 1),
                                cutoff)
    weights = ltv_weights(lines, values, cutoff, lookback_days=st.lookback_days,
                          guests=st.guests, guest_value=st.guest_value, shrink_k=st.shrink_k)
    pl = read_plan_lines(session, run)
    if pl.empty:
        return pd.DataFrame()
    receipts = read_next_receipts(session, shop, cutoff)
    pl = pl.merge(receipts, on=["variant_id", "location_id"], how="left")
    cd = customer_demand(lines, values, cutoff, due=read_due(session, shop),
                         lookback_days=st.lookback_days)
    threshold = clv_threshold(values, st.clv_quantile)
    prot = protect(pl, cd, high_ltv_segments=st.high_ltv_segments, threshold=threshold,
                   include_repeat=st.include_repeat)
    later = None
    if len(cd):
        high = cd[high_ltv_mask(cd, threshold, st.high_ltv_segments)]
        later = high.assign(units=units_between(high, st.horizon_days,
                                                st.horizon_days + st.hold_days))
    ex = excess(pl, later, horizon_days=st.horizon_days, markdown=st.markdown,
                holding_rate=st.holding_rate, hold_days=st.hold_days,
                currency=_SYMBOLS.get(shop.currency or "", f"{shop.currency} "))
    out = prot.merge(ex.drop(columns=["sku", "location_id", "variant_id"]), on="id")
    out = out.rename(columns={"action": "excess_action", "reason": "excess_reason"})
    w = out["sku"].map(weights)
    out.insert(4, "ltv_weight", w.astype(object).where(w.notna(), None))
    updates = [
        dict(id=int(r.id), ltv_weight=None if r.ltv_weight is None else float(r.ltv_weight),
             protected_units=float(r.protected_units) if r.shortfall else None,
             excess_units=float(r.excess_units), excess_action=r.excess_action,
             excess_reason=r.excess_reason)
        for r in out.itertuples(index=False)]
    session.execute(update(PlanLine), updates)
    session.flush()
    return out


def shop_stockout_impact(session: Session, shop: Shop,
                         customer_values_df: pd.DataFrame | None = None,
                         cutoff: date | None = None, **kwargs) -> pd.DataFrame:
    """:func:`core.ltv.stockout_impact.stockout_impact` over the shop's whole history up to
    ``cutoff`` (default: today), segments from ``customer_values_df`` (or none: see the
    caveat on segments in :mod:`core.ltv.stockout_impact`); ``kwargs`` go through."""
    cutoff = cutoff or date.today()
    lines = read_customer_lines(session, shop, None, cutoff)
    stock = read_stock(session, shop, None, cutoff)
    return stockout_impact(lines, stock, cutoff, customers=customer_values_df, **kwargs)

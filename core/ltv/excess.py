"""Excess stock: sell it now at a markdown, or hold it for later buyers?

Per SKU x location, with H = ``horizon_days`` (default 90) and P = ``hold_days`` (default
180):

- excess E = floor(on hand - committed + on order - D(0, H) - safety stock), whole units,
  D the forecast demand (:func:`core.ltv.common.demand_between`). With nothing committed
  this is on hand + on order - forecast demand over the horizon - safety stock. Lines with
  E <= 0 have no excess.
- units that sell later U = min(E, max(D(H, H + P), C)), C the high-LTV customers' predicted
  units on days (H, H + P] (re-buy dates and purchase rates, :mod:`core.ltv.common`). The
  forecast already contains those customers in aggregate, so the two are not added: C is a
  floor when known buyers expect more than the forecast (an intermittent SKU with loyal
  re-buyers).
- value now  V_now  = E x (price x (1 - m) - unit cost),  m = ``markdown`` (default 0.30).
- value held V_hold = U x (price - unit cost) - holding cost, holding cost =
  unit cost x h x months held / 12 summed over the excess units, h = ``holding_rate``
  (default 0.25 a year), a month = 365/12 days: a unit that sells later is held
  H + P/2 days (sold through the hold period on average), a unit that does not is held
  H + P days.

Both values are margins over the units' cost, so the E - U units still unsold at the end of
the hold period count at their cost in V_hold (they stay in stock at book value): the
comparison is between clearing everything now and selling U at full price later while
paying to store all E. The action is ``sell_now`` (discount or bundle) when V_now > V_hold,
else ``hold``; each row carries a sentence with the figures. Lines without a price or unit
cost have no action (the reason says why).
"""
from __future__ import annotations

import math

import pandas as pd

from .common import daily_forecast, demand_between

__all__ = ["excess", "EXCESS_COLUMNS", "HORIZON_DAYS", "MARKDOWN", "HOLDING_RATE",
           "HOLD_DAYS"]

HORIZON_DAYS = 90
MARKDOWN = 0.30
HOLDING_RATE = 0.25
HOLD_DAYS = 180
_MONTH = 365.0 / 12.0
EXCESS_COLUMNS = ["sku", "location_id", "excess_units", "later_units", "value_now",
                  "value_hold", "holding_cost", "action", "reason"]


def _num(row, name: str) -> float | None:
    v = row.get(name)
    return None if v is None or v != v else float(v)


def _money(x: float, cur: str) -> str:
    sign = "-" if x < 0 else ""
    return f"{sign}{cur}{abs(x):,.2f}"


def excess(plan_lines: pd.DataFrame, customer_units: pd.DataFrame | None = None, *,
           horizon_days: float = HORIZON_DAYS, markdown: float = MARKDOWN,
           holding_rate: float = HOLDING_RATE, hold_days: float = HOLD_DAYS,
           currency: str = "$") -> pd.DataFrame:
    """Classify each line's excess as ``sell_now`` or ``hold`` (module docstring).

    Args:
        plan_lines: ``sku, location_id, on_hand, committed, on_order, safety_stock, price,
            unit_cost`` and a forecast (``daily``, ``forecast`` JSON or ``forecast_daily``).
            ``id`` and ``variant_id`` are carried through.
        customer_units: ``sku, location_id, units``: high-LTV customers' predicted units on
            days (H, H + P] after the cut-off (C above); None for none.
        horizon_days: H.
        markdown: m, the discount that clears the excess now.
        holding_rate: h, yearly holding cost as a share of unit cost.
        hold_days: P.
        currency: Symbol used in the sentences.

    Returns:
        ``sku, location_id, excess_units, later_units, value_now, value_hold, holding_cost,
        action, reason`` (plus the carried columns); action and reason are None without
        excess.
    """
    if not 0.0 <= markdown < 1.0:
        raise ValueError(f"markdown must be in [0, 1), got {markdown}")
    cu = {}
    if customer_units is not None and len(customer_units):
        cu = customer_units.groupby(["sku", "location_id"])["units"].sum().to_dict()
    carry = [c for c in ("id", "variant_id") if c in plan_lines]
    out = []
    for _, row in plan_lines.iterrows():
        rec = {c: row[c] for c in carry}
        rec.update(sku=row["sku"], location_id=int(row["location_id"]))
        rec.update(_classify(row, cu.get((row["sku"], int(row["location_id"])), 0.0),
                             horizon_days, markdown, holding_rate, hold_days, currency))
        out.append(rec)
    return pd.DataFrame(out, columns=carry + EXCESS_COLUMNS)


def _classify(row, customer_later: float, h_days: float, m: float, rate: float,
              p_days: float, cur: str) -> dict:
    daily = daily_forecast(row)
    position = (_num(row, "on_hand") or 0.0) - (_num(row, "committed") or 0.0) \
        + (_num(row, "on_order") or 0.0)
    ss = _num(row, "safety_stock") or 0.0
    e = math.floor(position - demand_between(daily, 0.0, h_days) - ss + 1e-9)
    none = dict(excess_units=0.0, later_units=None, value_now=None, value_hold=None,
                holding_cost=None, action=None, reason=None)
    if e <= 0:
        return none
    later_fc = demand_between(daily, h_days, h_days + p_days)
    u = min(float(e), max(later_fc, float(customer_later)))
    price, cost = _num(row, "price"), _num(row, "unit_cost")
    if price is None or cost is None:
        what = "price" if price is None else "unit cost"
        return dict(none, excess_units=float(e), later_units=u,
                    reason=f"{e} units beyond {h_days:.0f} days of demand and safety stock; "
                           f"no {what} known, so sell-or-hold is not valued")
    v_now = e * (price * (1.0 - m) - cost)
    unit_days = u * (h_days + p_days / 2.0) + (e - u) * (h_days + p_days)
    holding = cost * rate * (unit_days / _MONTH) / 12.0
    v_hold = u * (price - cost) - holding
    action = "sell_now" if v_now > v_hold else "hold"
    src = "forecast" if later_fc >= customer_later else "high-LTV customers' predicted orders"
    reason = (
        f"{e} units beyond {h_days:.0f} days of demand and safety stock. Selling them now at "
        f"{m:.0%} off earns {_money(v_now, cur)} ({e} x ({_money(price, cur)} x {1 - m:.2f} - "
        f"{_money(cost, cur)})); holding {p_days:.0f} more days sells about {u:.1f} at full "
        f"price ({src}) for {_money(u * (price - cost), cur)} margin minus "
        f"{_money(holding, cur)} holding cost ({rate:.0%}/year) = {_money(v_hold, cur)}, so "
        + ("sell now (discount or bundle)." if action == "sell_now" else "hold."))
    return dict(excess_units=float(e), later_units=u, value_now=v_now, value_hold=v_hold,
                holding_cost=holding, action=action, reason=reason)

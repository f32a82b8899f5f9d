"""Seasonal SKUs: the season window, season demand, the newsvendor season buy and the
in-season re-order rule.

**Season window.** Last year's season is the best run of 13 consecutive weeks of the last
364 days (the seasonal rule of :mod:`core.classify`), with the weeks at either end that sold
nothing trimmed off, so a nine-week holiday season is not taken for thirteen. This year's
season is that window moved on 52 weeks (364 days, so weekdays line up) until it ends after
the data cut-off. A window that holds less than :data:`SEASON_SHARE` (80%) of the year's
units is no season to buy for: the SKU sells too much outside it for ordering to stop
between seasons, so it keeps the (R, S) rule of :mod:`core.policy` (the line says so).

**Season demand** D from the first plan day to the season's end. Each day's mean is the
forecast while the forecast horizon lasts and the same day 52 weeks earlier (a seasonal
naive forecast, from demand with stockout days lifted and campaign days replaced by the
baseline) beyond it. A forecast that expects less than half of what last year sold on the
days it covers has not seen the season (models fitted on the off-season's zeros): then last
year's days are used throughout. Variance: the sum over days of each day's error variance,
sigma_d^2 (the forecast's holdout error) for forecast days and, for last year's days, the
squared seasonal-naive errors y(d) - y(d - 364) of last season when two years of history
exist, else twice the squared deviations of last season's days from their centred 7-day
mean (the same quantity estimated from one season). The distribution (normal, or gamma for
low volumes) is chosen in :mod:`core.newsvendor`.

**Critical ratio** CR = Cu / (Cu + Co) with Cu = price - unit cost and Co = unit cost -
salvage, salvage = ``season_salvage_share`` x unit cost (PlanSettings, default 0.5: what a
leftover fetches marked down at the season's end). Without a price or unit cost the SKU's
service level stands in for CR. The stock level is Q* = F^-1(CR), capped so the expected
sell-through E[min(D, Q)] / Q stays at or above ``season_sell_through`` (default 0.80).

**Phases**, with IP = on hand + on order - committed and an order placed now arriving
ceil(L) days after the cut-off:

- *between seasons* (before the season, while an order at the next review would still
  arrive by the season's start): nothing is ordered; the line shows the season buy and the
  day ordering opens.
- *pre-season* (before the season, when waiting a review period would make the buy
  late): the season buy max(0, level - IP) is ordered now.
- *in season*: the (R, S) quantity, but nothing when an order placed now arrives after the
  season's end, or when the demand expected from its arrival to the season's end is no more
  than the position still held at arrival (IP less the demand expected before it arrives);
  otherwise it is capped at level - IP, what the rest of the season sells at the critical
  ratio.

Order quantities are whole units rounded to the nearest case pack (up when that would leave
the position below the reorder point); a need below the MOQ is raised to the MOQ only when
the expected sell-through of the raised level still meets the target. The stored levels
follow the season: order-up-to = the level (min(S, level) in season), reorder point and
safety stock no higher than it; between seasons the reorder point is 0 (nothing is due until
ordering opens) and in season all three are 0 when no order can sell.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import pandas as pd

from .newsvendor import SeasonDemand, critical_ratio, stock_level
from .policy import PolicyResult

__all__ = ["SEASON_SHARE", "THIN_FORECAST", "SeasonWindow", "SeasonPlan", "last_season",
           "next_season", "season_demand", "plan_season", "season_fields",
           "check_season_settings"]

SEASON_SHARE = 0.80
THIN_FORECAST = 0.5
YEAR = 364


@dataclass(frozen=True)
class SeasonWindow:
    start: date
    end: date
    share: float  # of the last 364 days' units inside last year's window


@dataclass(frozen=True)
class SeasonPlan:
    """A seasonal line's plan. Phase ``year_round`` (no season to buy for) carries only the
    (R, S) ``policy`` with a note; the other fields are None."""

    window: SeasonWindow | None
    phase: str  # between_seasons | pre_season | in_season | year_round
    critical_ratio: float | None
    demand: SeasonDemand | None  # from the first plan day to the season's end
    level: float | None
    buy_qty: int | None  # round(max(0, level - position))
    leftover: float | None  # expected units left at the season's end after the order
    policy: PolicyResult  # the line's levels, order quantity and note


def check_season_settings(salvage_share: float, sell_through: float) -> None:
    """Refuse season knobs out of range, saying which and what is allowed."""
    if not isinstance(salvage_share, (int, float)) or not 0.0 <= salvage_share <= 1.0:
        raise ValueError(f"season_salvage_share must be a share of unit cost between 0 and 1 "
                         f"(0.5 = leftovers sell at half their cost), not {salvage_share!r}")
    if not isinstance(sell_through, (int, float)) or not 0.0 <= sell_through < 1.0:
        raise ValueError(f"season_sell_through must be between 0 and 1, below 1 (0.8 = a "
                         f"season buy must be expected to sell 80%), not {sell_through!r}")


def season_fields(plan: "SeasonPlan | None") -> dict:
    """The PlanLine columns of a season plan (all None for lines without one)."""
    if plan is None or plan.window is None:
        return dict(season_start=None, season_end=None, season_demand=None,
                    season_buy_qty=None, critical_ratio=None)
    return dict(season_start=plan.window.start, season_end=plan.window.end,
                season_demand=plan.demand.mean, season_buy_qty=plan.buy_qty,
                critical_ratio=plan.critical_ratio)


def last_season(history: np.ndarray, last_day: date) -> SeasonWindow | None:
    """Last year's season window from the 364 daily values ending ``last_day`` (dates past
    ``last_day`` stand for the same days a year earlier); None without a year of sales."""
    y = np.asarray(history, dtype=float)[-YEAR:]
    if y.size < YEAR or y.sum() <= 0:
        return None
    weekly = y.reshape(52, 7).sum(axis=1)
    ring = np.concatenate([weekly, weekly[:12]])
    lo = int(np.argmax([ring[i:i + 13].sum() for i in range(52)]))
    hi = lo + 12
    while ring[lo] <= 0:
        lo += 1
    while ring[hi] <= 0:
        hi -= 1
    first = last_day - timedelta(days=YEAR - 1)
    share = float(ring[lo:hi + 1].sum() / weekly.sum())
    return SeasonWindow(first + timedelta(days=7 * lo), first + timedelta(days=7 * hi + 6),
                        share)


def next_season(history: np.ndarray, last_day: date) -> SeasonWindow | None:
    """The season that ends after ``last_day``: last year's window moved on 52 weeks."""
    w = last_season(history, last_day)
    if w is None:
        return None
    start, end = w.start, w.end
    while end <= last_day:
        start, end = start + timedelta(days=YEAR), end + timedelta(days=YEAR)
    return SeasonWindow(start, end, w.share)


def _moving_sq_dev(x: np.ndarray) -> np.ndarray:
    m = pd.Series(x).rolling(7, center=True, min_periods=1).mean().to_numpy()
    return (x - m) ** 2


def _season_days(history: np.ndarray, daily: np.ndarray, sigma_d: float, last_day: date,
                 days: int) -> tuple[np.ndarray, np.ndarray, str]:
    """Per-day mean and error variance of demand for the ``days`` days after ``last_day``."""
    y = np.asarray(history, dtype=float)
    # index in y of day last_day + t (t = 1..days) 52 weeks earlier
    idx = y.size - 1 - YEAR + np.arange(1, days + 1)
    ok = idx >= 0
    ly = np.where(ok, y[np.clip(idx, 0, None)], 0.0)
    if y.size >= 2 * YEAR:
        prev = y[np.clip(idx - YEAR, 0, None)]
        ly_var = np.where(ok & (idx - YEAR >= 0), (ly - prev) ** 2, 0.0)
    else:
        ly_var = 2.0 * _moving_sq_dev(ly)
    fc = np.asarray(daily, dtype=float)[:days]
    n_fc = fc.size
    if n_fc == 0 or fc.sum() < THIN_FORECAST * ly[:n_fc].sum():
        return ly, ly_var, "last season"
    mean = np.concatenate([fc, ly[n_fc:]])
    var = np.concatenate([np.full(n_fc, float(sigma_d) ** 2), ly_var[n_fc:]])
    return mean, var, "forecast+last season"


def season_demand(history: np.ndarray, daily: np.ndarray, sigma_d: float, last_day: date,
                  end: date) -> tuple[SeasonDemand, str]:
    """Demand from the day after ``last_day`` to ``end`` (module docstring).

    Returns:
        (demand, source): source is ``forecast+last season`` or ``last season``.
    """
    days = (end - last_day).days
    if days <= 0:
        return SeasonDemand(0.0, 0.0), "last season"
    mean, var, source = _season_days(history, daily, sigma_d, last_day, days)
    return SeasonDemand(float(mean.sum()), math.sqrt(float(var.sum()))), source


def _pack(raw: float, position: float, rop: float, moq: int, case: int,
          demand: SeasonDemand, target: float) -> tuple[int, str | None]:
    units = int(math.floor(raw + 0.5)) if raw > 0 else 0
    if units <= 0:
        return 0, None
    moq, case = max(int(moq or 1), 1), max(int(case or 1), 1)
    if case > 1:
        down, up = (units // case) * case, -(-units // case) * case
        units = down if units - down < up - units else up
        if units == 0 or position + units < rop:
            units = up
    if units < moq:
        raised = -(-moq // case) * case
        st = demand.sell_through(position + raised)
        if st < target:
            return 0, (f"need {raw:.1f} is below the MOQ {moq}; ordering it would bring the "
                       f"season's expected sell-through to {st:.0%}, under the "
                       f"{target:.0%} target")
        units = raised
    return int(units), None


def plan_season(history: np.ndarray, daily: np.ndarray, sigma_d: float, last_day: date,
                lead_time: float, settings, position: float, price: float | None,
                unit_cost: float | None, service_level: float, rs: PolicyResult,
                moq: int = 1, case_pack: int = 1, can_order: bool = True) -> SeasonPlan | None:
    """Plan a seasonal SKU x location (module docstring); None when it has no season window
    (then ``rs``, the (R, S) result, stands).

    ``settings`` needs ``review_days``, ``season_salvage_share`` and ``season_sell_through``
    (a :class:`core.plan.PlanSettings`). ``can_order`` False (no supplier, untracked stock)
    keeps every quantity at 0 but still shows the season's numbers.
    """
    w = next_season(history, last_day)
    if w is None:
        return None
    if w.share < SEASON_SHARE:
        note = (f"no season to buy for: the best weeks of the last year hold {w.share:.0%} of "
                f"its units (a season needs {SEASON_SHARE:.0%}), so the (R, S) rule plans it")
        pol = PolicyResult(rs.safety_stock, rs.reorder_point, rs.order_up_to,
                           rs.inventory_position, rs.recommended_qty,
                           f"{rs.note}; {note}" if rs.note else note)
        return SeasonPlan(None, "year_round", None, None, None, None, None, pol)
    target = float(settings.season_sell_through)
    review = float(settings.review_days)
    means, var, _source = _season_days(history, daily, sigma_d, last_day,
                                       (w.end - last_day).days)
    demand = SeasonDemand(float(means.sum()), math.sqrt(float(var.sum())))
    if price and unit_cost and price > 0 and unit_cost > 0:
        cr = critical_ratio(price, unit_cost, unit_cost * settings.season_salvage_share)
        cr_note = f"critical ratio {cr:.2f}"
    else:
        cr = service_level
        cr_note = f"no price or unit cost, so the service level {cr:.0%} stands in for the " \
                  "critical ratio"
    level, capped = stock_level(demand, cr, target)
    buy = max(0, int(math.floor(level - position + 0.5)))
    first = last_day + timedelta(days=1)
    arrive = last_day + timedelta(days=max(int(math.ceil(lead_time)), 1))
    window = f"season {w.start:%d %b %Y} to {w.end:%d %b %Y}"
    why = (f"demand to the season's end {demand.mean:.0f} ± {demand.sd:.0f}, {cr_note}"
           + (f", capped by the {target:.0%} sell-through target" if capped else ""))
    zero = PolicyResult(0.0, 0.0, 0.0, position, 0)

    def result(phase: str, qty: int, note: str | None, levels: PolicyResult) -> SeasonPlan:
        qty = qty if can_order else 0
        pol = PolicyResult(levels.safety_stock, levels.reorder_point, levels.order_up_to,
                           position, qty, note)
        return SeasonPlan(w, phase, cr, demand, level, buy,
                          demand.expected_leftover(max(position + qty, 0.0)), pol)

    if first < w.start:
        # ordering opens on the first day whose order at the next review would be late
        opens = w.start - timedelta(days=int(math.ceil(review)) + (arrive - last_day).days
                                    - 1)
        season_levels = PolicyResult(max(0.0, level - demand.mean),
                                     min(rs.reorder_point, level), level, position, 0)
        if arrive + timedelta(days=review) <= w.start:
            waiting = PolicyResult(season_levels.safety_stock, 0.0, level, position, 0)
            return result("between_seasons", 0,
                          f"between seasons: {window}; its buy of {buy} units (level "
                          f"{level:.0f}: {why}) is ordered from about {opens:%d %b %Y}",
                          waiting)
        qty, pack_note = _pack(level - position, position, season_levels.reorder_point,
                               moq, case_pack, demand, target)
        late = (arrive - w.start).days
        note = (f"season buy for the {window}: level {level:.0f} ({why}) less the position "
                f"{position:.0f}" + (f"; arrives {late} days after the season opens"
                                     if late > 0 else ""))
        return result("pre_season", qty, note + (f"; {pack_note}" if pack_note else ""),
                      season_levels)
    if arrive > w.end:
        return result("in_season", 0, f"no re-order: an order placed now arrives on "
                      f"{arrive:%d %b %Y}, after the season ends on {w.end:%d %b %Y}", zero)
    before = float(means[:(arrive - last_day).days - 1].sum())
    held = max(position - before, 0.0)
    after = demand.mean - before
    if after <= held:
        return result("in_season", 0, f"no re-order: the {after:.0f} units the season is "
                      f"expected to sell between an order's arrival ({arrive:%d %b}) and its "
                      f"end ({w.end:%d %b}) are covered by the {held:.0f} the position still "
                      f"holds then", zero)
    top = min(rs.order_up_to, level)
    levels = PolicyResult(min(rs.safety_stock, top), min(rs.reorder_point, top), top,
                          position, 0)
    qty, pack_note = _pack(level - position, position, levels.reorder_point, moq, case_pack,
                           demand, target)
    if level < rs.order_up_to and qty < rs.recommended_qty:
        note = (f"re-order capped: the rest of the {window} sells {level:.0f} ({why}), the "
                f"position holds {position:.0f}")
        return result("in_season", qty, note + (f"; {pack_note}" if pack_note else ""),
                      levels)
    return result("in_season", rs.recommended_qty, rs.note, levels)


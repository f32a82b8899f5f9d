"""Sell-through forecast per SKU x location: days of cover, projected stockout date and the
stock projected to be left at the end of a seasonal SKU's season.

- days of cover = (on hand - committed) / mean daily forecast of the next 28 days
  (None when nothing is forecast to sell).
- projected stockout date: the first day t with
  on hand - committed + [t >= L] * on order - sum(forecast[1..t]) < 0, counting open orders
  as arriving after the lead time L; None when stock lasts the whole horizon.
- season window (seasonal SKUs): last year's best run of 13 weeks (as in the seasonal rule
  of :mod:`core.classify`) without its empty weeks at either end, moved on 52 weeks until it
  ends after the cut-off (:func:`core.season.next_season`). The leftover at season end is
  max(0, position - forecast demand until then) here; seasonal SKUs planned by the season
  rule of :mod:`core.season` store instead the expected leftover E[(IP + order - D)+] under
  the season-demand distribution, the order included.
"""
from __future__ import annotations

import math
from datetime import date, timedelta

import numpy as np

from .policy import demand_over
from .season import next_season

__all__ = ["days_of_cover", "stockout_date", "season_end", "season_leftover"]


def days_of_cover(on_hand: float, committed: float, daily: np.ndarray) -> float | None:
    rate = float(np.mean(daily[:28])) if len(daily) else 0.0
    if rate <= 0:
        return None
    return max(on_hand - committed, 0.0) / rate


def stockout_date(start: date, on_hand: float, committed: float, on_order: float,
                  lead_time: float, daily: np.ndarray) -> date | None:
    """``start`` is the first forecast day (the day after the data cut-off)."""
    if len(daily) == 0:
        return None
    t = np.arange(1, len(daily) + 1)
    arrived = np.where(t >= max(1, math.ceil(lead_time)), on_order, 0.0)
    left = on_hand - committed + arrived - np.cumsum(daily)
    below = np.nonzero(left < 0)[0]
    return start + timedelta(days=int(below[0])) if below.size else None


def season_end(history: np.ndarray, last_day: date) -> date | None:
    """End of this year's season from the daily sales ending ``last_day``
    (:func:`core.season.next_season`); None without a year of sales."""
    w = next_season(history, last_day)
    return w.end if w is not None else None


def season_leftover(position: float, daily: np.ndarray, start: date, end: date | None) -> float | None:
    if end is None:
        return None
    days = (end - start).days + 1
    return max(0.0, position - demand_over(daily, days))

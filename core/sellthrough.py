"""Sell-through forecast per SKU x location: days of cover, projected stockout date and the
stock projected to be left at the end of a seasonal SKU's season.

- days of cover = (on hand - committed) / mean daily forecast of the next 28 days
  (None when nothing is forecast to sell).
- projected stockout date: the first day t with
  on hand - committed + [t >= L] * on order - sum(forecast[1..t]) < 0, counting open orders
  as arriving after the lead time L; None when stock lasts the whole horizon.
- season end (seasonal SKUs): last year's best run of 13 weeks (as in the seasonal rule of
  :mod:`core.classify`) moved one year on; when that date is still ahead, the leftover at
  season end = max(0, position - forecast demand until then).
"""
from __future__ import annotations

import math
from datetime import date, timedelta

import numpy as np

from .policy import demand_over

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
    """End of this year's season from the last 364 days of daily sales ending ``last_day``."""
    y = np.asarray(history, dtype=float)[-364:]
    if y.size < 364 or y.sum() <= 0:
        return None
    weekly = y.reshape(52, 7).sum(axis=1)
    ring = np.concatenate([weekly, weekly[:12]])
    best = int(np.argmax([ring[i:i + 13].sum() for i in range(52)]))
    end_week = best + 12  # index into the ring of the window's last week
    end_offset_days = (end_week + 1) * 7 - 1  # days after the first day of the 364
    first_day = last_day - timedelta(days=363)
    end = first_day + timedelta(days=end_offset_days)
    while end <= last_day:
        end += timedelta(days=364)
    return end if (end - last_day).days <= 364 else None


def season_leftover(position: float, daily: np.ndarray, start: date, end: date | None) -> float | None:
    if end is None:
        return None
    days = (end - start).days + 1
    return max(0.0, position - demand_over(daily, days))

"""Demand classes (Syntetos-Boylan) and the staple / seasonal rule.

Syntetos, Boylan & Croston (2005): with ADI the average interval between non-zero demands
(in days) and CV^2 the squared coefficient of variation of the non-zero demand sizes,

- smooth:       ADI < 1.32 and CV^2 < 0.49
- erratic:      ADI < 1.32 and CV^2 >= 0.49
- intermittent: ADI >= 1.32 and CV^2 < 0.49
- lumpy:        ADI >= 1.32 and CV^2 >= 0.49

Staple vs seasonal (restock's rule, on the last 364 days, only for series with at least
that much history): a SKU is *seasonal* when its sales are concentrated in a season —
the best run of 13 consecutive weeks holds at least 60% of the year's units (a flat
year would hold 25%), or the SKU sold nothing for at least 16 *consecutive* weeks (counted
around the year's end, so a winter season split by New Year counts) while selling in at
least 4 others (a season window with a dormant off-season). The zero weeks must be one run:
an intermittent or slow staple also has many zero weeks, but scattered between sales — on
the sandbox shop (seeds 7 and 11, 300 SKUs) counting scattered zero weeks put two thirds of
the intermittent and a third of the smooth SKUs on the seasonal list, one run puts 1% and
under 5% there while keeping every true season-window SKU. Everything else, including SKUs with less than a
year of history, is a *staple*. Seasonal SKUs go to the seasonal order list.

XYZ (variability) on weekly totals of the last 52 weeks (or all whole weeks there are):
coefficient of variation CV = std / mean; X when CV < 0.5, Y when CV < 1.0, else Z (and Z
for series that never sold or have fewer than 4 whole weeks).

Lifecycle: *new* with under 90 days of history; otherwise the last 13 weeks' units against
the 13 before: *growing* above 1.25 times, *declining* below 0.8 times, else *mature*.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["ADI_CUT", "CV2_CUT", "demand_class", "classify_series", "is_seasonal", "xyz_class",
           "lifecycle"]

ADI_CUT = 1.32
CV2_CUT = 0.49


def demand_class(y: np.ndarray) -> tuple[str, float, float]:
    """Return (class, ADI, CV^2) of a daily demand array. No sales at all -> ``"none"``."""
    y = np.asarray(y, dtype=float)
    nz = y[y > 0]
    if nz.size == 0:
        return "none", float("inf"), float("nan")
    adi = y.size / nz.size
    cv2 = float(np.var(nz) / np.mean(nz) ** 2) if nz.size > 1 else 0.0
    if adi < ADI_CUT:
        return ("smooth" if cv2 < CV2_CUT else "erratic"), adi, cv2
    return ("intermittent" if cv2 < CV2_CUT else "lumpy"), adi, cv2


def is_seasonal(y_last_364: np.ndarray) -> bool:
    """Apply the seasonal rule to the last 364 daily values (see module docstring)."""
    y = np.asarray(y_last_364, dtype=float)
    if y.size < 364:
        return False
    weekly = y[-364:].reshape(52, 7).sum(axis=1)
    total = weekly.sum()
    if total <= 0:
        return False
    ring = np.concatenate([weekly, weekly[:12]])
    best13 = max(ring[i:i + 13].sum() for i in range(52))
    selling = int((weekly > 0).sum())
    return bool(best13 / total >= 0.60 or (_longest_zero_run(weekly) >= 16 and selling >= 4))


def _longest_zero_run(weekly: np.ndarray) -> int:
    """The longest run of zero weeks, wrapping around the end of the year."""
    zero = np.concatenate([weekly == 0, weekly == 0]).astype(np.int8)
    edges = np.diff(np.concatenate([[0], zero, [0]]))
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    return int(min((ends - starts).max(), weekly.size)) if starts.size else 0


def xyz_class(y: np.ndarray) -> str:
    """X, Y or Z from the CV of weekly totals (see module docstring)."""
    y = np.asarray(y, dtype=float)[-364:]
    weeks = y.size // 7
    if weeks < 4:
        return "Z"
    weekly = y[-weeks * 7:].reshape(weeks, 7).sum(axis=1)
    mean = weekly.mean()
    if mean <= 0:
        return "Z"
    cv = weekly.std() / mean
    return "X" if cv < 0.5 else ("Y" if cv < 1.0 else "Z")


def lifecycle(y: np.ndarray) -> str:
    """new, growing, mature or declining (see module docstring)."""
    y = np.asarray(y, dtype=float)
    if y.size < 90:
        return "new"
    recent, before = y[-91:].sum(), y[-182:-91].sum()
    if y.size < 182 or before <= 0:
        return "growing" if recent > 0 else "mature"
    ratio = recent / before
    return "growing" if ratio > 1.25 else ("declining" if ratio < 0.8 else "mature")


def classify_series(series: pd.DataFrame, window: int = 364) -> pd.DataFrame:
    """Classify every series of a long frame (``unique_id``, ``ds``, ``y``, sorted by ds).

    The demand class uses the last ``window`` days of each series.

    Returns:
        DataFrame indexed by ``unique_id`` with ``demand_class``, ``adi``, ``cv2``,
        ``seasonal`` (bool), ``history_days``, ``xyz`` and ``lifecycle``.
    """
    rows = []
    for uid, grp in series.groupby("unique_id", sort=False):
        y = grp["y"].to_numpy(dtype=float)
        cls, adi, cv2 = demand_class(y[-window:])
        rows.append((uid, cls, adi, cv2, is_seasonal(y[-364:]), int(y.size), xyz_class(y),
                     lifecycle(y)))
    return pd.DataFrame(rows, columns=["unique_id", "demand_class", "adi", "cv2", "seasonal",
                                       "history_days", "xyz", "lifecycle"]).set_index("unique_id")

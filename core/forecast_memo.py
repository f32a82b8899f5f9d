"""Model memory between full re-selections: which series to reuse, refit or select afresh.

A memory entry (one per series, a plain dict as :func:`core.forecast.forecast_series`
returns it in ``ForecastResult.memory``) holds the series' kept model, the fingerprint of
the data it was fitted on, the last day of that data, the last day of the data of its last
full selection (``selected_on``), the run's ``h``, ``holdout`` and ``n_windows``, and the
forecast, window errors and summary row it produced.

Rules, per series:

- *reuse*: the fingerprint (demand kind, last day and every daily value) is unchanged, the
  stored forecast is at least ``h`` days long and was made with the same ``holdout`` and
  ``n_windows``: the stored forecast and errors are returned without fitting anything.
- *keep*: otherwise, when the kind is unchanged, the kept model belongs to the kind's
  candidate set and the data's last day is fewer than ``reselect_days`` days after
  ``selected_on``: only the kept model is evaluated and refitted on the new data.
- anything else (no entry, a changed kind, an unknown model, the interval passed, a
  different window set-up): full selection.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

__all__ = ["MemoryPlan", "fingerprints", "plan_memory", "ENTRY_KEYS"]

ENTRY_KEYS = ("kind", "model", "fingerprint", "last_day", "selected_on", "h", "holdout",
              "n_windows", "forecast", "window_errors", "summary")


@dataclass
class MemoryPlan:
    reuse: dict = field(default_factory=dict)  # unique_id -> entry
    keep: dict = field(default_factory=dict)   # unique_id -> kept model name


def fingerprints(series: pd.DataFrame, kinds: pd.Series) -> dict:
    """unique_id -> SHA-1 of (kind, last day, the daily values as float64)."""
    if series.empty:
        return {}
    ids = series["unique_id"].to_numpy()
    starts = np.flatnonzero(np.r_[True, ids[1:] != ids[:-1]])
    ends = np.r_[starts[1:], len(ids)]
    y = series["y"].to_numpy(dtype=np.float64)
    last = series["ds"].to_numpy()[ends - 1]
    out = {}
    for a, b, day in zip(starts, ends, last):
        uid = ids[a]
        h = hashlib.sha1(f"{kinds.get(uid, 'smooth')}|{pd.Timestamp(day).date()}|".encode())
        h.update(np.ascontiguousarray(y[a:b]).tobytes())
        out[uid] = h.hexdigest()
    return out


def _check(uid, entry) -> None:
    if not isinstance(entry, dict) or any(k not in entry for k in ENTRY_KEYS):
        have = sorted(entry) if isinstance(entry, dict) else type(entry).__name__
        raise ValueError(f"memory entry for {uid!r} must be a dict with the keys "
                         f"{list(ENTRY_KEYS)} (as ForecastResult.memory gives them), got {have}")


def plan_memory(memory: dict, fps: dict, kinds: pd.Series, last_days: pd.Series, h: int,
                holdout: int, n_windows: int, reselect_days: int,
                candidates: dict) -> MemoryPlan:
    """Split the series with a memory entry into reuse and keep (see the module docstring)."""
    plan = MemoryPlan()
    for uid, entry in memory.items():
        if uid not in fps:
            continue
        _check(uid, entry)
        same_setup = entry["holdout"] == holdout and entry["n_windows"] == n_windows
        if (entry["fingerprint"] == fps[uid] and same_setup
                and len(entry["forecast"]) >= h):
            plan.reuse[uid] = entry
            continue
        parts = str(entry["model"]).split("+")
        age = (pd.Timestamp(last_days[uid]) - pd.Timestamp(entry["selected_on"])).days
        if (entry["kind"] == kinds[uid] and same_setup and 0 <= age < reselect_days
                and all(p in candidates[kinds[uid]] for p in parts)):
            plan.keep[uid] = entry["model"]
    return plan

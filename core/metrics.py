"""Forecast accuracy: MASE, WAPE and bias.

Definitions (Hyndman & Koehler 2006 for MASE):

- MASE = mean(|y - f|) over the holdout / mean(|y_t - y_{t-1}|) over the training data
  (the in-sample one-step naive MAE). Undefined (NaN) when the training data never changes.
- WAPE = sum(|y - f|) / sum(|y|), undefined when the holdout sold nothing.
- bias = (sum(f) - sum(y)) / sum(y): positive means over-forecast.
"""
from __future__ import annotations

import numpy as np

__all__ = ["mase", "wape", "bias", "naive_scale"]


def naive_scale(train: np.ndarray) -> float:
    train = np.asarray(train, dtype=float)
    if train.size < 2:
        return float("nan")
    scale = float(np.mean(np.abs(np.diff(train))))
    return scale if scale > 0 else float("nan")


def mase(actual, forecast, train) -> float:
    scale = naive_scale(train)
    err = float(np.mean(np.abs(np.asarray(actual, float) - np.asarray(forecast, float))))
    return err / scale if scale == scale else float("nan")


def wape(actual, forecast) -> float:
    actual = np.asarray(actual, float)
    total = float(np.sum(np.abs(actual)))
    if total == 0:
        return float("nan")
    return float(np.sum(np.abs(actual - np.asarray(forecast, float)))) / total


def bias(actual, forecast) -> float:
    total = float(np.sum(np.asarray(actual, float)))
    if total == 0:
        return float("nan")
    return (float(np.sum(np.asarray(forecast, float))) - total) / total

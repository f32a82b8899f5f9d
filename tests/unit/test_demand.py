"""Daily demand series: zero filling, netting, stockout censoring."""
import pandas as pd
import pytest

from core.demand import daily_demand, split_series_id


def _lines(rows):
    return pd.DataFrame(rows, columns=["sku", "location_id", "day", "qty"])


def test_zero_fill_and_sum_per_day():
    lines = _lines([("A", 1, "2026-01-01", 2), ("A", 1, "2026-01-01", 1),
                    ("A", 1, "2026-01-04", 5), ("B", 2, "2026-01-03", 1)])
    out = daily_demand(lines, "2026-01-05")
    a = out[out["unique_id"] == "A@1"]
    assert a["y"].tolist() == [3, 0, 0, 5, 0]
    assert out[out["unique_id"] == "B@2"]["y"].tolist() == [1, 0, 0]
    assert split_series_id("X@Y@7") == ("X@Y", 7)


def test_lines_after_cutoff_and_negative_days_ignored():
    lines = _lines([("A", 1, "2026-01-01", 2), ("A", 1, "2026-01-02", -1),
                    ("A", 1, "2026-01-09", 4)])
    out = daily_demand(lines, "2026-01-03")
    assert out["y"].tolist() == [2, 0, 0]


def test_series_start_from_creation_day_but_not_before_the_data():
    lines = _lines([("A", 1, "2026-01-05", 1), ("B", 1, "2026-01-02", 1)])
    starts = pd.Series({"A@1": pd.Timestamp("2026-01-03"), "B@1": pd.Timestamp("2025-06-01")})
    out = daily_demand(lines, "2026-01-06", starts=starts)
    assert out[out["unique_id"] == "A@1"]["y"].tolist() == [0, 0, 1, 0]  # from its creation
    assert out[out["unique_id"] == "B@1"]["y"].tolist() == [1, 0, 0, 0, 0]  # data starts 01-02


def test_stockout_days_are_lifted_to_recent_uncensored_mean():
    days = pd.date_range("2026-01-01", periods=20)
    lines = _lines([("A", 1, d, 4) for d in days[:14]] + [("A", 1, days[14], 1)])
    stock = pd.DataFrame({"sku": "A", "location_id": 1, "day": days,
                          "available": [10] * 14 + [0] * 6})
    out = daily_demand(lines, days[-1], stock)
    assert out["censored"].tolist() == [False] * 14 + [True] * 6
    assert out["sold"].iloc[14] == 1
    assert out["y"].iloc[14:].tolist() == pytest.approx([4.0] * 6)  # mean of uncensored days
    assert out["lost_estimate"].sum() == pytest.approx(3 + 4 * 5)

"""Demand classes, the seasonal rule and accuracy metrics on hand-made series."""
import numpy as np
import pandas as pd
import pytest

from core.classify import classify_series, demand_class, is_seasonal
from core.metrics import bias, mase, wape


def test_syntetos_boylan_quadrants():
    assert demand_class(np.ones(100))[0] == "smooth"
    cls, adi, cv2 = demand_class(np.tile([0, 0, 5.0], 40))
    assert (cls, adi, cv2) == ("intermittent", 3.0, 0.0)
    assert demand_class(np.tile([0, 0, 1.0, 0, 0, 9.0], 20))[0] == "lumpy"  # CV^2 = 0.64
    assert demand_class(np.tile([1.0, 9.0], 50))[0] == "erratic"
    assert demand_class(np.zeros(10))[0] == "none"


def test_seasonal_rule():
    window = np.zeros(364)
    window[300:356] = 3.0  # eight weeks of sales, nothing else: a season window
    assert is_seasonal(window)
    assert not is_seasonal(np.full(364, 2.0))
    days = np.arange(364)
    mild = 10 * (1 + 0.5 * np.sin(2 * np.pi * days / 364))  # year-round with a bump: staple
    assert not is_seasonal(mild)
    assert not is_seasonal(np.ones(200))  # less than a year of history


def test_seasonal_rule_wants_one_dormant_run_not_scattered_zero_weeks():
    slow = np.zeros(364)
    slow[::21] = 1.0  # one unit every third week: 34 zero weeks, but never more than 2 in a row
    assert not is_seasonal(slow)
    weeks = np.zeros(52)
    weeks[6:42] = 5.0  # 36 selling weeks: the best 13 hold 36%, under the 60% rule
    # dormant from week 42 to week 5: 10 weeks before the year's end and 6 after it
    assert is_seasonal(np.repeat(weeks / 7, 7))
    weeks[0] = 5.0  # now the dormant run is 10 + 0 and 5 weeks: too short
    assert not is_seasonal(np.repeat(weeks / 7, 7))


def test_classify_series_frame():
    ds = pd.date_range("2025-01-01", periods=400)
    df = pd.concat([pd.DataFrame({"unique_id": "a", "ds": ds, "y": 3.0}),
                    pd.DataFrame({"unique_id": "b", "ds": ds, "y": np.tile([0, 0, 0, 2.0], 100)})])
    out = classify_series(df)
    assert out.loc["a", "demand_class"] == "smooth"
    assert out.loc["b", "demand_class"] == "intermittent"
    assert out.loc["a", "history_days"] == 400


def test_metrics_hand_computed():
    train = np.array([1.0, 3.0, 2.0, 4.0])  # naive MAE = (2 + 1 + 2) / 3 = 5/3
    actual, fc = np.array([2.0, 4.0]), np.array([3.0, 3.0])
    assert mase(actual, fc, train) == pytest.approx(1.0 / (5 / 3))
    assert wape(actual, fc) == pytest.approx(2 / 6)
    assert bias(actual, fc) == pytest.approx(0.0)
    assert bias(np.array([2.0, 2.0]), np.array([3.0, 3.0])) == pytest.approx(0.5)
    assert np.isnan(mase(actual, fc, np.ones(5)))
    assert np.isnan(wape(np.zeros(2), fc))


def test_xyz_and_lifecycle():
    from core.classify import lifecycle, xyz_class

    assert xyz_class(np.ones(364)) == "X"  # every week 7 units: CV 0
    weeks = np.tile([0, 0, 0, 0, 0, 0, 3.0, 0, 0, 0, 0, 0, 0, 11.0], 26)  # weekly 3, 11, 3 ...
    assert xyz_class(weeks) == "Y"  # mean 7, std 4: CV 0.571
    alternate = np.tile([0, 0, 0, 0, 0, 0, 14.0, 0, 0, 0, 0, 0, 0, 0], 26)  # weekly 14, 0, ...
    assert xyz_class(alternate) == "Z"  # mean 7, std 7: CV 1.0 is not below 1.0
    lumpy = np.zeros(364)
    lumpy[::70] = 50.0
    assert xyz_class(lumpy) == "Z"
    assert xyz_class(np.ones(20)) == "Z"
    assert lifecycle(np.ones(60)) == "new"
    assert lifecycle(np.r_[np.ones(91), 2 * np.ones(91)]) == "growing"
    assert lifecycle(np.r_[np.ones(91), 0.5 * np.ones(91)]) == "declining"
    assert lifecycle(np.ones(200)) == "mature"

"""core.uncertainty and the order-cycle fill-rate rule, against hand-computed values and
against the known truth of synthetic errors."""
import math
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from core.forecast import ForecastResult
from core.policy import cycle_level_for
from core.service import fill_rate_k, order_cycle_units
from core.uncertainty import (Uncertainty, error_windows, fit_uncertainty, group_of,
                              plan_uncertainty)


def _result(residuals=None, window_errors=None):
    r = ForecastResult(forecasts=pd.DataFrame(), summary=pd.DataFrame(), residuals=residuals)
    if window_errors is not None:
        r.window_errors = window_errors
    return r


def test_group_of():
    assert group_of("smooth") == "smooth"
    assert group_of("erratic", lifecycle="mature") == "smooth"
    assert group_of("lumpy", seasonal=True) == "intermittent/changing"
    assert group_of("intermittent", lifecycle="growing") == "intermittent/changing"
    assert group_of("none") == "intermittent"


def test_sigma_d_adds_level_error_over_the_interval():
    # noise 4/day, rho 0.05: sigma_P^2 = P*4 + P^2*0.05*4; daily equivalent sqrt(4*(1+P*0.05))
    u = Uncertainty(noise_var={"a": 4.0}, level_ratio={"g": 0.05}, group={"a": "g"})
    assert u.sigma_d("a", 20) == pytest.approx(math.sqrt(4.0 * 2.0))
    assert u.sigma_d("a", 0) == pytest.approx(2.0)
    # unknown series: its fallback sigma, and the "all" ratio when its group has none
    u.level_ratio["all"] = 0.1
    assert u.sigma_d("b", 10, fallback=3.0) == pytest.approx(3.0 * math.sqrt(2.0))


def test_error_windows_prefers_window_errors_and_drops_bad_input():
    win = {"a": np.arange(12.0).reshape(3, 4)}
    r = _result(residuals={"a": np.ones(4), "b": np.array([1.0, -1.0, 2.0])},
                window_errors=win)
    assert error_windows(r, "a").shape == (3, 4)
    assert error_windows(r, "b").shape == (1, 3)
    assert error_windows(r, "c") is None
    assert error_windows(_result(residuals={"d": np.array([1.0])}), "d") is None


def test_level_ratio_hand_computed():
    # one series, two windows of 4 days: window means 1 and -1 (level errors), within-window
    # variance (ddof 1) of [0,2,0,2]-ish patterns
    e = np.array([[0.0, 2.0, 0.0, 2.0], [-2.0, 0.0, -2.0, 0.0]])
    s2 = np.mean(e.var(axis=1, ddof=1))           # 4/3
    lev = np.mean(e.mean(axis=1) ** 2) - s2 / 4    # 1 - 1/3 = 2/3
    u = fit_uncertainty(_result(window_errors={"a": e}), {"a": 1.0}, {"a": "g"})
    assert u.level_ratio["all"] == pytest.approx(lev / s2)  # 0.5
    assert u.noise_var["a"] == pytest.approx(s2)  # too few series for a law: its own


def test_shrinkage_recovers_true_variances_better_than_raw():
    # 200 series whose true daily variance follows Var = 1.5 mu^1.2; 28 normal errors each
    rng = np.random.default_rng(3)
    mu = np.exp(rng.uniform(np.log(0.2), np.log(20), 200))
    true = 1.5 * mu ** 1.2
    ids = [f"s{i}" for i in range(200)]
    res = {u: rng.normal(0, math.sqrt(v), 28) for u, v in zip(ids, true)}
    u = fit_uncertainty(_result(residuals=res), dict(zip(ids, mu)), {i: "g" for i in ids})
    a, b, _, _ = u.law["g"]
    assert b == pytest.approx(1.2, abs=0.1)
    assert a == pytest.approx(1.5, rel=0.25)
    shrunk = np.array([u.noise_var[i] for i in ids])
    raw = np.array([res[i].var(ddof=1) for i in ids])
    err = lambda est: np.mean(np.log(est / true) ** 2)
    assert err(shrunk) < 0.5 * err(raw)
    # no level error was drawn: the pooled ratio is near 0 (sampling noise only)
    assert u.level_ratio["g"] < 0.01


def test_level_ratio_recovers_a_drawn_level_error():
    # each window's errors = a level error with variance 0.1 sigma^2 + daily noise sigma^2
    rng = np.random.default_rng(5)
    ids = [f"s{i}" for i in range(150)]
    win, mu = {}, {}
    for i, uid in enumerate(ids):
        sd = 0.5 + i / 50
        lvl = rng.normal(0, math.sqrt(0.1) * sd, (4, 1))
        win[uid] = lvl + rng.normal(0, sd, (4, 28))
        mu[uid] = sd ** 2
    u = fit_uncertainty(_result(window_errors=win), mu, {i: "g" for i in ids})
    assert u.level_ratio["g"] == pytest.approx(0.1, abs=0.03)


def test_plan_uncertainty_uses_classes_and_falls_back():
    classes = pd.DataFrame({"demand_class": ["smooth", "lumpy"], "seasonal": [False, True],
                            "lifecycle": ["mature", "mature"]}, index=["a", "b"])
    daily = {"a": np.full(40, 2.0), "b": np.full(40, 0.5), "c": np.zeros(40)}
    u = plan_uncertainty(None, classes, daily)
    assert u.group == {"a": "smooth", "b": "intermittent/changing", "c": "intermittent"}
    assert u.sigma_d("a", 14, fallback=1.5) == pytest.approx(1.5)  # nothing fitted


def test_a_series_the_forecast_found_yearly_seasonal_pools_with_the_changing_ones():
    classes = pd.DataFrame({"demand_class": ["smooth", "smooth"], "seasonal": [False, False],
                            "lifecycle": ["mature", "mature"]}, index=["a", "b"])
    daily = {"a": np.full(40, 2.0), "b": np.full(40, 2.0)}
    result = SimpleNamespace(window_errors={}, residuals={}, kinds={"a": "yearly", "b": "smooth"})
    u = plan_uncertainty(result, classes, daily)
    assert u.group == {"a": "smooth/changing", "b": "smooth"}


@pytest.mark.parametrize("mu_r,moq,case,expected", [
    (7.0, 1, 1, 7.0), (7.0, 10, 1, 10.0), (7.0, 10, 6, 12.0), (7.0, 1, 12, 12.0),
    (30.0, 10, 6, 30.0), (0.5, 1, 1, 0.5),
])
def test_order_cycle_units(mu_r, moq, case, expected):
    assert order_cycle_units(mu_r, moq, case) == pytest.approx(expected)


def test_cycle_level_for_fill_uses_the_order_cycle():
    # mu = 1/day, L = 7, R = 7, sigma_d = 1.5: sigma_P = 1.5 sqrt(14); with an MOQ of 21
    # each order meets 21 units, so G(k) = 0.05 * 21 / sigma_P instead of 0.05 * 7 / sigma_P
    daily, sp = np.ones(60), 1.5 * math.sqrt(14)
    plain = cycle_level_for("fill", 0.95, daily, 1.5, 7, 7)
    moq = cycle_level_for("fill", 0.95, daily, 1.5, 7, 7, moq=21)
    from statistics import NormalDist
    assert NormalDist().inv_cdf(plain) == pytest.approx(fill_rate_k(0.95, 7.0, sp), abs=1e-6)
    assert NormalDist().inv_cdf(moq) == pytest.approx(fill_rate_k(0.95, 21.0, sp), abs=1e-6)
    assert moq < plain
    assert cycle_level_for("cycle", 0.9, daily, 1.5, 7, 7, moq=21) == 0.9


def test_one_odd_series_does_not_inflate_the_others():
    # 60 series with Var = mu; one nearly dead series (mu 1e-4) with large errors, and one
    # whose errors are constant within the window (no noise, a pure level error)
    rng = np.random.default_rng(11)
    mu = {f"s{i}": 0.5 + i / 20 for i in range(60)}
    res = {u: rng.normal(0, math.sqrt(m), 28) for u, m in mu.items()}
    mu["dead"], res["dead"] = 1e-4, rng.normal(0, 3.0, 28)
    mu["flat"], res["flat"] = 0.3, np.full(28, -5.0)
    u = fit_uncertainty(_result(residuals=res), mu, {k: "g" for k in mu})
    ratio = np.array([u.noise_var[k] / mu[k] for k in mu if k.startswith("s")])
    assert np.median(ratio) == pytest.approx(1.0, rel=0.25)
    assert ratio.max() < 3.0
    assert u.level_ratio["g"] < 0.05  # the flat series' level error carries no ratio
    assert u.noise_var["dead"] == pytest.approx(res["dead"].var(ddof=1))  # kept, not fitted


def test_a_few_series_with_the_runs_parameters_get_the_full_fits_sigma():
    # a targeted recalculation plans 2 of 40 series: fitted alone, the two would make their
    # own (degenerate) group; with the full run's parameters they must match the full fit
    rng = np.random.default_rng(3)
    mu = rng.uniform(0.5, 20.0, 40)
    errs = {f"s{i}": rng.normal(0.0, np.sqrt(m), (3, 28)) for i, m in enumerate(mu)}
    means = {f"s{i}": float(m) for i, m in enumerate(mu)}
    groups = {u: "smooth" for u in errs}
    full = fit_uncertainty(_result(window_errors=errs), means, groups)
    few = ["s3", "s17"]
    sub = {u: errs[u] for u in few}
    alone = fit_uncertainty(_result(window_errors=sub), {u: means[u] for u in few},
                            {u: "smooth" for u in few})
    again = fit_uncertainty(_result(window_errors=sub), {u: means[u] for u in few},
                            {u: "smooth" for u in few}, params=full.params())
    for u in few:
        assert again.sigma_d(u, 21) == pytest.approx(full.sigma_d(u, 21), rel=1e-12)
    assert any(abs(alone.sigma_d(u, 21) - full.sigma_d(u, 21)) > 1e-6 for u in few)
    import json
    assert json.loads(json.dumps(full.params())) == full.params()  # stored as JSON

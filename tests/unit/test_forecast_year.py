"""Yearly seasonality test and YearShape, and the weekday profile's shrinkage, on synthetic
series whose truth is known."""
import numpy as np
import pandas as pd

from core.forecast import forecast_series
from core.forecast_models import _profile
from core.forecast_year import MIN_WEEKS, year_shape_weeks, yearly_seasonal

WEEKS = 100


def _weekly_means(kind: str, n: int, level: float, rng) -> np.ndarray:
    """(n, WEEKS + 8) true weekly means: flat, trending (+60%/year) or yearly seasonal
    (amplitude 0.5, random phase)."""
    t = np.arange(WEEKS + 8)[None, :]
    if kind == "flat":
        shape = np.ones((n, t.size))
    elif kind == "trend":
        shape = np.exp(0.6 * (t - WEEKS) / 52.0) * np.ones((n, 1))
    else:
        phase = rng.uniform(0, 2 * np.pi, (n, 1))
        shape = 1 + 0.5 * np.cos(2 * np.pi * t / 52.0 + phase)
    return level * shape


def test_the_test_finds_yearly_patterns_and_holds_its_false_positive_rate():
    """95% test: about 5% of flat or trending series pass; a clear yearly pattern at 3
    units a day (21 a week) is found in nearly every series."""
    rng = np.random.default_rng(3)
    rates = {}
    for kind in ("flat", "trend", "season"):
        mean = _weekly_means(kind, 400, 21.0, rng)[:, :WEEKS]
        rates[kind] = yearly_seasonal(rng.poisson(mean).astype(float)).mean()
    assert rates["flat"] <= 0.10, rates
    assert rates["trend"] <= 0.10, rates
    assert rates["season"] >= 0.95, rates


def test_too_short_series_are_never_seasonal_and_get_no_yearshape():
    rng = np.random.default_rng(4)
    W = rng.poisson(_weekly_means("season", 5, 50.0, rng)[:, :MIN_WEEKS - 1]).astype(float)
    assert not yearly_seasonal(W).any()
    assert np.isnan(year_shape_weeks(W, 4)).all()


def test_yearshape_follows_the_season_where_a_flat_level_cannot():
    """Forecasts of the next 8 weeks against the true weekly means (60 units a week,
    amplitude 0.5): YearShape's mean absolute error is a fraction of the flat level's."""
    rng = np.random.default_rng(5)
    mean = _weekly_means("season", 200, 60.0, rng)
    W = rng.poisson(mean[:, :WEEKS]).astype(float)
    truth = mean[:, WEEKS:]
    ys = year_shape_weeks(W, 8)
    flat = W[:, -8:].mean(axis=1, keepdims=True)
    err_ys = np.abs(ys - truth).mean()
    err_flat = np.abs(flat - truth).mean()
    assert err_ys < 0.35 * err_flat, (err_ys, err_flat)
    assert abs((ys - truth).sum() / truth.sum()) < 0.05  # no bias in total


def test_yearshape_on_a_flat_series_stays_near_the_level():
    """A series without a pattern: the shrunk index stays near 1 and the forecast near the
    true level (within 7% on average over 200 series at 20 units a week)."""
    rng = np.random.default_rng(6)
    W = rng.poisson(20.0, (200, WEEKS)).astype(float)
    ys = year_shape_weeks(W, 4)
    assert np.abs(ys / 20.0 - 1).mean() < 0.07


def test_weekday_profile_is_pooled_for_slow_series_and_own_for_fast_ones():
    """Group: 50 slow series (0.5 units/day) with no weekday pattern and 50 fast ones
    (60/day) that all sell twice as much on Saturdays. The pooled profile has a Saturday
    peak; a slow series gets (nearly) the pooled profile, not its own noisy shares; a fast
    one keeps its own."""
    rng = np.random.default_rng(7)
    days = 364
    dow = np.arange(days) % 7
    fast_mean = 60.0 * np.where(dow == 5, 2.0, 1.0) / (8 / 7)
    Y = np.vstack([rng.poisson(0.5, (50, days)), rng.poisson(fast_mean, (50, days))]).astype(float)
    share = _profile(Y, 0)  # column p = weekday of days p, p+7, ... after the origin
    sat = (5 - days) % 7  # column of Saturdays after the origin
    true_fast = np.where(np.arange(7) == sat, 2.0, 1.0) / 8.0
    assert np.allclose(share.sum(axis=1), 1.0)
    assert np.abs(share[50:] - true_fast).max() < 0.02
    own_slow = Y[:50].reshape(50, -1, 7).sum(axis=1)
    own_slow = own_slow / own_slow.sum(axis=1, keepdims=True)
    pooled = Y.reshape(100, -1, 7).sum(axis=1).sum(axis=0)
    pooled = pooled / pooled.sum()
    assert np.abs(share[:50] - pooled).mean() < 0.5 * np.abs(own_slow - pooled).mean()


def test_forecast_series_sends_seasonal_series_to_the_yearly_group():
    """700 days: 30 seasonal and 30 flat series; the seasonal ones are selected in the
    yearly group, nearly all flat ones are not, and a seasonal series' forecast over the
    next 28 days is closer to its truth than its last-28-days average is."""
    rng = np.random.default_rng(8)
    days, h = 700, 28
    t = np.arange(days + h)
    phase = rng.uniform(0, 2 * np.pi, 30)
    seas = 3.0 * (1 + 0.6 * np.cos(2 * np.pi * t[None, :] / 365.25 + phase[:, None]))
    mean = np.vstack([seas, np.full((30, days + h), 3.0)])
    y = rng.poisson(mean[:, :days]).astype(float)
    ids = [f"s{i:02d}" for i in range(60)]
    frame = pd.DataFrame({"unique_id": np.repeat(ids, days),
                          "ds": np.tile(pd.date_range("2024-01-01", periods=days), 60),
                          "y": y.ravel()})
    res = forecast_series(frame, pd.Series("smooth", index=ids), h=h)
    kinds = pd.Series(res.kinds)
    assert (kinds[ids[:30]] == "yearly").mean() >= 0.9
    assert (kinds[ids[30:]] == "yearly").mean() <= 0.15
    fc = res.forecasts.pivot(index="unique_id", columns="step", values="mean").loc[ids[:30]]
    truth = mean[:30, days:].sum(axis=1)
    err_fc = np.abs(fc.to_numpy().sum(axis=1) - truth).mean()
    err_last = np.abs(y[:30, -h:].sum(axis=1) - truth).mean()
    assert err_fc < err_last, (err_fc, err_last)
